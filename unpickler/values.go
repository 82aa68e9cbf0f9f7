// Handlers of the opcodes that push a scalar: None, bools, ints, floats,
// str, bytes, bytearray, Python 2 str, out-of-band buffers.

package unpickler

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/internal/stream"
	"github.com/segpickle/segpickle/py"
)

func (m *machine) opNone() error {
	m.push(nil)
	return nil
}

func (m *machine) opNewtrue() error {
	m.pushBool(true)
	return nil
}

func (m *machine) opNewfalse() error {
	m.pushBool(false)
	return nil
}

func (m *machine) opBinint1() error {
	b, err := m.u8()
	if err != nil {
		return err
	}
	m.pushInt(int64(b))
	return nil
}

func (m *machine) opBinint2() error {
	b, err := m.need(2)
	if err != nil {
		return err
	}
	m.pushInt(int64(binary.LittleEndian.Uint16(b)))
	return nil
}

func (m *machine) opBinint() error {
	b, err := m.need(4)
	if err != nil {
		return err
	}
	m.pushInt(int64(int32(binary.LittleEndian.Uint32(b))))
	return nil
}

// opLongBin is LONG1 and LONG4: a length, then two's complement
// little-endian.
func (m *machine) opLongBin() error {
	n, err := m.length(m.code)
	if err != nil {
		return err
	}
	return m.long(n)
}

func (m *machine) opInt() error {
	return m.textInt()
}

func (m *machine) opLongText() error {
	l, err := m.line()
	if err != nil {
		return err
	}
	v, ok := textLongValue(l) // as CPython reads it (textnum.go)
	if !ok {
		return m.failf(ErrBadArgument, "bad LONG %q", truncate(l))
	}
	m.push(v)
	return nil
}

func (m *machine) opBinfloat() error {
	b, err := m.need(8)
	if err != nil {
		return err
	}
	m.pushFloat(math.Float64frombits(binary.BigEndian.Uint64(b)))
	return nil
}

func (m *machine) opFloat() error {
	l, err := m.line()
	if err != nil {
		return err
	}
	f, ok := textFloatValue(l) // as CPython reads it (textnum.go)
	if !ok {
		return m.failf(ErrBadArgument, "bad FLOAT %q", truncate(l))
	}
	m.push(f)
	return nil
}

func (m *machine) opBinunicode() error {
	n, err := m.length(m.code)
	if err != nil {
		return err
	}
	b, err := m.payload(n, false)
	if err != nil {
		return err
	}
	if err := m.charge(int64(n)); err != nil {
		return err
	}
	if !utf8.Valid(b) {
		// As CPython: surrogates are kept (see py.CheckUTF8), other
		// invalid UTF-8 is refused.
		if err := py.CheckUTF8(b); err != nil {
			return m.fail(ErrBadArgument, err.Error())
		}
	}
	if !m.typed {
		m.stack = append(m.stack, m.strBox(b))
		return nil
	}
	m.pushStr(m.str(b))
	return nil
}

func (m *machine) opUnicode() error {
	l, err := m.line()
	if err != nil {
		return err
	}
	s, ok := rawUnicodeEscape(l)
	if !ok {
		return m.failf(ErrBadArgument, "bad raw-unicode-escape %q", truncate(l))
	}
	m.push(s)
	return nil
}

func (m *machine) opBinbytes() error {
	n, err := m.length(m.code)
	if err != nil {
		return err
	}
	b, err := m.payload(n, true)
	if err != nil {
		return err
	}
	m.push(b)
	return nil
}

func (m *machine) opBytearray8() error {
	n, err := m.length(m.code)
	if err != nil {
		return err
	}
	b, err := m.payload(n, true)
	if err != nil {
		return err
	}
	// With ZeroCopy the bytearray aliases the input, as bytes do
	// (payload caps it at its length, so an append cannot reach the
	// bytes after it): writing to it writes into the input. This is
	// how a numpy array pickled in band at protocol 5 (BYTEARRAY8)
	// decodes without a copy.
	m.push(py.ByteArray(b))
	return nil
}

func (m *machine) opBinstring() error {
	n, err := m.length(m.code)
	if err != nil {
		return err
	}
	b, err := m.payload(n, true)
	if err != nil {
		return err
	}
	m.push(py.ByteString(b))
	return nil
}

func (m *machine) opString() error {
	l, err := m.line()
	if err != nil {
		return err
	}
	b, ok := parseStringLiteral(l)
	if !ok {
		return m.failf(ErrBadArgument, "bad STRING %q", truncate(l))
	}
	m.push(py.ByteString(b))
	return nil
}

func (m *machine) opNextBuffer() error {
	if !m.cfg.haveBuffers {
		m.push(py.OutOfBand{Index: m.bufIdx})
		m.bufIdx++
		return nil
	}
	if m.bufIdx >= len(m.cfg.buffers) {
		return m.failf(ErrNoBuffer, "buffer %d of %d", m.bufIdx, len(m.cfg.buffers))
	}
	m.push(py.PickleBuffer{Data: m.cfg.buffers[m.bufIdx]})
	m.bufIdx++
	return nil
}

func (m *machine) opReadonlyBuffer() error {
	v, err := m.pop()
	if err != nil {
		return err
	}
	switch b := v.(type) {
	case py.PickleBuffer:
		b.ReadOnly = true
		v = b
	case py.OutOfBand:
		b.ReadOnly = true
		v = b
	}
	m.push(v)
	return nil
}

// length reads a sized argument's length prefix, laid out by the opcode's
// argument kind (the stream layer knows the layouts).
func (m *machine) length(c byte) (uint64, error) {
	info, _ := op.Lookup(c)
	n, ok, bad := m.src.Length(info.Arg)
	if bad {
		return 0, m.failf(ErrBadArgument, "negative length %d", int64(n))
	}
	if !ok {
		return 0, m.fail(ErrTruncated, "length prefix")
	}
	return n, nil
}

func (m *machine) long(n uint64) error {
	b, err := m.payload(n, false)
	if err != nil {
		return err
	}
	m.push(decodeLong(b))
	return nil
}

// decodeLong reads little-endian two's complement.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var x uint64
		for i := len(b) - 1; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		shift := uint(64 - 8*len(b))
		return int64(x<<shift) >> shift
	}
	return normInt(stream.DecodeLong(b))
}

func normInt(v *big.Int) any {
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

func (m *machine) textInt() error {
	l, err := m.line()
	if err != nil {
		return err
	}
	v, ok := textIntValue(l) // as CPython reads it (textnum.go); "00" and "01" are bools
	if !ok {
		return m.failf(ErrBadArgument, "bad INT %q", truncate(l))
	}
	m.push(v)
	return nil
}

// maxStrDigits is CPython's default int_max_str_digits.
const maxStrDigits = 4300

func parseInt(s string) (any, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	digits := len(strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+"))
	if digits > maxStrDigits {
		return nil, false // CPython's int_max_str_digits: it refuses these too
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, false
	}
	return normInt(b), true
}

func parseFloat(s string) (float64, bool) {
	switch s {
	case "nan", "-nan":
		return math.NaN(), true
	case "inf":
		return math.Inf(1), true
	case "-inf":
		return math.Inf(-1), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
