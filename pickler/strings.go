package pickler

import (
	"encoding/binary"
	"math"
	"reflect"
	"strconv"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// Strings: str, bytes, bytearray and Python 2 str.

// singleton reports whether CPython keeps s as a singleton (empty, one
// latin-1 character): such strs are memoized by value.
func singleton(s string) bool {
	if len(s) == 0 {
		return true
	}
	if len(s) == 1 {
		return true
	}
	if len(s) == 2 && s[0] >= 0xc2 && s[0] <= 0xc3 { // U+0080..U+00FF
		return true
	}
	return false
}

// keyCacheSize is the size of the two-way cache in front of the
// by-value string memo: dict keys written by Go code are mostly the same
// few string literals, whose address identifies them without hashing.
const (
	keyCacheBits = 8
	keyCacheSize = 1 << keyCacheBits
)

type keyCacheEntry struct {
	s   string // held, so its memory cannot be reused while cached
	idx uint32
	gen uint32
}

// saveStr writes a str. key marks a dict key, memoized by value.
func (e *encoder) saveStr(s string, key bool) error {
	if key {
		// A key is an object of its own: CPython's framer may close the
		// frame before it, as before a value (save calls Boundary; the
		// dict loops write str keys straight here).
		e.Boundary()
	}
	if key && len(s) > 0 && len(s) <= 64 { // short keys: bounded what the cache holds on to
		_, err := e.saveShortKey(s)
		return err
	}
	if key || singleton(s) {
		return e.saveStrByValue(s)
	}
	if len(s) >= sharedStrMin {
		// One Go string reached again (same bytes at the same address)
		// is one Python str: a decoded pickle that referenced a str a
		// million times re-encodes to its size, not a million copies.
		k := memoKey{p: unsafe.Pointer(unsafe.StringData(s)), n: len(s), t: strTypeID}
		if e.lookup(k) {
			return nil
		}
		if err := e.writeStr(s); err != nil {
			return err
		}
		e.rememberPtr(k)
		return nil
	}
	if err := e.writeStr(s); err != nil {
		return err
	}
	e.MemoPut()
	return nil
}

// saveShortKey writes a dict key of 1 to 64 bytes (after the caller's
// Boundary) memoized by value, through the key cache, and returns its memo
// index.
func (e *encoder) saveShortKey(s string) (uint32, error) {
	p := unsafe.StringData(s)
	// Two ways a set, by a multiplicative hash of address and length:
	// a record's few keys must not evict each other.
	a := uint64(uintptr(unsafe.Pointer(p))) ^ uint64(len(s))<<48
	set := e.keyCache[(a*0x9e3779b97f4a7c15>>(64-keyCacheBits))&^1:]
	for w := 0; w < 2; w++ {
		if c := &set[w]; c.gen == e.gen && unsafe.StringData(c.s) == p && len(c.s) == len(s) {
			e.MemoGet(c.idx)
			return c.idx, nil
		}
	}
	slot, h, idx, found := e.strMemo.slot(s)
	if !found {
		if err := e.writeStr(s); err != nil {
			return 0, err
		}
		idx = e.MemoPut()
		e.strMemo.claim(slot, s, h, idx)
	} else {
		e.MemoGet(idx)
	}
	set[1] = set[0] // the newest in way 0, the one before it kept
	set[0] = keyCacheEntry{s: s, idx: idx, gen: e.gen}
	return idx, nil
}

// saveStrByValue writes s memoized by value: one hash finds it or
// reserves its slot.
func (e *encoder) saveStrByValue(s string) error {
	if uint64(len(s)) > math.MaxUint32 {
		if err := e.checkLen(len(s), "str"); err != nil {
			return err // before the hash reads it
		}
	}
	slot, h, idx, found := e.strMemo.slot(s)
	if found {
		e.MemoGet(idx)
		return nil
	}
	if err := e.writeStr(s); err != nil {
		return err
	}
	e.strMemo.claim(slot, s, h, e.MemoPut())
	return nil
}

// sharedStrMin is the length from which strings have identity: shorter
// ones are written at each occurrence, as CPython writes equal strs that
// are distinct objects (a short Go string shares its bytes with equal
// literals, which would make one object of what Python has as several).
const sharedStrMin = 64

var strTypeID = typeID(reflect.TypeFor[string]())

func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// validStr reports whether s can be written as a str: UTF-8, surrogates
// allowed as CPython's pickle writes them (see py.ValidString).
func validStr(s string) bool { return py.ValidString(s) }

var errInvalidStr = valueErr(ErrInvalidString, "string is not valid UTF-8 (lone surrogates excepted, as CPython writes them)")

// checkLen refuses a payload of n bytes that the protocol's length prefix
// cannot carry: 4 GiB and more need the 8-byte lengths of protocol 4.
// Checked before the payload is read, let alone written.
func (e *encoder) checkLen(n int, what string) error {
	if uint64(n) > math.MaxUint32 && e.proto < 4 && e.proto > 0 {
		return valueErr(ErrTooLarge, what+" of "+strconv.Itoa(n)+" bytes needs protocol 4 (4 GiB and over)")
	}
	return nil
}

// writeStr writes s as str; on error (invalid UTF-8, too long for the
// protocol) what it wrote is garbage and the caller fails.
func (e *encoder) writeStr(s string) error {
	n := len(s)
	if e.proto == 0 {
		if !validStr(s) {
			return errInvalidStr.fresh()
		}
		e.writeRawUnicodeEscape(s)
		return nil
	}
	if n < 256 && e.proto >= 4 {
		// Copy and look for non-ASCII bytes in one pass.
		p := e.Avail(2 + n)
		p[0], p[1] = op.ShortBinunicode, byte(n)
		hi := copyStr(p[2:2+n], s)
		e.Commit(2 + n)
		if hi < 0x80 || validStr(s) {
			return nil
		}
		return errInvalidStr.fresh()
	}
	if err := e.checkLen(n, "str"); err != nil {
		return err
	}
	if !validStr(s) {
		return errInvalidStr.fresh()
	}
	if uint64(n) <= math.MaxUint32 {
		var h [5]byte
		h[0] = op.Binunicode
		binary.LittleEndian.PutUint32(h[1:], uint32(n))
		e.Payload(h[:], strBytes(s))
		return nil
	}
	var h [9]byte
	h[0] = op.Binunicode8
	binary.LittleEndian.PutUint64(h[1:], uint64(n))
	e.Payload(h[:], strBytes(s))
	return nil
}

// writeRawUnicodeEscape writes UNICODE as CPython's pickle does: latin-1
// characters as themselves except \ \0 \n \r \x1a, the rest as \uXXXX or
// \UXXXXXXXX.
func (e *encoder) writeRawUnicodeEscape(s string) {
	const hex = "0123456789abcdef"
	b := e.bigBuf(len(s) + 2)
	b = append(b, op.Unicode)
	for i := 0; i < len(s); {
		r, n := py.DecodeRune(s[i:]) // surrogates too (see package py)
		i += n
		switch {
		case r >= 0x10000:
			b = append(b, '\\', 'U')
			for sh := 28; sh >= 0; sh -= 4 {
				b = append(b, hex[(r>>uint(sh))&15])
			}
		case r >= 256 || r == '\\' || r == 0 || r == '\n' || r == '\r' || r == 0x1a:
			b = append(b, '\\', 'u')
			for sh := 12; sh >= 0; sh -= 4 {
				b = append(b, hex[(r>>uint(sh))&15])
			}
		default:
			b = append(b, byte(r))
		}
	}
	b = append(b, '\n')
	e.Copy(b)
}

func (e *encoder) saveBytes(b []byte) error {
	if b == nil {
		e.Byte(op.None)
		return nil
	}
	byValue := len(b) <= 1
	if byValue {
		if i, ok := e.byteMemo[string(b)]; ok {
			e.MemoGet(i)
			return nil
		}
	} else if b != nil {
		// A []byte reached twice (same array, same length) is one object.
		k := memoKey{p: unsafe.Pointer(unsafe.SliceData(b)), n: len(b), t: bytesTypeID}
		if e.lookup(k) {
			return nil
		}
		i, err := e.saveBytesData(b)
		if err == nil {
			e.memo.put(k, i)
		}
		return err
	}
	i, err := e.saveBytesData(b)
	if err == nil {
		if e.byteMemo == nil {
			e.byteMemo = make(map[string]uint32)
		}
		e.byteMemo[string(b)] = i
	}
	return err
}

var bytesTypeID = typeID(reflect.TypeFor[[]byte]())

// saveBytesData writes a bytes object and memoizes it, returning its index.
func (e *encoder) saveBytesData(b []byte) (uint32, error) {
	if err := e.checkLen(len(b), "bytes"); err != nil {
		return 0, err
	}
	if e.proto < 3 {
		// As CPython: codecs.encode(b.decode('latin1'), 'latin1'), or
		// bytes() when empty, so that Python 2 reads a str.
		if len(b) == 0 {
			if err := e.saveGlobal(py.BuiltinBytes); err != nil {
				return 0, err
			}
			e.emptyTuple()
		} else {
			if err := e.saveGlobal(py.CodecsEncode); err != nil {
				return 0, err
			}
			if e.proto < 2 {
				e.Byte(op.Mark)
			}
			if err := e.saveStr(py.Latin1String(b), false); err != nil {
				return 0, err
			}
			if e.latin1 > 0 {
				e.MemoGet(uint32(e.latin1 - 1))
			} else {
				_ = e.writeStr(py.Latin1) // constant ASCII
				e.latin1 = int64(e.MemoPut()) + 1
			}
			if e.proto >= 2 {
				e.Byte(op.Tuple2)
			} else {
				e.Byte(op.Tuple)
			}
			e.MemoPut()
		}
		e.Byte(op.Reduce)
		return e.MemoPut(), nil
	}
	n := len(b)
	switch {
	case uint64(n) <= math.MaxUint32:
		e.Sized(op.ShortBinbytes, op.Binbytes, 0, b)
	default:
		var h [9]byte
		h[0] = op.Binbytes8
		binary.LittleEndian.PutUint64(h[1:], uint64(n))
		e.Payload(h[:], b)
	}
	return e.MemoPut(), nil
}

func (e *encoder) saveByteArray(b py.ByteArray) error {
	if e.inKey > 0 {
		return e.unhashable("bytearray")
	}
	if e.proto < 5 {
		c := py.BytearrayCall(b)
		return e.saveFreshCall(&c)
	}
	var h [9]byte
	h[0] = op.Bytearray8
	binary.LittleEndian.PutUint64(h[1:], uint64(len(b)))
	e.Payload(h[:], b)
	e.MemoPut()
	return nil
}

func (e *encoder) saveByteString(b py.ByteString) error {
	n := len(b)
	switch {
	case e.proto == 0:
		s := appendPy2Repr(e.bigBuf(n+4), b)
		e.Copy(append(append([]byte{op.String}, s...), '\n'))
	case uint64(n) <= math.MaxInt32:
		e.Sized(op.ShortBinstring, op.Binstring, 0, b)
	default:
		return valueErr(ErrTooLarge, "Python 2 str of 2 GiB or more")
	}
	e.MemoPut()
	return nil
}

// appendPy2Repr writes b as Python 2's repr of a str: single quotes, \x
// escapes (what protocol 0 STRING carries).
func appendPy2Repr(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '\'')
	for _, c := range b {
		switch {
		case c == '\\' || c == '\'':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c >= 0x7f:
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '\'')
}

// copyStr copies s into d (as long as s) and returns the OR of its bytes:
// under 0x80, s is ASCII, so valid UTF-8 with no check (one pass for both).
func copyStr(d []byte, s string) (hi byte) {
	for i := 0; i < len(d); i++ {
		c := s[i]
		d[i] = c
		hi |= c
	}
	return hi
}
