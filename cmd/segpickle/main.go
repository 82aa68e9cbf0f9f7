// Command segpickle encodes, re-encodes, disassembles and serves pickles.
//
//	segpickle encode [--protocol N] [--tagged]   JSON on stdin → pickle on stdout
//	segpickle reencode [--protocol N]            pickle on stdin → decode → encode → stdout
//	segpickle dis                                pickle on stdin → disassembly
//	segpickle json                               pickle on stdin → tagged JSON
//	segpickle echo-server --listen ADDR [--mode raw|decode]
//
// Bad input exits with status 1 and one line on stderr.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type command struct {
	name, usage string
	run         func(args []string, stdin io.Reader, stdout io.Writer) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: segpickle <command> [flags]")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.usage)
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			out := bufio.NewWriterSize(stdout, 64<<10)
			err := c.run(args[1:], stdin, out)
			if ferr := out.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				fmt.Fprintln(stderr, "segpickle "+c.name+": "+oneLine(err.Error()))
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "segpickle: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }

// flags returns a FlagSet that reports errors instead of exiting.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
