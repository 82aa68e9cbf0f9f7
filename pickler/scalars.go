package pickler

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// Scalars: bool, int, float.

func (e *encoder) saveBool(b bool) {
	if e.proto >= 2 {
		if b {
			e.Byte(op.Newtrue)
		} else {
			e.Byte(op.Newfalse)
		}
		return
	}
	p := e.Avail(4)
	copy(p, "I00\n")
	if b {
		p[2] = '1'
	}
	e.Commit(4)
}

func (e *encoder) saveInt(x int64) {
	if x >= math.MinInt32 && x <= math.MaxInt32 {
		if e.proto == 0 {
			e.TextOp(op.Int, x)
			return
		}
		switch {
		case x >= 0 && x < 256:
			e.Byte2(op.Binint1, byte(x))
		case x >= 0 && x < 65536:
			p := e.Avail(3)
			p[0], p[1], p[2] = op.Binint2, byte(x), byte(x>>8)
			e.Commit(3)
		default:
			p := e.Avail(5)
			p[0] = op.Binint
			binary.LittleEndian.PutUint32(p[1:], uint32(int32(x)))
			e.Commit(5)
		}
		return
	}
	if e.proto < 2 {
		p := e.Avail(24)
		b := append(p[:0], op.Long)
		b = strconv.AppendInt(b, x, 10)
		b = append(b, 'L', '\n')
		e.Commit(len(b))
		return
	}
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], uint64(x))
	n := 8
	for n > 1 && ((le[n-1] == 0 && le[n-2]&0x80 == 0) || (le[n-1] == 0xff && le[n-2]&0x80 != 0)) {
		n--
	}
	p := e.Avail(2 + n)
	p[0], p[1] = op.Long1, byte(n)
	copy(p[2:], le[:n])
	e.Commit(2 + n)
}

func (e *encoder) saveUint(x uint64) {
	if x <= math.MaxInt64 {
		e.saveInt(int64(x))
		return
	}
	_ = e.saveBig(new(big.Int).SetUint64(x)) // 20 digits: never over the limit
}

// maxStrDigits is CPython's default int_max_str_digits: it neither writes
// nor reads a longer decimal int, which is how protocols 0 and 1 carry them.
const maxStrDigits = 4300

func (e *encoder) saveBig(x *big.Int) error {
	if x.IsInt64() {
		e.saveInt(x.Int64())
		return nil
	}
	if e.proto < 2 {
		if x.BitLen() > 14300 { // 2^14300 has 4305 digits: surely over; skip the conversion
			return valueErr(ErrTooLarge, "int over 4300 digits: CPython refuses it at protocols 0 and 1 (use 2 or above)")
		}
		s := x.String()
		if n := len(strings.TrimPrefix(s, "-")); n > maxStrDigits {
			return valueErr(ErrTooLarge, fmt.Sprintf("int of %d digits: CPython refuses over 4300 at protocols 0 and 1 (use 2 or above)", n))
		}
		p := e.bigBuf(len(s) + 3)
		p = append(p[:0], op.Long)
		p = append(p, s...)
		p = append(p, 'L', '\n')
		e.Copy(p)
		return nil
	}
	le := longBytes(x)
	if len(le) > math.MaxInt32 {
		return valueErr(ErrTooLarge, "int of 2 GiB or more: LONG4's length is 31 bits")
	}
	if len(le) < 256 {
		e.Copy(([]byte{op.Long1, byte(len(le))}))
	} else {
		h := []byte{op.Long4, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(h[1:], uint32(len(le)))
		e.Copy((h))
	}
	e.Copy(le)
	return nil
}

func (e *encoder) bigBuf(n int) []byte { return make([]byte, 0, n) }

// longBytes is x in minimal little-endian two's complement, as LONG1/LONG4.
func longBytes(x *big.Int) []byte {
	if x.Sign() == 0 {
		return nil
	}
	n := x.BitLen()/8 + 1
	var v *big.Int
	if x.Sign() > 0 {
		v = x
	} else {
		v = new(big.Int).Lsh(big.NewInt(1), uint(8*n))
		v.Add(v, x)
	}
	be := v.FillBytes(make([]byte, n))
	for i, j := 0, len(be)-1; i < j; i, j = i+1, j-1 {
		be[i], be[j] = be[j], be[i]
	}
	if x.Sign() < 0 && n > 1 && be[n-1] == 0xff && be[n-2]&0x80 != 0 {
		be = be[:n-1]
	}
	return be
}

func (e *encoder) saveFloat(f float64) {
	if e.proto == 0 {
		p := e.Avail(40)
		b := append(p[:0], op.Float)
		b = py.AppendFloatRepr(b, f)
		b = append(b, '\n')
		e.Commit(len(b))
		return
	}
	p := e.Avail(9)
	p[0] = op.Binfloat
	binary.BigEndian.PutUint64(p[1:], math.Float64bits(f))
	e.Commit(9)
}
