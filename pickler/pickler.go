// Package pickler encodes Go values as Python pickles, protocols 0 to 5.
//
// The output is not one growing buffer but a segments.List: opcodes are
// coalesced into pooled chunks, and a large []byte or string payload is
// referenced as a segment of its own, never copied. EncodeTo fills such a
// list; Encoder writes it with one vectored write; Marshal joins it into one
// slice for callers that want one.
//
// For values CPython would write the same way (ints, floats, str, bytes,
// lists, tuples, dicts, sets, nested), the bytes are identical to CPython's
// pickle.dumps at the same protocol, frames included. The Go ↔ Python type
// mapping is the table in package py.
//
// Identity follows CPython: a pointer, map or non-empty slice reached twice
// is written once and fetched from the memo after, so shared structure stays
// shared and cycles through them terminate. Strings have no identity in Go;
// dict keys (map keys, struct field names) are memoized by value, as the
// interned keys of a Python program are, and so are empty and one-character
// strings and bytes, which are singletons in CPython.
package pickler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/segpickle/segpickle/internal/compat"
	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

// Marshal returns the pickle of v as one contiguous slice.
func Marshal(v any, opts ...Option) ([]byte, error) {
	l := listPool.Get().(*segments.List)
	defer func() { l.Release(); listPool.Put(l) }()
	if err := EncodeTo(l, v, opts...); err != nil {
		return nil, err
	}
	return l.Bytes(), nil
}

var listPool = sync.Pool{New: func() any { return new(segments.List) }}

// EncodeTo appends the pickle of v to l. Payloads at or above the reference
// threshold are referenced, not copied: they must stay unmodified while l
// holds them (see package segments). On error, l may hold a partial pickle.
func EncodeTo(l *segments.List, v any, opts ...Option) error {
	c := newConfig(opts)
	if c.err != nil {
		return c.err
	}
	if c.threshold != 0 {
		l.SetThreshold(c.threshold)
	}
	e := encPool.Get().(*encoder)
	defer e.release()
	e.init(l, &c)
	return e.dump(v)
}

// dump guards run: a panic (from a Marshaler, say, or a reflect corner the
// encoder did not foresee) becomes an error instead of crashing the caller.
func (e *encoder) dump(v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = valueErr(ErrInternal, fmt.Sprintf("internal error: %v", r))
		}
	}()
	return finishPath(e.run(v))
}

// Encoder writes pickles to an io.Writer, one per Encode, each sent with a
// vectored write where the writer allows it.
type Encoder struct {
	w    io.Writer
	cfg  config
	list segments.List
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer, opts ...Option) *Encoder {
	en := &Encoder{w: w, cfg: newConfig(opts)}
	if en.cfg.threshold != 0 {
		en.list.SetThreshold(en.cfg.threshold)
	}
	return en
}

// Encode writes the pickle of v.
func (en *Encoder) Encode(v any) error {
	if en.cfg.err != nil {
		return en.cfg.err
	}
	defer en.list.Reset()
	e := encPool.Get().(*encoder)
	e.init(&en.list, &en.cfg)
	err := e.dump(v)
	e.release()
	if err != nil {
		return err
	}
	_, err = en.list.WriteTo(en.w)
	return err
}

var encPool = sync.Pool{New: func() any { return new(encoder) }}

type encoder struct {
	out   *segments.List
	cfg   *config
	proto int

	memo     ptrTable
	strMemo  strTable
	byteMemo map[string]uint32
	globMemo map[py.Global]uint32
	inTuple  map[memoKey]bool // tuples being saved, tracked past trackDepth
	inKey    int              // > 0 while saving a dict key or set item
	latin1   int64            // memo index of the "latin1" constant + 1
	nextMemo uint32

	wb        []byte // write window, see sync
	keyCache  [keyCacheSize]keyCacheEntry
	gen       uint32 // this encode's generation in keyCache
	framing   bool
	needFrame bool
	frameHdr  []byte
	frameBase int
	depth     int
}

func (e *encoder) init(l *segments.List, c *config) {
	e.gen++
	if e.gen == 0 { // wrapped: entries of generation 0 would look current
		clear(e.keyCache[:])
		e.gen = 1
	}
	e.out, e.cfg, e.proto = l, c, c.proto
	e.nextMemo, e.latin1, e.depth, e.inKey = 0, 0, 0, 0
	e.framing, e.needFrame, e.frameHdr = false, false, nil
}

func (e *encoder) release() {
	e.memo.reset()
	e.strMemo.reset()
	clear(e.byteMemo)
	clear(e.globMemo)
	clear(e.inTuple)
	e.out, e.cfg, e.frameHdr, e.wb = nil, nil, nil, nil
	encPool.Put(e)
}

func (e *encoder) run(v any) error {
	if e.proto >= 2 {
		e.copyOut([]byte{op.Proto, byte(e.proto)})
	}
	if e.proto >= 4 {
		e.sync() // the next byte must go through slow, which opens the frame
		e.framing, e.needFrame = true, true
	}
	if err := e.save(v); err != nil {
		e.sync()
		return err
	}
	e.w1(op.Stop)
	e.sync()
	e.commitFrame()
	return nil
}

// --- low-level output -------------------------------------------------
//
// Small opcodes are appended to wb, a window onto the free tail of the
// segment list's current chunk, and committed to the list in one step
// (sync) before anything else touches the list. When a frame must start
// before the next byte, wb is empty with no capacity, so the fast paths
// fall into slow, which starts it.

func (e *encoder) sync() {
	if len(e.wb) > 0 {
		e.out.Commit(len(e.wb))
	}
	e.wb = nil
}

func (e *encoder) slow(n int) {
	e.sync()
	if e.needFrame {
		e.startFrame()
	}
	e.wb = e.out.Grow(n)[:0]
}

// pos is the number of bytes written so far.
func (e *encoder) pos() int { return e.out.Len() + len(e.wb) }

func (e *encoder) startFrame() {
	e.sync()
	e.needFrame = false
	e.frameHdr = e.out.Reserve(op.FrameHeaderSize)
	e.frameBase = e.out.Len()
}

func (e *encoder) commitFrame() {
	e.sync()
	if e.frameHdr == nil {
		return
	}
	n := e.out.Len() - e.frameBase
	if n >= op.FrameSizeMin {
		e.frameHdr[0] = op.Frame
		binary.LittleEndian.PutUint64(e.frameHdr[1:], uint64(n))
	} else {
		e.out.Unreserve(e.frameHdr)
	}
	e.frameHdr = nil
	e.needFrame = e.framing
}

// boundary is called before each object, as CPython's commit at the start
// of save(): a frame that reached the target is closed.
func (e *encoder) boundary() {
	if e.pos()-e.frameBase >= e.cfg.frameSize {
		e.commitFrame()
	}
}

func (e *encoder) w1(b byte) {
	if len(e.wb) == cap(e.wb) {
		e.slow(1)
	}
	e.wb = append(e.wb, b)
}

func (e *encoder) w2(a, b byte) {
	if cap(e.wb)-len(e.wb) < 2 {
		e.slow(2)
	}
	e.wb = append(e.wb, a, b)
}

// buf returns the window's free tail, at least n bytes (n <= 4096); the
// caller writes into it and then calls commit.
func (e *encoder) buf(n int) []byte {
	if cap(e.wb)-len(e.wb) < n {
		e.slow(n)
	}
	return e.wb[len(e.wb):cap(e.wb)]
}

func (e *encoder) commit(k int) { e.wb = e.wb[:len(e.wb)+k] }

// copyOut writes p by copy, whatever its size.
func (e *encoder) copyOut(p []byte) {
	if len(p) <= 4096 {
		copy(e.buf(len(p)), p)
		e.commit(len(p))
		return
	}
	e.sync()
	if e.needFrame {
		e.startFrame()
	}
	e.out.Copy(p)
}

// payload writes an opcode header and its data. Data at or above the frame
// target goes outside any frame, as CPython does; data at or above the
// reference threshold is referenced, not copied.
func (e *encoder) payload(hdr []byte, data []byte) {
	if len(data) < e.out.Threshold() && len(data) <= 4096 {
		e.copyOut(hdr)
		e.copyOut(data)
		return
	}
	e.sync()
	if e.framing && len(data) >= e.cfg.frameSize {
		e.commitFrame()
		e.out.Copy(hdr)
		e.out.Write(data)
		e.needFrame = true
		return
	}
	if e.needFrame {
		e.startFrame()
	}
	e.out.Copy(hdr)
	if len(data) >= e.out.Threshold() {
		e.out.Ref(data)
	} else {
		e.out.Copy(data)
	}
}

// --- memo --------------------------------------------------------------

func (e *encoder) memoPut() uint32 {
	i := e.nextMemo
	e.nextMemo++
	switch {
	case e.proto >= 4:
		e.w1(op.Memoize)
	case e.proto >= 1 && i < 256:
		e.w2(op.Binput, byte(i))
	case e.proto >= 1:
		p := e.buf(5)
		p[0] = op.LongBinput
		binary.LittleEndian.PutUint32(p[1:], i)
		e.commit(5)
	default:
		e.textOp(op.Put, int64(i))
	}
	return i
}

func (e *encoder) memoGet(i uint32) {
	switch {
	case e.proto >= 1 && i < 256:
		e.w2(op.Binget, byte(i))
	case e.proto >= 1:
		p := e.buf(5)
		p[0] = op.LongBinget
		binary.LittleEndian.PutUint32(p[1:], i)
		e.commit(5)
	default:
		e.textOp(op.Get, int64(i))
	}
}

// textOp writes opcode, decimal argument, newline.
func (e *encoder) textOp(code byte, n int64) {
	p := e.buf(24)
	b := append(p[:0], code)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '\n')
	e.commit(len(b))
}

func (e *encoder) rememberPtr(k memoKey) { e.memo.put(k, e.memoPut()) }

func (e *encoder) lookup(k memoKey) bool {
	if i, ok := e.memo.get(k); ok {
		e.memoGet(i)
		return true
	}
	return false
}

// --- dispatch ----------------------------------------------------------

func (e *encoder) save(v any) error {
	if e.cfg.persistentID != nil {
		if id, ok := e.cfg.persistentID(v); ok {
			return e.savePersistent(id)
		}
	}
	if e.frameHdr != nil {
		e.boundary()
	}
	switch x := v.(type) {
	case nil:
		e.w1(op.None)
	case bool:
		e.saveBool(x)
	case int:
		e.saveInt(int64(x))
	case int64:
		e.saveInt(x)
	case int32:
		e.saveInt(int64(x))
	case uint8:
		e.saveInt(int64(x))
	case float64:
		e.saveFloat(x)
	case string:
		return e.saveStr(x, false)
	case []byte:
		return e.saveBytes(x)
	case []any:
		return e.saveAnyList(x)
	case map[string]any:
		return e.saveStrMap(x)
	case py.Tuple:
		return e.saveTuple(x)
	case *py.Dict:
		if x == nil {
			e.w1(op.None)
			return nil
		}
		return e.saveDict(x)
	default:
		return e.saveOther(v)
	}
	return nil
}

func (e *encoder) enter() error {
	e.depth++
	if e.depth > e.cfg.maxDepth {
		return valueErr(ErrTooDeep, "nesting deeper than "+strconv.Itoa(e.cfg.maxDepth))
	}
	return nil
}

func (e *encoder) saveOther(v any) error {
	switch x := v.(type) {
	case Marshaler:
		r, err := marshalFor(x, e.proto)
		if err != nil {
			return &UnsupportedValueError{Reason: "MarshalPickle: " + err.Error(), Err: errors.Join(ErrMarshaler, err)}
		}
		if _, again := r.(Marshaler); again && reflect.TypeOf(r) == reflect.TypeOf(v) {
			return valueErr(ErrMarshaler, "MarshalPickle returned its own type")
		}
		if err := e.enter(); err != nil {
			return err
		}
		err = e.save(r)
		e.depth--
		return err
	case int8:
		e.saveInt(int64(x))
	case int16:
		e.saveInt(int64(x))
	case uint:
		e.saveUint(uint64(x))
	case uint16:
		e.saveInt(int64(x))
	case uint32:
		e.saveInt(int64(x))
	case uint64:
		e.saveUint(x)
	case uintptr:
		e.saveUint(uint64(x))
	case float32:
		e.saveFloat(float64(x))
	case *big.Int:
		if x == nil {
			e.w1(op.None)
			return nil
		}
		return e.saveBig(x)
	case big.Int:
		return e.saveBig(&x)
	case complex128:
		return e.saveComplex(x)
	case complex64:
		return e.saveComplex(complex128(x))
	case py.ByteArray:
		return e.saveByteArray(x)
	case py.ByteString:
		return e.saveByteString(x)
	case *py.Set:
		if x == nil {
			e.w1(op.None)
			return nil
		}
		return e.saveSet(x, false)
	case *py.FrozenSet:
		if x == nil {
			e.w1(op.None)
			return nil
		}
		return e.saveSet(&x.Set, true)
	case py.Global:
		return e.saveGlobal(x)
	case *py.Call:
		if x == nil {
			e.w1(op.None)
			return nil
		}
		return e.saveCall(x, memoKey{p: unsafe.Pointer(x)})
	case py.Call:
		return e.saveCall(&x, memoKey{})
	case *py.Object:
		if x == nil {
			e.w1(op.None)
			return nil
		}
		return e.saveObject(x, memoKey{p: unsafe.Pointer(x)})
	case py.Object:
		return e.saveObject(&x, memoKey{})
	case py.PersistentID:
		return e.savePersistent(x.ID)
	case py.PickleBuffer:
		return e.savePickleBuffer(x)
	case *py.PickleBuffer:
		if x == nil {
			e.w1(op.None)
			return nil
		}
		return e.savePickleBuffer(*x)
	case py.OutOfBand:
		if e.proto < 5 {
			return valueErr(ErrProtocol, "out-of-band buffer needs protocol 5")
		}
		if e.inKey > 0 && !x.ReadOnly {
			return e.unhashable("a writable buffer")
		}
		e.w1(op.NextBuffer)
		if x.ReadOnly {
			e.w1(op.ReadonlyBuffer)
		}
	case time.Time:
		return e.saveTime(x)
	case time.Duration:
		return e.saveDuration(x)
	case []int:
		return saveSliceFast(e, x, func(e *encoder, i int) error { e.saveInt(int64(i)); return nil })
	case []int64:
		return saveSliceFast(e, x, func(e *encoder, i int64) error { e.saveInt(i); return nil })
	case []float64:
		return saveSliceFast(e, x, func(e *encoder, f float64) error { e.saveFloat(f); return nil })
	case []string:
		return saveSliceFast(e, x, func(e *encoder, s string) error { return e.saveStr(s, false) })
	default:
		return e.saveReflect(reflect.ValueOf(v))
	}
	return nil
}

// --- scalars -------------------------------------------------------------

func (e *encoder) saveBool(b bool) {
	if e.proto >= 2 {
		if b {
			e.w1(op.Newtrue)
		} else {
			e.w1(op.Newfalse)
		}
		return
	}
	p := e.buf(4)
	copy(p, "I00\n")
	if b {
		p[2] = '1'
	}
	e.commit(4)
}

func (e *encoder) saveInt(x int64) {
	if x >= math.MinInt32 && x <= math.MaxInt32 {
		if e.proto == 0 {
			e.textOp(op.Int, x)
			return
		}
		switch {
		case x >= 0 && x < 256:
			e.w2(op.Binint1, byte(x))
		case x >= 0 && x < 65536:
			p := e.buf(3)
			p[0], p[1], p[2] = op.Binint2, byte(x), byte(x>>8)
			e.commit(3)
		default:
			p := e.buf(5)
			p[0] = op.Binint
			binary.LittleEndian.PutUint32(p[1:], uint32(int32(x)))
			e.commit(5)
		}
		return
	}
	if e.proto < 2 {
		p := e.buf(24)
		b := append(p[:0], op.Long)
		b = strconv.AppendInt(b, x, 10)
		b = append(b, 'L', '\n')
		e.commit(len(b))
		return
	}
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], uint64(x))
	n := 8
	for n > 1 && ((le[n-1] == 0 && le[n-2]&0x80 == 0) || (le[n-1] == 0xff && le[n-2]&0x80 != 0)) {
		n--
	}
	p := e.buf(2 + n)
	p[0], p[1] = op.Long1, byte(n)
	copy(p[2:], le[:n])
	e.commit(2 + n)
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
		e.copyOut(p)
		return nil
	}
	le := longBytes(x)
	if len(le) > math.MaxInt32 {
		return valueErr(ErrTooLarge, "int of 2 GiB or more: LONG4's length is 31 bits")
	}
	if len(le) < 256 {
		e.copyOut(([]byte{op.Long1, byte(len(le))}))
	} else {
		h := []byte{op.Long4, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(h[1:], uint32(len(le)))
		e.copyOut((h))
	}
	e.copyOut(le)
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
		p := e.buf(40)
		b := append(p[:0], op.Float)
		b = appendFloatRepr(b, f)
		b = append(b, '\n')
		e.commit(len(b))
		return
	}
	p := e.buf(9)
	p[0] = op.Binfloat
	binary.BigEndian.PutUint64(p[1:], math.Float64bits(f))
	e.commit(9)
}

// appendFloatRepr appends Python's repr() of f (with ".0" for integral
// values, as float.__repr__ and protocol-0 FLOAT write it).
func appendFloatRepr(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d.ddde±XX
	neg := s[0] == '-'
	if neg {
		s = s[1:]
		b = append(b, '-')
	}
	ei := 0
	for ei < len(s) && s[ei] != 'e' {
		ei++
	}
	mant, expS := s[:ei], s[ei+1:]
	exp, _ := strconv.Atoi(string(expS))
	var digits [24]byte
	nd := 0
	for _, c := range mant {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	d := digits[:nd]
	// Python's repr switches to exponent form when exp < -4 or exp >= 16.
	if exp < -4 || exp >= 16 {
		b = append(b, d[0])
		if len(d) > 1 {
			b = append(b, '.')
			b = append(b, d[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(exp), 10)
	}
	if exp < 0 {
		b = append(b, '0', '.')
		for i := 0; i < -exp-1; i++ {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	if len(d) <= exp+1 {
		b = append(b, d...)
		for i := len(d); i < exp+1; i++ {
			b = append(b, '0')
		}
		return append(b, '.', '0')
	}
	b = append(b, d[:exp+1]...)
	b = append(b, '.')
	return append(b, d[exp+1:]...)
}

// --- str and bytes -------------------------------------------------------

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

// saveStr writes a str. key marks a dict key, memoized by value.
// keyCacheSize is the size of the direct-mapped cache in front of the
// by-value string memo: dict keys written by Go code are mostly the same
// few string literals, whose address identifies them without hashing.
const keyCacheSize = 256

type keyCacheEntry struct {
	s   string // held, so its memory cannot be reused while cached
	idx uint32
	gen uint32
}

func (e *encoder) saveStr(s string, key bool) error {
	if key && len(s) > 0 && len(s) <= 64 { // short keys: bounded what the cache holds on to
		p := unsafe.StringData(s)
		c := &e.keyCache[(uintptr(unsafe.Pointer(p))>>3^uintptr(len(s)))%keyCacheSize]
		if c.gen == e.gen && unsafe.StringData(c.s) == p && len(c.s) == len(s) {
			e.memoGet(c.idx)
			return nil
		}
		slot, h, idx, found := e.strMemo.slot(s)
		if !found {
			if err := e.writeStr(s); err != nil {
				return err
			}
			idx = e.memoPut()
			e.strMemo.claim(slot, s, h, idx)
		} else {
			e.memoGet(idx)
		}
		*c = keyCacheEntry{s: s, idx: idx, gen: e.gen}
		return nil
	}
	if key || singleton(s) {
		// One hash finds it or reserves its slot.
		slot, h, idx, found := e.strMemo.slot(s)
		if found {
			e.memoGet(idx)
			return nil
		}
		if err := e.writeStr(s); err != nil {
			return err
		}
		e.strMemo.claim(slot, s, h, e.memoPut())
		return nil
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
	e.memoPut()
	return nil
}

// sharedStrMin is the length from which strings have identity: shorter
// ones are written at each occurrence, as CPython writes equal strs that
// are distinct objects (a short Go string shares its bytes with equal
// literals, which would make one object of what Python has as several).
const sharedStrMin = 64

var strTypeID = typeID(reflect.TypeFor[string]())

func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// validStr reports whether s can be written as a str: the one place
// that decides which Go strings are Python strs.
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
		p := e.buf(2 + n)
		p[0], p[1] = op.ShortBinunicode, byte(n)
		var hi byte
		d := p[2 : 2+n]
		for i := 0; i < len(d); i++ {
			c := s[i]
			d[i] = c
			hi |= c
		}
		e.commit(2 + n)
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
		e.payload(h[:], strBytes(s))
		return nil
	}
	var h [9]byte
	h[0] = op.Binunicode8
	binary.LittleEndian.PutUint64(h[1:], uint64(n))
	e.payload(h[:], strBytes(s))
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
	e.copyOut(b)
}

func (e *encoder) saveBytes(b []byte) error {
	if b == nil {
		e.w1(op.None)
		return nil
	}
	byValue := len(b) <= 1
	if byValue {
		if i, ok := e.byteMemo[string(b)]; ok {
			e.memoGet(i)
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
				e.w1(op.Mark)
			}
			if err := e.saveStr(py.Latin1String(b), false); err != nil {
				return 0, err
			}
			if e.latin1 > 0 {
				e.memoGet(uint32(e.latin1 - 1))
			} else {
				_ = e.writeStr(py.Latin1) // constant ASCII
				e.latin1 = int64(e.memoPut()) + 1
			}
			if e.proto >= 2 {
				e.w1(op.Tuple2)
			} else {
				e.w1(op.Tuple)
			}
			e.memoPut()
		}
		e.w1(op.Reduce)
		return e.memoPut(), nil
	}
	n := len(b)
	switch {
	case uint64(n) <= math.MaxUint32:
		e.sized(op.ShortBinbytes, op.Binbytes, b)
	default:
		var h [9]byte
		h[0] = op.Binbytes8
		binary.LittleEndian.PutUint64(h[1:], uint64(n))
		e.payload(h[:], b)
	}
	return e.memoPut(), nil
}

// sized writes b with a 1-byte length opcode when it is under 256 bytes,
// else with a 4-byte one (len(b) must fit in 32 bits).
func (e *encoder) sized(short, long byte, b []byte) {
	n := len(b)
	if n < 256 {
		p := e.buf(2 + n)
		p[0], p[1] = short, byte(n)
		copy(p[2:], b)
		e.commit(2 + n)
		return
	}
	var h [5]byte
	h[0] = long
	binary.LittleEndian.PutUint32(h[1:], uint32(n))
	e.payload(h[:], b)
}

func (e *encoder) emptyTuple() {
	if e.proto >= 1 {
		e.w1(op.EmptyTuple)
	} else {
		e.w2(op.Mark, op.Tuple)
	}
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
	e.payload(h[:], b)
	e.memoPut()
	return nil
}

// saveFreshCall saves a Call as CPython's save_reduce does for an object
// it builds on the fly (bytearray, set): args are a fresh tuple.
func (e *encoder) saveFreshCall(c *py.Call) error {
	return e.saveCall(c, memoKey{})
}

func (e *encoder) saveByteString(b py.ByteString) error {
	n := len(b)
	switch {
	case e.proto == 0:
		s := appendPy2Repr(e.bigBuf(n+4), b)
		e.copyOut(append(append([]byte{op.String}, s...), '\n'))
	case uint64(n) <= math.MaxInt32:
		e.sized(op.ShortBinstring, op.Binstring, b)
	default:
		return valueErr(ErrTooLarge, "Python 2 str of 2 GiB or more")
	}
	e.memoPut()
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

// --- containers ----------------------------------------------------------

const batchSize = 1000 // CPython's BATCHSIZE

// batcher is CPython's batching of container items, the one place that
// writes it: after the container's opening, items go in batches of
// batchSize between MARK and the multi opcode (APPENDS, SETITEMS,
// ADDITEMS); a container of one item, and every item at protocol 0, takes
// the single opcode (APPEND, SETITEM) instead, when there is one. Callers
// loop:
//
//	for b := e.batches(n, op.Append, op.Appends); b.next(); {
//		for i := b.start; i < b.end; i++ { … write item i … }
//	}
//
// so that the item loop stays the caller's own (no call per item).
type batcher struct {
	e             *encoder
	n, start, end int
	single, multi byte
	open          bool // a batch was started and awaits its closing opcode
}

func (e *encoder) batches(n int, single, multi byte) batcher {
	return batcher{e: e, n: n, single: single, multi: multi}
}

// next closes the batch just written and opens the next; false when done.
func (b *batcher) next() bool {
	one := b.single != 0 && (b.e.proto == 0 || b.n == 1)
	if b.open {
		if one {
			b.e.w1(b.single)
		} else {
			b.e.w1(b.multi)
		}
		b.open = false
	}
	if b.end >= b.n {
		return false
	}
	b.start = b.end
	if one {
		b.end = b.start + 1
	} else {
		b.end = min(b.start+batchSize, b.n)
		b.e.w1(op.Mark)
	}
	b.open = true
	return true
}

const trackDepth = 64

func (e *encoder) openList() {
	if e.proto >= 1 {
		e.w1(op.EmptyList)
	} else {
		e.w2(op.Mark, op.List)
	}
}

// openListMemo opens a list and memoizes it, by identity k when byID;
// it reports true when k was already written (a memo GET went out instead).
func (e *encoder) openListMemo(k memoKey, byID bool) bool {
	if byID {
		if e.lookup(k) {
			return true
		}
		e.openList()
		e.rememberPtr(k)
		return false
	}
	e.openList()
	e.memoPut()
	return false
}

func (e *encoder) saveAnyList(x []any) error {
	if x == nil {
		e.w1(op.None)
		return nil
	}
	if e.inKey > 0 {
		return e.unhashable("list")
	}
	// cap 0 may be Go's shared zero-size address: no identity to memoize.
	if e.openListMemo(memoKey{p: unsafe.Pointer(unsafe.SliceData(x)), n: len(x), t: anyListTypeID}, cap(x) > 0) {
		return nil
	}
	return saveItems(e, x, func(e *encoder, v any) error { return e.save(v) })
}

var anyListTypeID = typeID(reflect.TypeFor[[]any]())

func saveSliceFast[T any](e *encoder, x []T, f func(*encoder, T) error) error {
	if x == nil {
		e.w1(op.None)
		return nil
	}
	if e.inKey > 0 {
		return e.unhashable("list")
	}
	if e.openListMemo(memoKey{p: unsafe.Pointer(unsafe.SliceData(x)), n: len(x), t: typeID(reflect.TypeFor[[]T]())}, cap(x) > 0) {
		return nil
	}
	return saveItems(e, x, f)
}

// saveItems writes list items after the list's opening, in CPython's
// batches: APPEND for one, MARK … APPENDS for more (protocol 0: APPEND each).
//
// The loop is written out rather than built on listItems: one indirect
// call per item, not two, on the hottest path (30 % on 100,000 ints).
func saveItems[T any](e *encoder, x []T, f func(*encoder, T) error) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto == 0 || len(x) == 1 {
		for i, v := range x {
			if err := f(e, v); err != nil {
				return withPath(err, "["+strconv.Itoa(i)+"]")
			}
			e.w1(op.Append)
		}
		return nil
	}
	for start := 0; start < len(x); start += batchSize {
		end := min(start+batchSize, len(x))
		e.w1(op.Mark)
		for i := start; i < end; i++ {
			if err := f(e, x[i]); err != nil {
				return withPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		e.w1(op.Appends)
	}
	return nil
}

// listItems writes n list items through item(i) after the list's opening,
// in CPython's batches: APPEND for a one-item list, MARK … APPENDS per 1000
// otherwise (protocol 0: APPEND after each).
func (e *encoder) listItems(n int, item func(i int) error) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto == 0 || n == 1 {
		for i := 0; i < n; i++ {
			if err := item(i); err != nil {
				return withPath(err, "["+strconv.Itoa(i)+"]")
			}
			e.w1(op.Append)
		}
		return nil
	}
	for start := 0; start < n; start += batchSize {
		end := min(start+batchSize, n)
		e.w1(op.Mark)
		for i := start; i < end; i++ {
			if err := item(i); err != nil {
				return withPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		e.w1(op.Appends)
	}
	return nil
}

func (e *encoder) openDict() {
	if e.proto >= 1 {
		e.w1(op.EmptyDict)
	} else {
		e.w2(op.Mark, op.Dict)
	}
}

// dictItems writes n items through item(i), batched as CPython does.
func (e *encoder) dictItems(n int, item func(i int) error) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.proto == 0 {
		for i := 0; i < n; i++ {
			if err := item(i); err != nil {
				return err
			}
			e.w1(op.Setitem)
		}
		return nil
	}
	if n == 1 {
		if err := item(0); err != nil {
			return err
		}
		e.w1(op.Setitem)
		return nil
	}
	for start := 0; start < n; start += batchSize {
		end := min(start+batchSize, n)
		e.w1(op.Mark)
		for i := start; i < end; i++ {
			if err := item(i); err != nil {
				return err
			}
		}
		e.w1(op.Setitems)
	}
	return nil
}

func (e *encoder) saveDict(d *py.Dict) error {
	if e.inKey > 0 {
		return e.unhashable("dict")
	}
	k := memoKey{p: unsafe.Pointer(d)}
	if e.lookup(k) {
		return nil
	}
	e.openDict()
	e.rememberPtr(k)
	items := d.Items()
	return e.dictItems(len(items), func(i int) error {
		it := items[i]
		var err error
		if s, ok := it.Key.(string); ok {
			err = e.saveStr(s, true)
		} else {
			err = e.saveKey(it.Key)
		}
		if err != nil {
			return withPath(err, "[key "+strconv.Itoa(i)+"]")
		}
		if err := e.save(it.Value); err != nil {
			return withPath(err, keyPath(keyString(it.Key)))
		}
		return nil
	})
}

func keyString(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	}
	return reflect.TypeOf(k).String()
}

func (e *encoder) saveStrMap(m map[string]any) error {
	if m == nil {
		e.w1(op.None)
		return nil
	}
	if e.inKey > 0 {
		return e.unhashable("dict")
	}
	k := memoKey{p: reflect.ValueOf(m).UnsafePointer()}
	if e.lookup(k) {
		return nil
	}
	e.openDict()
	e.rememberPtr(k)
	if e.cfg.sortKeys {
		keys := e.mapKeys(m)
		return e.dictItems(len(keys), func(i int) error { return e.saveStrItem(keys[i], m[keys[i]]) })
	}
	// Unsorted: write while iterating, batched as dictItems does.
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	n, i := len(m), 0
	for key, v := range m {
		if n > 1 && e.proto > 0 && i%batchSize == 0 {
			e.w1(op.Mark)
		}
		if err := e.saveStrItem(key, v); err != nil {
			return err
		}
		i++
		switch {
		case e.proto == 0 || n == 1:
			e.w1(op.Setitem)
		case i%batchSize == 0 || i == n:
			e.w1(op.Setitems)
		}
	}
	return nil
}

func (e *encoder) saveStrItem(key string, v any) error {
	if err := e.saveStr(key, true); err != nil {
		return withPath(err, keyPath(key))
	}
	if err := e.save(v); err != nil {
		return withPath(err, keyPath(key))
	}
	return nil
}

func mapKeysOf[V any](m map[string]V, sorted bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if sorted {
		sortStrings(keys)
	}
	return keys
}

func (e *encoder) mapKeys(m map[string]any) []string { return mapKeysOf(m, e.cfg.sortKeys) }

// --- tuples, sets ----------------------------------------------------------

func (e *encoder) saveTuple(t py.Tuple) error {
	n := len(t)
	if n == 0 {
		e.emptyTuple()
		return nil
	}
	k := memoKey{p: unsafe.Pointer(unsafe.SliceData(t)), n: n, t: tupleTypeID}
	if e.inKey > 0 {
		// Written as a key, a tuple's Go arrays are tuples, not lists: it
		// is another Python object than the same tuple written as a value.
		k.t = tupleKeyTypeID
	}
	if e.lookup(k) {
		return nil
	}
	// Only a tuple can contain itself with nothing memoizable between
	// (Python cannot build one; Go can). Such a cycle recurses, so tuples
	// are tracked only once nesting passes trackDepth.
	if e.depth > trackDepth {
		if e.inTuple[k] {
			return valueErr(ErrCycle, "tuple contains itself with no list, dict or object between")
		}
		if e.inTuple == nil {
			e.inTuple = make(map[memoKey]bool)
		}
		e.inTuple[k] = true
		defer delete(e.inTuple, k)
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	short := n <= 3 && e.proto >= 2
	if !short {
		e.w1(op.Mark)
	}
	for i, v := range t {
		if err := e.save(v); err != nil {
			return withPath(err, "["+strconv.Itoa(i)+"]")
		}
	}
	// A recursive tuple may have been memoized while saving its items:
	// drop what was pushed and fetch it, as CPython does.
	if i, ok := e.memo.get(k); ok {
		if short {
			for j := 0; j < n; j++ {
				e.w1(op.Pop)
			}
		} else if e.proto >= 1 {
			e.w1(op.PopMark)
		} else {
			for j := 0; j <= n; j++ {
				e.w1(op.Pop)
			}
		}
		e.memoGet(i)
		return nil
	}
	if short {
		e.w1(op.Tuple1 + byte(n-1))
	} else {
		e.w1(op.Tuple)
	}
	e.rememberPtr(k)
	return nil
}

var (
	tupleTypeID    = typeID(reflect.TypeFor[py.Tuple]())
	tupleKeyTypeID = tupleTypeID + 1 // a tuple as written in a key (not a real type)
)

func (e *encoder) saveSet(s *py.Set, frozen bool) error {
	if e.inKey > 0 && !frozen {
		return e.unhashable("set")
	}
	k := memoKey{p: unsafe.Pointer(s)}
	if e.lookup(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	// Set items are hashed: saved as keys.
	e.inKey++
	defer func() { e.inKey-- }()
	items := s.Items()
	item := func(i int) error {
		if err := e.save(items[i]); err != nil {
			return withPath(err, "{"+strconv.Itoa(i)+"}")
		}
		return nil
	}
	if e.proto < 4 {
		// py.SetCall's form, written here so that the items are keys:
		// set([items]), the list and the args tuple memoized, as CPython.
		g := py.BuiltinSet
		if frozen {
			g = py.BuiltinFrozenset
		}
		if err := e.saveGlobal(g); err != nil {
			return err
		}
		if e.proto < 2 {
			e.w1(op.Mark)
		}
		e.openList()
		e.memoPut()
		for b := e.batches(len(items), op.Append, op.Appends); b.next(); {
			for i := b.start; i < b.end; i++ {
				if err := item(i); err != nil {
					return err
				}
			}
		}
		if e.proto >= 2 {
			e.w1(op.Tuple1)
		} else {
			e.w1(op.Tuple)
		}
		e.memoPut()
		e.w1(op.Reduce)
		e.rememberPtr(k)
		return nil
	}
	if frozen {
		e.w1(op.Mark)
		for i := range items {
			if err := item(i); err != nil {
				return err
			}
		}
		if i, ok := e.memo.get(k); ok {
			e.w1(op.PopMark)
			e.memoGet(i)
			return nil
		}
		e.w1(op.Frozenset)
		e.rememberPtr(k)
		return nil
	}
	e.w1(op.EmptySet)
	e.rememberPtr(k)
	for b := e.batches(len(items), 0, op.Additems); b.next(); {
		for i := b.start; i < b.end; i++ {
			if err := item(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- globals, calls, objects -------------------------------------------

func (e *encoder) saveGlobal(g py.Global) error {
	if i, ok := e.globMemo[g]; ok {
		e.memoGet(i)
		return nil
	}
	if e.proto >= 4 {
		// Module names are memoized by value: CPython interns them, so a
		// second global from one module refers to the first one's str.
		if err := e.saveStr(g.Module, true); err != nil {
			return err
		}
		if err := e.saveStr(g.Name, false); err != nil {
			return err
		}
		e.w1(op.StackGlobal)
	} else {
		mod, name := g.Module, g.Name
		if e.proto < 3 {
			mod, name = compat.ToPy2(mod, name)
		}
		for _, s := range [2]string{mod, name} {
			for i := 0; i < len(s); i++ {
				if s[i] == '\n' || s[i] >= 0x80 {
					return valueErr(ErrProtocol, "global name "+quote(s)+" cannot be written by GLOBAL")
				}
			}
		}
		b := e.bigBuf(len(mod) + len(name) + 3)
		b = append(b, op.Global)
		b = append(b, mod...)
		b = append(b, '\n')
		b = append(b, name...)
		b = append(b, '\n')
		e.copyOut(b)
	}
	if e.globMemo == nil {
		e.globMemo = make(map[py.Global]uint32)
	}
	e.globMemo[g] = e.memoPut()
	return nil
}

func (e *encoder) saveCall(c *py.Call, k memoKey) error {
	if k.p != nil && e.lookup(k) {
		return nil
	}
	// What a call returns is hashable as far as the pickle can tell; its
	// arguments and state are not keys.
	defer e.outOfKey()()
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if g, ok := c.Callable.(py.Global); ok && g == py.CopyregNewobj && e.proto >= 2 {
		// Written as CPython writes __reduce__ results that name it.
		if len(c.Args) > 0 {
			o := py.Object{Class: c.Args[0], Args: c.Args[1:], ListItems: c.ListItems, DictItems: c.DictItems, State: c.State, HasState: c.HasState, After: c.After}
			return e.saveObject(&o, k)
		}
	}
	if err := e.save(c.Callable); err != nil {
		return withPath(err, ".callable")
	}
	if err := e.saveTuple(c.Args); err != nil {
		return withPath(err, ".args")
	}
	e.w1(op.Reduce)
	if k.p != nil {
		e.rememberPtr(k)
	} else {
		e.memoPut()
	}
	if err := e.saveTail(c.ListItems, c.DictItems, c.HasState, c.State); err != nil {
		return err
	}
	return e.saveAfter(c.After)
}

// saveAfter writes values discarded after a call or object (py.Call.After):
// each, then POP, as CPython's save_reduce writes a state_setter call.
func (e *encoder) saveAfter(after []any) error {
	for _, v := range after {
		if err := e.save(v); err != nil {
			return withPath(err, ".after")
		}
		e.w1(op.Pop)
	}
	return nil
}

// saveTail writes what follows REDUCE or NEWOBJ, in CPython's save_reduce
// order: list items, dict items, then BUILD state.
func (e *encoder) saveTail(list []any, dict []py.Item, has bool, state any) error {
	if len(list) > 0 {
		if err := saveItems(e, list, func(e *encoder, v any) error { return e.save(v) }); err != nil {
			return withPath(err, ".listitems")
		}
	}
	if len(dict) > 0 {
		err := e.dictItems(len(dict), func(i int) error {
			if err := e.saveKey(dict[i].Key); err != nil {
				return withPath(err, "[key "+strconv.Itoa(i)+"]")
			}
			return e.save(dict[i].Value)
		})
		if err != nil {
			return withPath(err, ".dictitems")
		}
	}
	return e.saveState(has, state)
}

func (e *encoder) saveState(has bool, state any) error {
	if !has {
		return nil
	}
	if err := e.save(state); err != nil {
		return withPath(err, ".state")
	}
	e.w1(op.Build)
	return nil
}

func (e *encoder) saveObject(o *py.Object, k memoKey) error {
	if k.p != nil && e.lookup(k) {
		return nil
	}
	defer e.outOfKey()()
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	hasKw := o.Kwargs.Len() > 0
	switch {
	case e.proto >= 4 || (e.proto >= 2 && !hasKw):
		if err := e.save(o.Class); err != nil {
			return withPath(err, ".class")
		}
		if err := e.saveTuple(o.Args); err != nil {
			return withPath(err, ".args")
		}
		if hasKw {
			if err := e.saveDict(o.Kwargs); err != nil {
				return withPath(err, ".kwargs")
			}
			e.w1(op.NewobjEx)
		} else {
			e.w1(op.Newobj)
		}
	default:
		// Protocols without NEWOBJ(_EX): copyreg.__newobj__(cls, *args)
		// or copyreg.__newobj_ex__(cls, args, kwargs), which Python defines.
		var c py.Call
		if hasKw {
			c = py.Call{Callable: py.CopyregNewobjEx, Args: py.Tuple{o.Class, o.Args, o.Kwargs}}
		} else {
			args := append(py.Tuple{o.Class}, o.Args...)
			c = py.Call{Callable: py.CopyregNewobj, Args: args}
		}
		if err := e.save(c.Callable); err != nil {
			return err
		}
		if err := e.saveTuple(c.Args); err != nil {
			return withPath(err, ".args")
		}
		e.w1(op.Reduce)
	}
	if k.p != nil {
		e.rememberPtr(k)
	} else {
		e.memoPut()
	}
	if err := e.saveTail(o.ListItems, o.DictItems, o.HasState, o.State); err != nil {
		return err
	}
	return e.saveAfter(o.After)
}

func (e *encoder) savePersistent(id any) error {
	if e.proto == 0 {
		s, ok := id.(string)
		if !ok {
			return valueErr(ErrProtocol, "persistent ID must be a str at protocol 0")
		}
		for i := 0; i < len(s); i++ {
			if s[i] == '\n' || s[i] >= 0x80 {
				return valueErr(ErrProtocol, "persistent ID must be ASCII without newline at protocol 0")
			}
		}
		e.copyOut(([]byte("P" + s + "\n")))
		return nil
	}
	// The id itself is not looked up again by the hook.
	hook := e.cfg.persistentID
	e.cfg.persistentID = nil
	err := e.save(id)
	e.cfg.persistentID = hook
	if err != nil {
		return withPath(err, ".pid")
	}
	e.w1(op.Binpersid)
	return nil
}

func (e *encoder) savePickleBuffer(b py.PickleBuffer) error {
	if e.inKey > 0 && !b.ReadOnly {
		return e.unhashable("a writable buffer")
	}
	if e.proto >= 5 && e.cfg.bufferCB != nil && !e.cfg.bufferCB(b) {
		e.w1(op.NextBuffer)
		if b.ReadOnly {
			e.w1(op.ReadonlyBuffer)
		}
		return nil
	}
	if b.ReadOnly {
		_, err := e.saveBytesData(b.Data)
		return err
	}
	return e.saveByteArray(py.ByteArray(b.Data))
}

func (e *encoder) saveComplex(c complex128) error {
	call := py.ComplexCall(c)
	return e.saveCall(&call, memoKey{})
}

func (e *encoder) saveTime(t time.Time) error {
	c, err := py.DatetimeCall(t)
	if err != nil {
		return valueErr(err, err.Error())
	}
	return e.saveCall(&c, memoKey{})
}

func (e *encoder) saveDuration(d time.Duration) error {
	c := py.TimedeltaCall(d)
	return e.saveCall(&c, memoKey{})
}

func sortStrings(a []string) { slices.Sort(a) }

// --- keys ------------------------------------------------------------------

// saveKey writes a dict key: as save, but what Python cannot hash is
// refused (ErrUnhashable), and a Go array is written as a tuple, its
// hashable equivalent.
func (e *encoder) saveKey(k any) error {
	e.inKey++
	err := e.save(k)
	e.inKey--
	return err
}

// outOfKey leaves key mode for the parts of a call or object; the
// returned function restores it.
func (e *encoder) outOfKey() func() {
	if e.inKey == 0 {
		return func() {}
	}
	saved := e.inKey
	e.inKey = 0
	return func() { e.inKey = saved }
}

func (e *encoder) unhashable(what string) error {
	return valueErr(ErrUnhashable, "unhashable type "+what+" as a dict key or set item")
}
