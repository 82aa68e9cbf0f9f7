// Package dis disassembles pickles in the spirit of Python's
// pickletools.dis, over the opcode stream layer shared with the pickler and
// the unpickler. It streams: one instruction at a time from bytes, segments
// or an io.Reader, with memory bounded by the longest line and a payload
// preview, whatever the payloads' lengths.
package dis

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/internal/stream"
)

// Instruction is one opcode of a pickle as Walk reports it.
type Instruction struct {
	Offset int64  // of the opcode byte
	Op     byte   // the opcode byte
	Name   string // pickletools' name, e.g. "SHORT_BINUNICODE"
	Proto  int    // the protocol that introduced the opcode
	Arg    string // the argument, rendered ("" when none)
	Depth  int    // MARK nesting before this opcode (a closing opcode is shown one level out)
}

// Error is a malformed-input error (the unpickler's own type).
type Error = stream.Error

// Options bound a walk. The zero value gives the defaults.
type Options struct {
	MaxLine int // longest text argument accepted (default 16 MiB)
	Preview int // payload bytes kept for display (default 2048, enough for an int CPython would show)
}

// Walk calls fn for each instruction, up to and including STOP, and returns
// the highest protocol among the opcodes. Malformed input is an *Error; an
// error from fn stops the walk and is returned as it is.
func Walk(r *stream.Reader, o Options, fn func(Instruction) error) (proto int, err error) {
	if o.MaxLine <= 0 {
		o.MaxLine = 16 << 20
	}
	if o.Preview <= 0 {
		o.Preview = 2048
	}
	depth, memoN := 0, 0
	for {
		in, err := r.Next(o.MaxLine, o.Preview)
		if err != nil {
			return proto, err
		}
		c := in.Info.Byte
		proto = max(proto, in.Info.Proto)
		switch c {
		case op.Stop, op.Tuple, op.List, op.Dict, op.Appends, op.Setitems, op.Additems,
			op.Frozenset, op.PopMark, op.Inst, op.Obj:
			if depth > 0 {
				depth--
			}
		}
		arg := argText(in)
		switch c {
		case op.Memoize:
			arg = "(as " + strconv.Itoa(memoN) + ")"
			memoN++
		case op.Put, op.Binput, op.LongBinput:
			memoN++
		}
		if fn != nil {
			if err := fn(Instruction{Offset: in.Offset, Op: c, Name: in.Info.Name, Proto: in.Info.Proto, Arg: arg, Depth: depth}); err != nil {
				return proto, err
			}
		}
		if c == op.Mark {
			depth++
		}
		if c == op.Stop {
			return proto, nil
		}
	}
}

func argText(in stream.Instruction) string {
	k := in.Info.Arg
	switch {
	case k == op.ArgNone:
		return ""
	case k == op.ArgFloat8:
		return strconv.FormatFloat(in.F, 'g', -1, 64)
	case k == op.ArgInt4:
		return strconv.FormatInt(int64(in.N), 10)
	case k == op.ArgNamePair:
		return string(in.Arg) + " " + string(in.Name)
	case stream.IsLine(k):
		return quoteShort(in.Arg, uint64(len(in.Arg)))
	case k == op.ArgLong1 || k == op.ArgLong4:
		if 8*in.N > maxLongBits || in.Cut {
			return fmt.Sprintf("<int of %d bytes: over %d digits, not shown in decimal>", in.N, maxStrDigits)
		}
		t := longText(in.Arg)
		if len(strings.TrimPrefix(t, "-")) > maxStrDigits {
			return fmt.Sprintf("<int of %d bytes: over %d digits, not shown in decimal>", in.N, maxStrDigits)
		}
		return t
	case stream.IsSized(k):
		return quoteShort(in.Arg, in.N)
	}
	return strconv.FormatUint(in.N, 10)
}

// quoteShort quotes b, or its first 64 bytes and the length n.
func quoteShort(b []byte, n uint64) string {
	if n > 64 {
		return strconv.Quote(string(b[:min(64, len(b))])) + fmt.Sprintf("… (%d bytes)", n)
	}
	return strconv.Quote(string(b))
}

// maxStrDigits is CPython's default int_max_str_digits; maxLongBits is a
// width over which an int has more digits than that for certain: such a
// LONG1/LONG4 is shown by its size (the conversion would be quadratic, and
// CPython would refuse it).
const (
	maxStrDigits = 4300
	maxLongBits  = 14300
)

// longText renders little-endian two's complement.
func longText(b []byte) string { return stream.DecodeLong(b).String() }

// MaxIndent caps the indentation of the listing: deeper lines say their
// MARK depth instead, so a 3-million-deep pickle prints lines of bounded
// length.
const MaxIndent = 16

var indents = strings.Repeat("    ", MaxIndent)

// Fprint writes one instruction as a listing line: offset, opcode byte,
// indentation by MARK nesting (capped at MaxIndent), name, argument.
func Fprint(w io.Writer, in Instruction) error {
	var buf [256]byte
	_, err := w.Write(AppendLine(buf[:0], in))
	return err
}

// AppendLine appends the listing line of one instruction to b, as fmt's
// "%8d: %-4s %s%-16s %s\n" would, without its per-line cost.
func AppendLine(b []byte, in Instruction) []byte {
	var num [20]byte
	n := strconv.AppendInt(num[:0], in.Offset, 10)
	for i := len(n); i < 8; i++ {
		b = append(b, ' ')
	}
	b = append(b, n...)
	b = append(b, ": "...)
	q := opText[in.Op]
	b = append(b, q...)
	for i := len(q); i < 4; i++ {
		b = append(b, ' ')
	}
	b = append(b, ' ')
	if in.Depth <= MaxIndent {
		b = append(b, indents[:4*in.Depth]...)
	} else {
		b = append(b, indents...)
		b = append(b, "[depth "...)
		b = strconv.AppendInt(b, int64(in.Depth), 10)
		b = append(b, "] "...)
	}
	b = append(b, in.Name...)
	for i := len(in.Name); i < 16; i++ {
		b = append(b, ' ')
	}
	b = append(b, ' ')
	b = append(b, in.Arg...)
	return append(b, '\n')
}

// opText is each opcode byte as the listing shows it ("(", "\\x80").
var opText = func() (t [256]string) {
	for i := range t {
		q := strconv.QuoteToASCII(string([]byte{byte(i)}))
		t[i] = q[1 : len(q)-1]
	}
	return t
}()

// listing streams the lines through a bufio.Writer (w itself when it is
// one): memory does not grow with the output, and a failed write stops
// the walk with its error.
func listing(w io.Writer, r *stream.Reader, maxLine int) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	var line []byte
	proto, err := Walk(r, Options{MaxLine: maxLine}, func(in Instruction) error {
		line = AppendLine(line[:0], in)
		_, err := bw.Write(line)
		return err
	})
	if err == nil {
		_, err = fmt.Fprintf(bw, "highest protocol among opcodes = %d\n", proto)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// Disassemble writes a listing of the pickle in data: one line per opcode
// (offset, opcode byte, name, argument, MARK nesting indented), then the
// highest protocol among the opcodes. Malformed input is an *Error, after
// the lines read so far.
func Disassemble(w io.Writer, data []byte) error {
	r := stream.Bytes(data)
	return listing(w, &r, len(data)+1)
}

// DisassembleReader is Disassemble over a stream, in bounded memory.
func DisassembleReader(w io.Writer, rd io.Reader) error {
	r := stream.FromReader(rd)
	return listing(w, &r, 0)
}

// InputProtocol returns the protocol a pickle is written in: the one its
// PROTO opcode names, or else the highest protocol among its opcodes
// (protocol 0 and 1 pickles have no PROTO), as pickletools reports it.
func InputProtocol(data []byte) int {
	if len(data) >= 2 && data[0] == op.Proto && data[1] <= op.HighestProtocol {
		return int(data[1])
	}
	r := stream.Bytes(data)
	p, _ := Walk(&r, Options{MaxLine: len(data) + 1}, nil)
	return p
}
