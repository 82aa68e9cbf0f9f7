package unpickler

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	op "github.com/segpickle/segpickle/internal/opcode"
)

// Disassemble writes a listing of the pickle's opcodes in the spirit of
// pickletools.dis: offset, opcode byte, name, argument, with MARK nesting
// indented. It stops after STOP and reports malformed input as an *Error.
//
// The listing streams: each line is written as it is made (through a
// bufio.Writer unless w is one), so memory does not grow with the output;
// the indent stops growing at maxIndent levels (deeper lines say their
// depth), and a long argument is shortened, so each line is bounded too.
// A write error stops the listing and is returned.
func Disassemble(w io.Writer, data []byte) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	_, err := walk(bw, data)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// maxIndent caps the MARK nesting shown by indentation; deeper lines show
// "[depth N]" instead of indenting further.
const maxIndent = 16

var indents = strings.Repeat("    ", maxIndent)

func indent(depth int) string {
	if depth <= maxIndent {
		return indents[:4*depth]
	}
	return indents + "[depth " + strconv.Itoa(depth) + "] "
}

// maxLongBits: a LONG1/LONG4 wider than this (more than CPython's 4300
// decimal digits for certain) is shown by its size, not in decimal, as
// CPython's int_max_str_digits would refuse (and as the conversion would
// be quadratic).
const maxLongBits = 14300

// InputProtocol returns the protocol a pickle is written in: the one its
// PROTO opcode names, or else the highest protocol among its opcodes
// (protocol 0 and 1 pickles have no PROTO), as pickletools reports it.
func InputProtocol(data []byte) int {
	if len(data) >= 2 && data[0] == op.Proto && data[1] <= op.HighestProtocol {
		return int(data[1])
	}
	p, _ := walk(nil, data)
	return p
}

func walk(w *bufio.Writer, data []byte) (int, error) {
	var lineBuf []byte
	pos, depth, memoN, maxProto := 0, 0, 0, 0
	for pos < len(data) {
		start := pos
		c := data[pos]
		pos++
		info, ok := op.Lookup(c)
		if !ok {
			return maxProto, &Error{Offset: int64(start), Op: c, Err: ErrUnknownOpcode}
		}
		fail := func(err error, d string) error {
			return &Error{Offset: int64(start), Op: c, Err: err, Detail: d}
		}
		need := func(n uint64) ([]byte, error) {
			if uint64(len(data)-pos) < n {
				return nil, fail(ErrTruncated, fmt.Sprintf("need %d bytes", n))
			}
			b := data[pos : pos+int(n)]
			pos += int(n)
			return b, nil
		}
		line := func() ([]byte, error) {
			for i := pos; i < len(data); i++ {
				if data[i] == '\n' {
					l := data[pos:i]
					pos = i + 1
					return l, nil
				}
			}
			return nil, fail(ErrTruncated, "no newline")
		}
		maxProto = max(maxProto, info.Proto)
		var arg string
		var err error
		var b []byte
		switch info.Arg {
		case op.ArgUint1:
			b, err = need(1)
			if err == nil {
				arg = strconv.Itoa(int(b[0]))
			}
		case op.ArgUint2:
			b, err = need(2)
			if err == nil {
				arg = strconv.Itoa(int(binary.LittleEndian.Uint16(b)))
			}
		case op.ArgUint4:
			b, err = need(4)
			if err == nil {
				arg = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 10)
			}
		case op.ArgInt4:
			b, err = need(4)
			if err == nil {
				arg = strconv.Itoa(int(int32(binary.LittleEndian.Uint32(b))))
			}
		case op.ArgUint8:
			b, err = need(8)
			if err == nil {
				arg = strconv.FormatUint(binary.LittleEndian.Uint64(b), 10)
			}
		case op.ArgFloat8:
			b, err = need(8)
			if err == nil {
				arg = strconv.FormatFloat(math.Float64frombits(binary.BigEndian.Uint64(b)), 'g', -1, 64)
			}
		case op.ArgLong1, op.ArgBytes1, op.ArgString1:
			b, err = need(1)
			if err == nil {
				b, err = need(uint64(b[0]))
			}
			if err == nil {
				arg = argText(info.Arg, b)
			}
		case op.ArgLong4, op.ArgBytes4, op.ArgString4:
			b, err = need(4)
			if err == nil {
				n := binary.LittleEndian.Uint32(b)
				if info.Arg != op.ArgBytes4 && int32(n) < 0 {
					err = fail(ErrBadArgument, "negative length")
				} else {
					b, err = need(uint64(n))
				}
			}
			if err == nil {
				arg = argText(info.Arg, b)
			}
		case op.ArgBytes8:
			b, err = need(8)
			if err == nil {
				b, err = need(binary.LittleEndian.Uint64(b))
			}
			if err == nil {
				arg = argText(info.Arg, b)
			}
		case op.ArgDecimalNL, op.ArgLongNL, op.ArgFloatNL, op.ArgStringNL, op.ArgUnicodeNL, op.ArgLineNL:
			b, err = line()
			if err == nil {
				arg = quoteShort(b)
			}
		case op.ArgNamePair:
			var m []byte
			m, err = line()
			if err == nil {
				b, err = line()
				arg = string(m) + " " + string(b)
			}
		}
		if err != nil {
			return maxProto, err
		}
		if c == op.Mark {
			arg = ""
		}
		if c == op.Stop || c == op.Tuple || c == op.List || c == op.Dict || c == op.Appends || c == op.Setitems ||
			c == op.Additems || c == op.Frozenset || c == op.PopMark || c == op.Inst || c == op.Obj {
			if depth > 0 {
				depth--
			}
		}
		if c == op.Memoize {
			arg = "(as " + strconv.Itoa(memoN) + ")"
			memoN++
		} else if c == op.Put || c == op.Binput || c == op.LongBinput {
			memoN++
		}
		if w != nil {
			lineBuf = disLine(lineBuf[:0], start, c, indent(depth), info.Name, arg)
			w.Write(lineBuf)
			if _, err := w.Write(nil); err != nil {
				return maxProto, err // a closed pipe: stop now
			}
		}
		if c == op.Mark {
			depth++
		}
		if c == op.Stop {
			if w != nil {
				fmt.Fprintf(w, "highest protocol among opcodes = %d\n", maxProto)
			}
			return maxProto, nil
		}
	}
	return maxProto, &Error{Offset: int64(pos), Err: ErrNoStop}
}

// disLine appends one listing line, as
// fmt's "%8d: %-4s %s%-16s %s\n" would, without its per-line cost.
func disLine(b []byte, off int, c byte, indent, name, arg string) []byte {
	var num [20]byte
	n := strconv.AppendInt(num[:0], int64(off), 10)
	for i := len(n); i < 8; i++ {
		b = append(b, ' ')
	}
	b = append(b, n...)
	b = append(b, ": "...)
	q := opText[c]
	b = append(b, q...)
	for i := len(q); i < 4; i++ {
		b = append(b, ' ')
	}
	b = append(b, ' ')
	b = append(b, indent...)
	b = append(b, name...)
	for i := len(name); i < 16; i++ {
		b = append(b, ' ')
	}
	b = append(b, ' ')
	b = append(b, arg...)
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

func argText(k op.ArgKind, b []byte) string {
	switch k {
	case op.ArgLong1, op.ArgLong4:
		if 8*len(b) > maxLongBits {
			return fmt.Sprintf("<int of %d bytes: over %d digits, not shown in decimal>", len(b), maxStrDigits)
		}
		switch v := decodeLong(b).(type) {
		case int64:
			return strconv.FormatInt(v, 10)
		default:
			t := fmt.Sprint(v)
			if d := len(strings.TrimPrefix(t, "-")); d > maxStrDigits {
				return fmt.Sprintf("<int of %d bytes: over %d digits, not shown in decimal>", len(b), maxStrDigits)
			}
			return t
		}
	}
	return quoteShort(b)
}

// quoteShort quotes b, or its first 64 bytes and its length.
func quoteShort(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + fmt.Sprintf("… (%d bytes)", len(b))
	}
	return strconv.Quote(string(b))
}
