// Package status is the one table of the C ABI's status codes: the codes
// every cbridge export returns, what each means, the Python exception pyext
// raises for it, and which Go errors map to which code.
//
// cbridge returns Of(err); pyext/segpickle/_status.py is generated from
// this table (go generate ./internal/status), and TestPythonTableUpToDate
// fails when the two differ.
package status

//go:generate go run gen.go

import (
	"errors"
	"syscall"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

// The status codes: 0 is success, negative values are failures.
const (
	OK         = 0
	Unpickling = -1
	EOF        = -2
	Value      = -3
	Type       = -4
	Pickling   = -10
	Argument   = -20
	IO         = -30
	Internal   = -40
	Handle     = -50
)

// A Status describes one code.
type Status struct {
	Code      int
	Name      string // short name, e.g. "eof"
	Exception string // the Python exception pyext raises: a segpickle class or a builtin
	Doc       string
}

// Table lists every code, in order.
var Table = []Status{
	{OK, "ok", "", "success"},
	{Unpickling, "unpickling", "GoUnpicklingError", "the Go unpickler refused the input (truncated inside an opcode included, as CPython's UnpicklingError)"},
	{EOF, "eof", "UnpicklingEOFError", "the input ended where an opcode should start (CPython: EOFError, \"Ran out of input\")"},
	{Value, "value", "UnpicklingValueError", "an opcode argument is malformed (CPython: ValueError)"},
	{Type, "type", "UnpicklingTypeError", "an operand of the wrong type or an unhashable key (CPython: TypeError)"},
	{Pickling, "pickling", "GoPicklingError", "the Go pickler cannot write the value"},
	{Argument, "argument", "ValueError", "a bad argument to the call"},
	{IO, "io", "OSError", "an I/O error from the descriptor"},
	{Internal, "internal", "RuntimeError", "an internal error (a recovered panic)"},
	{Handle, "handle", "ValueError", "an invalid or freed handle"},
}

// ErrArgument and ErrHandle are the bridge's own causes of Argument and
// Handle.
var (
	ErrArgument = errors.New("bad argument")
	ErrHandle   = errors.New("invalid or freed handle")
)

// A Cause maps Go errors matching Err (errors.Is) to Code. Its text also
// classifies a message that arrives as text only (the CLI's stderr).
type Cause struct {
	Err  error
	Code int
}

// UnpicklingCauses are checked in order for an *unpickler.Error; one that
// matches none is Unpickling. ErrNoStop comes first: it is also an
// ErrTruncated.
var UnpicklingCauses = []Cause{
	{unpickler.ErrNoStop, EOF},
	{unpickler.ErrBadArgument, Value},
	{unpickler.ErrBadType, Type},
	{unpickler.ErrUnhashable, Type},
}

// Of returns the status code for err (OK for nil).
func Of(err error) int {
	var ue *unpickler.Error
	var pe1 *pickler.UnsupportedTypeError
	var pe2 *pickler.UnsupportedValueError
	var pe3 *pickler.InvalidOptionError
	var ue2 *unpickler.InvalidOptionError
	switch {
	case err == nil:
		return OK
	case errors.As(err, &ue):
		for _, c := range UnpicklingCauses {
			if errors.Is(err, c.Err) {
				return c.Code
			}
		}
		return Unpickling
	case errors.As(err, &pe1), errors.As(err, &pe2):
		return Pickling
	case errors.As(err, &pe3), errors.As(err, &ue2), errors.Is(err, ErrArgument):
		return Argument
	case errors.Is(err, ErrHandle):
		return Handle
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return IO
	}
	return Internal
}
