package unpickler

import (
	"fmt"
	"github.com/segpickle/segpickle/internal/stream"
)

// Causes of decoding errors; match them with errors.Is. They are the
// opcode stream layer's, shared with package dis.
var (
	ErrTruncated      = stream.ErrTruncated
	ErrUnknownOpcode  = stream.ErrUnknownOpcode
	ErrStackUnderflow = stream.ErrStackUnderflow
	ErrNoMark         = stream.ErrNoMark
	ErrMissingMemo    = stream.ErrMissingMemo
	ErrLimit          = stream.ErrLimit
	ErrBadArgument    = stream.ErrBadArgument
	ErrBadType        = stream.ErrBadType
	ErrUnhashable     = stream.ErrUnhashable
	ErrNoBuffer       = stream.ErrNoBuffer
	ErrExtension      = stream.ErrExtension
	ErrPersistent     = stream.ErrPersistent
	ErrNoStop         = stream.ErrNoStop
	ErrInternal       = stream.ErrInternal
)

// Error is what every decoding failure returns: where it happened (byte
// offset of the opcode, from the start of the pickle), which opcode, and
// the cause (one of the Err variables) with a detail.
type Error = stream.Error

// UnmarshalTypeError reports a Python value that cannot be stored in the
// Go value given to Unmarshal.
type UnmarshalTypeError struct {
	Value string // Python type, e.g. "str"; with the value when a number does not fit, e.g. "int 300"
	Type  string // Go type
	Path  string // e.g. ".Items[3].Name"
}

func (e *UnmarshalTypeError) Error() string {
	p := e.Path
	if p == "" {
		p = "top level"
	}
	return "unpickler: cannot unmarshal Python " + e.Value + " into Go " + e.Type + " at " + p
}

// InvalidOptionError is returned by Unmarshal, UnmarshalSegments and
// Decoder.Decode for an option given a value it cannot take, e.g.
// Encoding("bogus") or MaxMemo(-1), before anything is read.
type InvalidOptionError struct {
	Option string // "Encoding", "MaxMemo", "MaxAlloc"
	Value  any    // the value given
	Want   string // what the option takes
}

func (e *InvalidOptionError) Error() string {
	return fmt.Sprintf("unpickler: invalid %s %#v (%s)", e.Option, e.Value, e.Want)
}
