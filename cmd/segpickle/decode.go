package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

func init() {
	register(command{"reencode", "pickle on stdin → Go decode → Go encode → stdout (--protocol N)", runReencode})
	register(command{"dis", "pickle on stdin → disassembly with offsets", runDis})
	register(command{"json", "pickle on stdin → tagged JSON (see internal/pyjson)", runJSON})
}

// maxInput bounds what the CLI reads from stdin.
const maxInput = 1 << 32

func readAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("input over %d bytes", maxInput)
	}
	return b, nil
}

// loadStdin parses the flags, reads the pickle on stdin and decodes it.
func loadStdin(fs *flag.FlagSet, args []string, stdin io.Reader) ([]byte, any, error) {
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	data, err := readAll(stdin)
	if err != nil {
		return nil, nil, err
	}
	v, err := unpickler.Load(data)
	return data, v, err
}

func runReencode(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flags("reencode")
	proto := fs.Int("protocol", -1, "output protocol 0..5 (default: the input's)")
	data, v, err := loadStdin(fs, args, stdin)
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
	_, err = l.WriteTo(stdout)
	return err
}

func runJSON(args []string, stdin io.Reader, stdout io.Writer) error {
	_, v, err := loadStdin(flags("json"), args, stdin)
	if err != nil {
		return err
	}
	return pyjson.Encode(stdout, v)
}

func runDis(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flags("dis")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := readAll(stdin)
	if err != nil {
		return err
	}
	var sb strings.Builder
	err = unpickler.Disassemble(&sb, data)
	io.WriteString(stdout, sb.String())
	return err
}
