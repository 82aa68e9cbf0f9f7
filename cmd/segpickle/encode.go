package main

import (
	"fmt"
	"io"

	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/segments"
)

func init() {
	register(command{"encode", "JSON on stdin → pickle on stdout (--protocol N, --tagged)", runEncode})
}

func runEncode(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flags("encode")
	proto := fs.Int("protocol", 5, "pickle protocol 0..5")
	tagged := fs.Bool("tagged", false, `read {"$tuple": …}-style tags (see internal/pyjson)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	v, err := pyjson.Decode(stdin, *tagged)
	if err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	var l segments.List
	defer l.Release()
	if err := pickler.EncodeTo(&l, v, pickler.Protocol(*proto)); err != nil {
		return err
	}
	_, err = l.WriteTo(stdout)
	return err
}
