package stream

import (
	"fmt"

	op "github.com/segpickle/segpickle/internal/opcode"
)

// Instruction is one opcode and its argument, as Next reads it.
type Instruction struct {
	Offset int64   // of the opcode byte
	Info   op.Info // byte, name, protocol, argument kind
	N      uint64  // Uint1/2/4/8 value (Int4 sign-extended); a sized argument's length
	F      float64 // Float8 value
	Arg    []byte  // a sized argument's payload, a line's text, a name pair's module
	Name   []byte  // a name pair's name
	// Cut is true when Arg holds only the first bytes of a sized payload
	// of N bytes (the rest was skipped, see Next).
	Cut bool
}

// Next reads one opcode and its argument by the argument kind of the
// opcode table. Lines longer than maxLine fail with ErrLimit. With
// preview > 0, a sized payload longer than preview keeps only its first
// preview bytes and the rest is skipped as it streams by (memory bounded by
// preview, whatever the payload's length); with preview <= 0 it is read
// whole. Arg and Name may alias the input or the reader's buffer: they are
// valid until the next call.
func (s *Reader) Next(maxLine int, preview int) (in Instruction, err error) {
	in.Offset = s.Offset()
	c, ok := s.Byte()
	if !ok {
		return in, &Error{Offset: in.Offset, Err: ErrNoStop}
	}
	info, ok := op.Lookup(c)
	in.Info = info
	if !ok {
		in.Info.Byte = c
		return in, &Error{Offset: in.Offset, Op: c, Err: ErrUnknownOpcode, Detail: fmt.Sprintf("byte 0x%02x", c)}
	}
	fail := func(cause error, d string) error { return &Error{Offset: in.Offset, Op: c, Err: cause, Detail: d} }
	k := info.Arg
	switch {
	case k == op.ArgNone:
	case k == op.ArgFloat8:
		if in.F, ok = s.Float8(); !ok {
			return in, fail(ErrTruncated, "need 8 bytes")
		}
	case IsSized(k):
		n, ok, bad := s.Length(k)
		if !ok {
			return in, fail(ErrTruncated, "length prefix")
		}
		if bad {
			return in, fail(ErrBadArgument, fmt.Sprintf("negative length %d", int64(n)))
		}
		in.N = n
		if a := s.Available(); a >= 0 && uint64(a) < n {
			return in, fail(ErrTruncated, fmt.Sprintf("length %d, only %d bytes left", n, a))
		}
		want := n
		if preview > 0 && n > uint64(preview) {
			want, in.Cut = uint64(preview), true
		}
		b, _, ok := s.Read(int64(want))
		if ok && in.Cut {
			b = append([]byte(nil), b...) // the skip below may reuse the buffer
			ok = s.Skip(int64(n - want))
		}
		if !ok {
			return in, fail(ErrTruncated, fmt.Sprintf("length %d", n))
		}
		in.Arg = b
	case IsLine(k), k == op.ArgNamePair:
		l, ok, long := s.ReadLine(maxLine)
		if long {
			return in, fail(ErrLimit, fmt.Sprintf("line over %d bytes", maxLine))
		}
		if !ok {
			return in, fail(ErrTruncated, "no newline")
		}
		in.Arg = l
		if k == op.ArgNamePair {
			in.Arg = append([]byte(nil), l...)
			l, ok, long = s.ReadLine(maxLine)
			if long {
				return in, fail(ErrLimit, fmt.Sprintf("line over %d bytes", maxLine))
			}
			if !ok {
				return in, fail(ErrTruncated, "no newline")
			}
			in.Name = l
		}
	default:
		if in.N, ok = s.Uint(k); !ok {
			return in, fail(ErrTruncated, "argument")
		}
	}
	return in, nil
}
