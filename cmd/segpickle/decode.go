package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/segpickle/segpickle/dis"
	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

func init() {
	register(command{"reencode", "[--protocol N] [-o OUT] [FILE]",
		"pickle (FILE or stdin) → Go decode → Go encode → stdout", runReencode})
	register(command{"dis", "[-o OUT] [FILE]",
		"pickle (FILE or stdin) → disassembly with offsets and MARK nesting", runDis})
	register(command{"json", "[--max-output SIZE] [-o OUT] [FILE]",
		"pickle (FILE or stdin) → tagged JSON (see internal/pyjson)", runJSON})
}

// maxInput bounds what the CLI reads.
const maxInput int64 = 1 << 32

func readAll(r io.Reader) ([]byte, error) {
	if f, ok := r.(*os.File); ok {
		// A regular file's size is known: one allocation, no doubling.
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= maxInput {
			b := bytes.NewBuffer(make([]byte, 0, fi.Size()+512))
			if _, err := b.ReadFrom(io.LimitReader(f, maxInput+1)); err != nil {
				return nil, err
			}
			if int64(b.Len()) > maxInput {
				return nil, fmt.Errorf("input over %d bytes", maxInput)
			}
			return b.Bytes(), nil
		}
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxInput {
		return nil, fmt.Errorf("input over %d bytes", maxInput)
	}
	return b, nil
}

// load parses the flags (at most one argument, the input file), opens the
// output, reads the pickle and decodes it.
func load(c *call, binary bool) (data []byte, v any, out io.Writer, err error) {
	if err = c.parse(1); err != nil {
		return
	}
	if out, err = c.output(binary); err != nil {
		return
	}
	in, err := c.input()
	if err != nil {
		return
	}
	if data, err = readAll(in); err != nil {
		return
	}
	v, err = unpickler.Load(data)
	return
}

func runReencode(c *call) error {
	fs := c.flags()
	proto := fs.Int("protocol", -1, "output protocol 0..5 (default: the input's)")
	c.withOutput()
	if err := c.parse(1); err != nil {
		return err
	}
	if *proto > 5 {
		return usagef("--protocol %d: want 0..5", *proto)
	}
	data, v, out, err := load(c, true)
	if err != nil {
		return err
	}
	p := *proto
	if p < 0 {
		p = unpickler.InputProtocol(data)
	}
	var l segments.List
	defer l.Release()
	if err := pickler.EncodeTo(&l, v, pickler.Protocol(p)); err != nil {
		return err
	}
	_, err = l.WriteTo(out)
	return err
}

// defaultMaxOutput is json's output bound unless --max-output says
// otherwise: shared values in a pickle expand when written as a tree.
const defaultMaxOutput = 256 << 20

func runJSON(c *call) error {
	fs := c.flags()
	maxOut := sizeFlag(defaultMaxOutput)
	fs.Var(&maxOut, "max-output", "stop with an error after `SIZE` bytes of JSON, e.g. 1GiB (shared values expand when written out; 0: no limit)")
	c.withOutput()
	if err := c.parse(1); err != nil {
		return err
	}
	_, v, out, err := load(c, false)
	if err != nil {
		return err
	}
	err = pyjson.EncodeLimited(out, v, int64(maxOut))
	var le *pyjson.OutputLimitError
	if errors.As(err, &le) {
		return fmt.Errorf("output stopped at the --max-output limit of %d bytes (shared values expand when written as JSON; raise --max-output, or 0 for no limit)", le.Limit)
	}
	return err
}

func runDis(c *call) error {
	c.flags()
	c.withOutput()
	if err := c.parse(1); err != nil {
		return err
	}
	in, err := c.input()
	if err != nil {
		return err
	}
	out, err := c.output(false)
	if err != nil {
		return err
	}
	// The input streams too: memory grows with neither the listing nor the
	// pickle (long arguments are skipped as they pass).
	return dis.DisassembleReader(out, in)
}
