package stream

import (
	"errors"
	"fmt"

	op "github.com/segpickle/segpickle/internal/opcode"
)

// Causes of decoding errors, shared by the stream layer, the unpickler and
// the disassembler (package unpickler re-exports them); match them with
// errors.Is.
var (
	ErrTruncated      = errors.New("truncated input")
	ErrUnknownOpcode  = errors.New("unknown opcode")
	ErrStackUnderflow = errors.New("stack underflow")
	ErrNoMark         = errors.New("no MARK on the stack")
	ErrMissingMemo    = errors.New("memo key not found")
	ErrLimit          = errors.New("limit exceeded")
	ErrBadArgument    = errors.New("bad opcode argument")
	ErrBadType        = errors.New("operand of the wrong type")
	ErrUnhashable     = errors.New("unhashable key")
	ErrNoBuffer       = errors.New("out-of-band buffer not supplied")
	ErrExtension      = errors.New("extension code not registered")
	ErrPersistent     = errors.New("persistent id rejected")
	ErrNoStop         = errors.New("input ended without STOP")
	ErrInternal       = errors.New("internal decoder error")
)

// Error is what every decoding failure returns: where it happened (byte
// offset of the opcode, from the start of the pickle) and which opcode.
type Error struct {
	Offset int64
	Op     byte // 0 when the failure is not inside an opcode
	Err    error
	Detail string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("unpickler: offset %d", e.Offset)
	if e.Op != 0 || e.Detail != "" {
		s += fmt.Sprintf(", opcode %s", op.Name(e.Op))
	}
	s += ": " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the cause, one of the Err variables.
func (e *Error) Unwrap() error { return e.Err }

// Is makes input that ends before STOP (ErrNoStop) an ErrTruncated too,
// however it was read: Unmarshal sees a frame cut short where a Decoder,
// reading a stream, sees only its end.
func (e *Error) Is(target error) bool { return target == ErrTruncated && e.Err == ErrNoStop }
