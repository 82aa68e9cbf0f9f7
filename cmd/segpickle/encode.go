package main

import (
	"fmt"

	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/segments"
)

func init() {
	register(command{"encode", "[--protocol N] [--tagged] [-o OUT] [FILE]",
		"JSON (FILE or stdin) → pickle on stdout", runEncode})
}

func runEncode(c *call) error {
	fs := c.flags()
	proto := fs.Int("protocol", 5, "pickle protocol 0..5")
	tagged := fs.Bool("tagged", false, `read {"$tuple": …}-style tags (see internal/pyjson)`)
	c.withOutput()
	if err := c.parse(1); err != nil {
		return err
	}
	if *proto < 0 || *proto > 5 {
		return usagef("--protocol %d: want 0..5", *proto)
	}
	in, err := c.input()
	if err != nil {
		return err
	}
	out, err := c.output(true)
	if err != nil {
		return err
	}
	v, err := pyjson.Decode(in, *tagged)
	if err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	var l segments.List
	defer l.Release()
	if err := pickler.EncodeTo(&l, v, pickler.Protocol(*proto)); err != nil {
		return err
	}
	_, err = l.WriteTo(out)
	return err
}
