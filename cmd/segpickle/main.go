// Command segpickle encodes, re-encodes, disassembles and serves pickles.
//
//	segpickle encode [--protocol N] [--tagged] [-o OUT] [FILE]   JSON → pickle
//	segpickle reencode [--protocol N] [-o OUT] [FILE]           pickle → decode → encode
//	segpickle dis [-o OUT] [FILE]                               pickle → disassembly
//	segpickle json [--max-output N] [-o OUT] [FILE]             pickle → tagged JSON
//	segpickle echo-server --listen ADDR [--mode raw|decode] …
//
// FILE is read instead of stdin ("-" is stdin). Every command answers -h and
// --help with its usage and flags. Exit status: 0 success, 1 bad data (one
// line on stderr), 2 bad usage. Binary output is not written to a terminal:
// redirect it or name a file with -o.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// version is the CLI's version (the Python package's as well); a release
// build may set it with -ldflags "-X main.version=…".
var version = "0.1.0"

// Exit statuses.
const (
	exitOK    = 0
	exitData  = 1 // bad data, or an I/O failure
	exitUsage = 2 // bad usage: unknown command, bad flag, extra argument
)

type command struct {
	name     string
	synopsis string // flags and arguments, for the usage line
	summary  string
	run      func(c *call) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: segpickle <command> [flags] [FILE]")
	fmt.Fprintln(w, "       segpickle --version")
	fmt.Fprintln(w, "\ncommands:")
	for _, name := range []string{"encode", "reencode", "dis", "json", "echo-server"} {
		for _, c := range commands {
			if c.name == name {
				fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
			}
		}
	}
	fmt.Fprintln(w, "\nRun 'segpickle <command> --help' for its flags. FILE is read instead of stdin (- is stdin).")
	fmt.Fprintln(w, "Exit status: 0 success, 1 bad data, 2 bad usage.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// isTerminal reports whether w is a terminal; a variable so that tests can
// pretend.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && fileIsTerminal(f)
}

// call is one run of a command: its arguments and streams.
type call struct {
	cmd            *command
	args           []string
	stdin          io.Reader
	stdout, stderr io.Writer
	fs             *flag.FlagSet
	outPath        *string
	tty            bool   // stdout is a terminal
	created        string // the -o file if this command created it: removed if it fails
	closers        []func() error
}

// flags returns the command's FlagSet; -o is added by withOutput.
func (c *call) flags() *flag.FlagSet {
	fs := flag.NewFlagSet(c.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c.fs = fs
	return fs
}

// withOutput adds -o FILE to the flags.
func (c *call) withOutput() {
	c.outPath = c.fs.String("o", "", "write the output to `FILE` instead of stdout")
}

// parse parses the flags and allows at most maxArgs positional arguments.
// It may be called again (a no-op then).
func (c *call) parse(maxArgs int) error {
	if c.fs.Parsed() {
		return nil
	}
	if err := c.fs.Parse(c.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if c.fs.NArg() > maxArgs {
		return usagef("unexpected argument %q", c.fs.Arg(maxArgs))
	}
	return nil
}

// input opens the file argument, or stdin when there is none or it is "-".
func (c *call) input() (io.Reader, error) {
	name := c.fs.Arg(0)
	if name == "" || name == "-" {
		return c.stdin, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	c.closers = append(c.closers, f.Close)
	if c.cmd.name == "encode" {
		return bufio.NewReaderSize(f, 64<<10), nil // read by encoding/json, in pieces
	}
	return f, nil // read whole (see readAll)
}

// output returns where the command writes: the -o file, or stdout. Binary
// output is refused on a terminal, as compressors do.
func (c *call) output(binary bool) (io.Writer, error) {
	if c.outPath != nil && *c.outPath != "" && *c.outPath != "-" {
		// -o naming the input file would truncate it before it is read.
		if in := c.fs.Arg(0); in != "" && in != "-" {
			if si, err := os.Stat(in); err == nil {
				if so, err := os.Stat(*c.outPath); err == nil && os.SameFile(si, so) {
					return nil, usagef("-o %s is the input file: it would be emptied before it is read; write to another file", *c.outPath)
				}
			}
		}
		// Only a file this command creates is removed on failure: never one
		// that was there (a device such as /dev/null, or the user's file).
		f, err := os.OpenFile(*c.outPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			c.created = *c.outPath
		} else if errors.Is(err, fs.ErrExist) {
			f, err = os.OpenFile(*c.outPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
		}
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriterSize(f, 64<<10)
		c.closers = append(c.closers, func() error {
			err := w.Flush()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		})
		return w, nil
	}
	if binary && c.tty {
		return nil, usagef("refusing to write a binary pickle to a terminal; redirect stdout or use -o FILE")
	}
	return c.stdout, nil
}

// printHelp writes the command's usage and flags to w.
func (c *call) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: segpickle %s %s\n\n%s\n", c.cmd.name, c.cmd.synopsis, c.cmd.summary)
	n := 0
	c.fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		c.fs.SetOutput(w)
		c.fs.PrintDefaults()
		c.fs.SetOutput(io.Discard)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run([]string{args[1], "--help"}, stdin, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	case "--version", "-version", "version":
		fmt.Fprintf(stdout, "segpickle %s\n", version)
		return exitOK
	}
	for i := range commands {
		cmd := &commands[i]
		if cmd.name != args[0] {
			continue
		}
		out := bufio.NewWriterSize(stdout, 64<<10)
		c := &call{cmd: cmd, args: args[1:], stdin: stdin, stdout: out, stderr: stderr, tty: isTerminal(stdout)}
		err := cmd.run(c)
		if ferr := out.Flush(); err == nil {
			err = ferr
		}
		for i := len(c.closers) - 1; i >= 0; i-- {
			if cerr := c.closers[i](); err == nil {
				err = cerr
			}
		}
		if err != nil && c.created != "" {
			os.Remove(c.created) // no partial output left behind, as compressors do
		}
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			c.printHelp(stdout)
			return exitOK
		}
		fmt.Fprintln(stderr, "segpickle "+cmd.name+": "+oneLine(err.Error()))
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "Run 'segpickle %s --help' for usage.\n", cmd.name)
			return exitUsage
		}
		return exitData
	}
	fmt.Fprintf(stderr, "segpickle: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// oneLine keeps an error message to one line of bounded length.
func oneLine(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}
