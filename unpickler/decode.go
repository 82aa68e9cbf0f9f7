package unpickler

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/segpickle/segpickle/internal/compat"
	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/internal/stream"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

// Unmarshal decodes the pickle in data into v, which must be a non-nil
// pointer. Bytes after STOP are ignored, as Python's pickle.loads does.
func Unmarshal(data []byte, v any, opts ...Option) error {
	c := newConfig(opts)
	d := machine{src: stream.Bytes(data), cfg: &c}
	val, err := d.run()
	if err != nil {
		return err
	}
	return assign(val, v, &c)
}

// Load decodes the pickle in data into the dynamic value model.
func Load(data []byte, opts ...Option) (any, error) {
	var v any
	err := Unmarshal(data, &v, opts...)
	return v, err
}

// UnmarshalSegments decodes a pickle held in segments without joining
// them: opcodes that straddle two segments are gathered, payloads inside one
// segment are sliced (or, with ZeroCopy, aliased).
func UnmarshalSegments(segs [][]byte, v any, opts ...Option) error {
	c := newConfig(opts)
	d := machine{src: stream.Segments(segs), cfg: &c}
	val, err := d.run()
	if err != nil {
		return err
	}
	return assign(val, v, &c)
}

// UnmarshalList decodes the pickle in a segment list.
func UnmarshalList(l *segments.List, v any, opts ...Option) error {
	return UnmarshalSegments(l.Segments(), v, opts...)
}

// Decoder reads pickles from a stream, one per Decode: pickles written back
// to back decode one after another.
type Decoder struct {
	src stream.Reader
	cfg config
}

// NewDecoder returns a Decoder reading from r. It may read ahead of the
// current pickle.
func NewDecoder(r io.Reader, opts ...Option) *Decoder {
	d := &Decoder{src: stream.FromReader(r), cfg: newConfig(opts)}
	d.cfg.zeroCopy = false
	return d
}

// Decode reads the next pickle into v. At the end of the stream it returns
// io.EOF.
func (dec *Decoder) Decode(v any) error {
	if dec.src.AtEnd() {
		if dec.src.Err() != nil {
			return dec.src.Err()
		}
		return io.EOF
	}
	m := machine{src: dec.src, cfg: &dec.cfg}
	val, err := m.run()
	dec.src = m.src
	if err != nil {
		if m.src.Err() != nil {
			// The input ended because the reader failed: say why.
			return fmt.Errorf("%w (reader: %w)", err, m.src.Err())
		}
		return err
	}
	return assign(val, v, &dec.cfg)
}

// listBox is a list while it is being built: APPENDS may reach it through
// the memo at any time, so it is a pointer until the end, when it becomes
// []any (see finish).
type listBox struct {
	items []any
	done  bool
	out   []any
}

type machine struct {
	src    stream.Reader
	cfg    *config
	stack  []any
	marks  []int
	memo   [][]any        // see memoSlot
	memoX  map[uint32]any // sparse indexes
	nmemo  int
	proto  int
	alloc  int64
	fixups []fixup // see finish
	ints   []int64 // slabs that box decoded values without one allocation each
	floats []float64
	strs   []string
	arena  []byte // string bytes, see str
	opOff  int64
	code   byte
	bufIdx int

	discards []discarded // popped values that may have had an effect (effects.go)
}

func (m *machine) fail(err error, detail string) error {
	return &Error{Offset: m.opOff, Op: m.code, Err: err, Detail: detail}
}

func (m *machine) failf(err error, format string, a ...any) error {
	return m.fail(err, fmt.Sprintf(format, a...))
}

// run executes opcodes until STOP and returns the value left on the stack.
func (m *machine) run() (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, m.failf(ErrInternal, "%v", r)
		}
	}()
	for {
		m.opOff = m.src.Offset()
		c, ok := m.src.Byte()
		if !ok {
			m.code = 0
			return nil, m.fail(ErrNoStop, "")
		}
		m.code = c
		if c == op.Stop {
			v, err := m.pop() // fails if a MARK is above the result, as CPython
			if err != nil {
				return nil, err
			}
			m.discardRest()
			v = m.finish(v)
			if err := m.placeDiscarded(v); err != nil {
				return nil, err
			}
			return v, nil
		}
		if err := m.step(c); err != nil {
			return nil, err
		}
		if len(m.stack) > m.cfg.maxStack {
			return nil, m.failf(ErrLimit, "stack over %d values", m.cfg.maxStack)
		}
	}
}

func (m *machine) push(v any) { m.stack = append(m.stack, v) }

func (m *machine) pop() (any, error) {
	n := len(m.stack)
	if n == 0 || (len(m.marks) > 0 && m.marks[len(m.marks)-1] >= n) {
		return nil, m.fail(ErrStackUnderflow, "")
	}
	v := m.stack[n-1]
	m.stack = m.stack[:n-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	n := len(m.stack)
	if n == 0 || (len(m.marks) > 0 && m.marks[len(m.marks)-1] >= n) {
		return nil, m.fail(ErrStackUnderflow, "")
	}
	return m.stack[n-1], nil
}

// popMark returns the items above the topmost MARK and removes them and
// the mark. The slice aliases the stack: copy before pushing again.
func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, m.fail(ErrNoMark, "")
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := m.stack[k:]
	m.stack = m.stack[:k]
	return items, nil
}

func (m *machine) need(n int64) ([]byte, error) {
	b, _, ok := m.src.Read(n)
	if !ok {
		return nil, m.failf(ErrTruncated, "need %d bytes", n)
	}
	return b, nil
}

func (m *machine) u8() (byte, error) {
	c, ok := m.src.Byte()
	if !ok {
		return 0, m.fail(ErrTruncated, "need 1 byte")
	}
	return c, nil
}

// payload reads an n-byte payload after checking the limits; copy says
// whether the result must be a private copy.
func (m *machine) payload(n uint64, copyOut bool) ([]byte, error) {
	if n > uint64(m.cfg.maxLength) {
		return nil, m.failf(ErrLimit, "length %d over MaxLength %d", n, m.cfg.maxLength)
	}
	if a := m.src.Available(); a >= 0 && uint64(a) < n {
		return nil, m.failf(ErrTruncated, "length %d, only %d bytes left", n, a)
	}
	b, where, ok := m.src.Read(int64(n))
	if !ok {
		return nil, m.failf(ErrTruncated, "length %d", n)
	}
	if copyOut && (where == stream.Transient || (where == stream.InInput && !m.cfg.zeroCopy)) {
		if err := m.charge(int64(n)); err != nil {
			return nil, err
		}
		c := make([]byte, len(b))
		copy(c, b)
		b = c
	}
	return b, nil
}

func (m *machine) charge(n int64) error {
	m.alloc += n
	if m.alloc > m.cfg.maxAlloc {
		return m.failf(ErrLimit, "allocation over MaxAlloc %d", m.cfg.maxAlloc)
	}
	return nil
}

// line reads a text-protocol argument. Its bound is MaxLength: a
// protocol-0 pickle carries a whole str or long on one line.
func (m *machine) line() ([]byte, error) {
	l, ok, tooLong := m.src.ReadLine(int(min(m.cfg.maxLength, 1<<62)))
	if tooLong {
		return nil, m.failf(ErrLimit, "line over MaxLength %d", m.cfg.maxLength)
	}
	if !ok {
		return nil, m.fail(ErrTruncated, "no newline")
	}
	return l, nil
}

// --- memo ------------------------------------------------------------------

// The memo is dense for indexes near the number of entries: chunks of
// memoChunk slots (the first one grows by doubling), so it grows without
// copying what it holds. Indexes far beyond the count go to a map, so that
// index 2^32-1 costs one entry, not a 4-G-entry table.
const memoChunk = 1024

// memoSlot returns the dense slot for idx, allocating its chunk when idx
// is near enough to the count; nil when idx belongs to the sparse map.
func (m *machine) memoSlot(idx uint32, create bool) *any {
	c, o := int(idx/memoChunk), int(idx%memoChunk)
	if c < len(m.memo) && o < len(m.memo[c]) {
		return &m.memo[c][o]
	}
	if !create || int(idx) > 2*m.nmemo+2*memoChunk {
		return nil
	}
	for len(m.memo) <= c {
		m.memo = append(m.memo, nil)
	}
	if c == 0 {
		grown := make([]any, min(memoChunk, max(64, 2*len(m.memo[0]), o+1)))
		copy(grown, m.memo[0])
		m.memo[0] = grown
	} else {
		m.memo[c] = make([]any, memoChunk)
	}
	return &m.memo[c][o]
}

func (m *machine) memoPut(i uint64, v any) error {
	if i > math.MaxUint32 {
		return m.failf(ErrBadArgument, "memo index %d", i)
	}
	idx := uint32(i)
	if p := m.memoSlot(idx, false); p != nil && *p != nil {
		*p = memoVal(v) // overwrite: no new entry
		return nil
	}
	if _, ok := m.memoX[idx]; ok {
		m.memoX[idx] = memoVal(v)
		return nil
	}
	if m.nmemo >= m.cfg.maxMemo {
		return m.failf(ErrLimit, "memo over %d entries", m.cfg.maxMemo)
	}
	m.nmemo++
	if p := m.memoSlot(idx, true); p != nil {
		*p = memoVal(v)
		return nil
	}
	if m.memoX == nil {
		m.memoX = make(map[uint32]any)
	}
	m.memoX[idx] = memoVal(v)
	return nil
}

// nilMemo stands for a memoized None: nil marks an empty slot.
type nilMemo struct{}

func memoVal(v any) any {
	if v == nil {
		return nilMemo{}
	}
	return v
}

func (m *machine) memoGet(i uint64) error {
	var v any
	if i <= math.MaxUint32 {
		if p := m.memoSlot(uint32(i), false); p != nil {
			v = *p
		}
		if v == nil && m.memoX != nil {
			v = m.memoX[uint32(i)]
		}
	}
	if v == nil {
		return m.failf(ErrMissingMemo, "index %d", i)
	}
	if _, ok := v.(nilMemo); ok {
		v = nil
	}
	m.push(v)
	return nil
}

// --- opcodes ------------------------------------------------------------------

func (m *machine) step(c byte) error {
	switch c {
	case op.Proto:
		p, err := m.u8()
		if err != nil {
			return err
		}
		if p > op.HighestProtocol {
			return m.failf(ErrBadArgument, "unsupported protocol %d", p)
		}
		m.proto = int(p)
	case op.Frame:
		b, err := m.need(8)
		if err != nil {
			return err
		}
		n := binary.LittleEndian.Uint64(b)
		if a := m.src.Available(); a >= 0 && uint64(a) < n {
			return m.failf(ErrTruncated, "frame of %d bytes, only %d left", n, a)
		}
	case op.None:
		m.push(nil)
	case op.Newtrue:
		m.push(true)
	case op.Newfalse:
		m.push(false)
	case op.Binint1:
		b, err := m.u8()
		if err != nil {
			return err
		}
		m.push(int64(b))
	case op.Binint2:
		b, err := m.need(2)
		if err != nil {
			return err
		}
		m.push(m.boxInt(int64(binary.LittleEndian.Uint16(b))))
	case op.Binint:
		b, err := m.need(4)
		if err != nil {
			return err
		}
		m.push(m.boxInt(int64(int32(binary.LittleEndian.Uint32(b)))))
	case op.Long1:
		n, err := m.u8()
		if err != nil {
			return err
		}
		return m.long(uint64(n))
	case op.Long4:
		b, err := m.need(4)
		if err != nil {
			return err
		}
		n := int32(binary.LittleEndian.Uint32(b))
		if n < 0 {
			return m.failf(ErrBadArgument, "negative length %d", n)
		}
		return m.long(uint64(n))
	case op.Int:
		return m.textInt()
	case op.Long:
		l, err := m.line()
		if err != nil {
			return err
		}
		v, ok := textLongValue(l) // as CPython reads it (textnum.go)
		if !ok {
			return m.failf(ErrBadArgument, "bad LONG %q", truncate(l))
		}
		m.push(v)
	case op.Binfloat:
		b, err := m.need(8)
		if err != nil {
			return err
		}
		m.push(m.boxFloat(math.Float64frombits(binary.BigEndian.Uint64(b))))
	case op.Float:
		l, err := m.line()
		if err != nil {
			return err
		}
		f, ok := textFloatValue(l) // as CPython reads it (textnum.go)
		if !ok {
			return m.failf(ErrBadArgument, "bad FLOAT %q", truncate(l))
		}
		m.push(f)
	case op.ShortBinunicode, op.Binunicode, op.Binunicode8:
		n, err := m.length(c)
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
		m.push(m.boxString(m.str(b)))
	case op.Unicode:
		l, err := m.line()
		if err != nil {
			return err
		}
		s, ok := rawUnicodeEscape(l)
		if !ok {
			return m.failf(ErrBadArgument, "bad raw-unicode-escape %q", truncate(l))
		}
		m.push(s)
	case op.ShortBinbytes, op.Binbytes, op.Binbytes8:
		n, err := m.length(c)
		if err != nil {
			return err
		}
		b, err := m.payload(n, true)
		if err != nil {
			return err
		}
		m.push(b)
	case op.Bytearray8:
		n, err := m.length(c)
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
	case op.ShortBinstring, op.Binstring:
		n, err := m.length(c)
		if err != nil {
			return err
		}
		b, err := m.payload(n, true)
		if err != nil {
			return err
		}
		m.push(py.ByteString(b))
	case op.String:
		l, err := m.line()
		if err != nil {
			return err
		}
		b, ok := parseStringLiteral(l)
		if !ok {
			return m.failf(ErrBadArgument, "bad STRING %q", truncate(l))
		}
		m.push(py.ByteString(b))
	case op.NextBuffer:
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
	case op.ReadonlyBuffer:
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
	case op.EmptyList:
		m.push(m.newBox(nil))
	case op.EmptyTuple:
		m.push(py.Tuple{})
	case op.EmptyDict:
		m.push(py.NewDict(0))
	case op.EmptySet:
		m.push(py.NewSet())
	case op.Mark:
		if len(m.marks) >= m.cfg.maxDepth {
			return m.failf(ErrLimit, "MARK nesting over %d", m.cfg.maxDepth)
		}
		m.marks = append(m.marks, len(m.stack))
	case op.PopMark:
		items, err := m.popMark()
		for _, it := range items {
			m.discard(it) // see effects.go
		}
		return err
	case op.Pop:
		if len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack) {
			// As CPython: POP with nothing above the mark discards the mark.
			m.marks = m.marks[:len(m.marks)-1]
			return nil
		}
		v, err := m.pop()
		if err == nil {
			m.discard(v) // see effects.go
		}
		return err
	case op.Dup:
		v, err := m.top()
		if err != nil {
			return err
		}
		m.push(v)
	case op.Tuple:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		t := py.Tuple(append(make([]any, 0, len(items)), items...))
		m.noteTuple(t)
		m.push(t)
	case op.Tuple1, op.Tuple2, op.Tuple3:
		n := int(c-op.Tuple1) + 1
		if len(m.stack)-n < m.floor() {
			return m.fail(ErrStackUnderflow, "")
		}
		t := make(py.Tuple, n)
		copy(t, m.stack[len(m.stack)-n:])
		m.stack = m.stack[:len(m.stack)-n]
		m.noteTuple(t)
		m.push(t)
	case op.List:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		m.push(m.newBox(append(make([]any, 0, len(items)), items...)))
	case op.Dict:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return m.fail(ErrBadArgument, "odd number of items for DICT")
		}
		d := py.NewDict(len(items) / 2)
		for i := 0; i < len(items); i += 2 {
			if err := m.setItem(d, items[i], items[i+1]); err != nil {
				return err
			}
		}
		m.push(d)
	case op.Frozenset:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		f := py.NewFrozenSet()
		for _, it := range items {
			it, err := m.hashKey(it)
			if err != nil {
				return err
			}
			f.Add(it)
		}
		m.push(f)
	case op.Append:
		v, err := m.pop()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		return m.appendTo(t, []any{v})
	case op.Appends:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		return m.appendTo(t, items)
	case op.Setitem:
		v, err := m.pop()
		if err != nil {
			return err
		}
		k, err := m.pop()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		return m.setItems(t, []any{k, v})
	case op.Setitems:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return m.fail(ErrBadArgument, "odd number of items for SETITEMS")
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		return m.setItems(t, items)
	case op.Additems:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		s, ok := t.(*py.Set)
		if !ok {
			return m.failf(ErrBadType, "ADDITEMS on %s", typeName(t))
		}
		for _, it := range items {
			it, err := m.hashKey(it)
			if err != nil {
				return err
			}
			s.Add(it)
		}
	case op.Get:
		l, err := m.line()
		if err != nil {
			return err
		}
		i, ok := memoIndexText(l) // as CPython reads it (textnum.go)
		if !ok {
			return m.failf(ErrBadArgument, "bad GET %q", truncate(l))
		}
		return m.memoGet(i)
	case op.Binget:
		b, err := m.u8()
		if err != nil {
			return err
		}
		return m.memoGet(uint64(b))
	case op.LongBinget:
		b, err := m.need(4)
		if err != nil {
			return err
		}
		return m.memoGet(uint64(binary.LittleEndian.Uint32(b)))
	case op.Put:
		l, err := m.line()
		if err != nil {
			return err
		}
		i, ok := memoIndexText(l) // as CPython reads it (textnum.go)
		if !ok {
			return m.failf(ErrBadArgument, "bad PUT %q", truncate(l))
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(i, v)
	case op.Binput:
		b, err := m.u8()
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(uint64(b), v)
	case op.LongBinput:
		b, err := m.need(4)
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(uint64(binary.LittleEndian.Uint32(b)), v)
	case op.Memoize:
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(uint64(m.nmemo), v)
	case op.Global:
		g, err := m.namePair()
		if err != nil {
			return err
		}
		m.push(g)
	case op.StackGlobal:
		name, err := m.pop()
		if err != nil {
			return err
		}
		mod, err := m.pop()
		if err != nil {
			return err
		}
		g, err := m.stackGlobal(mod, name)
		if err != nil {
			return err
		}
		m.push(g)
	case op.Ext1, op.Ext2, op.Ext4:
		return m.ext(c)
	case op.Reduce:
		args, err := m.pop()
		if err != nil {
			return err
		}
		callable, err := m.pop()
		if err != nil {
			return err
		}
		t, ok := args.(py.Tuple)
		if !ok {
			return m.failf(ErrBadType, "REDUCE arguments must be a tuple, got %s", typeName(args))
		}
		v, err := m.call(callable, t)
		if err != nil {
			return err
		}
		m.push(v)
	case op.Newobj:
		args, err := m.pop()
		if err != nil {
			return err
		}
		cls, err := m.pop()
		if err != nil {
			return err
		}
		t, ok := args.(py.Tuple)
		if !ok {
			return m.failf(ErrBadType, "NEWOBJ arguments must be a tuple, got %s", typeName(args))
		}
		m.push(m.newObject(cls, t, nil))
	case op.NewobjEx:
		kw, err := m.pop()
		if err != nil {
			return err
		}
		args, err := m.pop()
		if err != nil {
			return err
		}
		cls, err := m.pop()
		if err != nil {
			return err
		}
		t, ok := args.(py.Tuple)
		d, ok2 := kw.(*py.Dict)
		if !ok || !ok2 {
			return m.failf(ErrBadType, "NEWOBJ_EX needs a tuple and a dict, got %s and %s", typeName(args), typeName(kw))
		}
		m.push(m.newObject(cls, t, d))
	case op.Inst:
		g, err := m.namePair()
		if err != nil {
			return err
		}
		items, err := m.popMark()
		if err != nil {
			return err
		}
		m.push(m.instantiate(g, py.Tuple(append([]any(nil), items...))))
	case op.Obj:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return m.fail(ErrStackUnderflow, "OBJ without a class")
		}
		cls := items[0]
		m.push(m.instantiate(cls, py.Tuple(append([]any(nil), items[1:]...))))
	case op.Build:
		state, err := m.pop()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		switch o := t.(type) {
		case *py.Call:
			if err := m.secondBuild(o.HasState, o.State, state); err != nil || state == nil && o.HasState {
				return err
			}
			o.State, o.HasState = state, true
			if needsFix(state) {
				m.note(o, 0, partState)
			}
		case *py.Object:
			if err := m.secondBuild(o.HasState, o.State, state); err != nil || state == nil && o.HasState {
				return err
			}
			o.State, o.HasState = state, true
			if needsFix(state) {
				m.note(o, 0, partState)
			}
		default:
			if state == nil {
				return nil // as CPython: BUILD with None does nothing, to anything
			}
			return m.failf(ErrBadType, "BUILD on %s", typeName(t))
		}
	case op.Persid:
		l, err := m.line()
		if err != nil {
			return err
		}
		if err := m.checkPersid(l); err != nil {
			return err
		}
		return m.persistent(string(l))
	case op.Binpersid:
		id, err := m.pop()
		if err != nil {
			return err
		}
		return m.persistent(id)
	default:
		return m.fail(ErrUnknownOpcode, fmt.Sprintf("byte 0x%02x", c))
	}
	return nil
}

// floor is the lowest stack index the current opcode may consume.
func (m *machine) floor() int {
	if len(m.marks) > 0 {
		return m.marks[len(m.marks)-1]
	}
	return 0
}

func (m *machine) newBox(items []any) *listBox {
	b := &listBox{items: items}
	for i, it := range items {
		if needsFix(it) {
			m.note(b, i, partItems)
		}
	}
	return b
}

// noteTuple records the tuple's slots that need a fixup.
func (m *machine) noteTuple(t py.Tuple) {
	for i, it := range t {
		if needsFix(it) {
			m.note(t, i, partItems)
		}
	}
}

func (m *machine) length(c byte) (uint64, error) {
	switch c {
	case op.ShortBinunicode, op.ShortBinbytes, op.ShortBinstring:
		b, err := m.u8()
		return uint64(b), err
	case op.Binunicode, op.Binbytes:
		b, err := m.need(4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.LittleEndian.Uint32(b)), nil
	case op.Binstring:
		b, err := m.need(4)
		if err != nil {
			return 0, err
		}
		n := int32(binary.LittleEndian.Uint32(b))
		if n < 0 {
			return 0, m.failf(ErrBadArgument, "negative length %d", n)
		}
		return uint64(n), nil
	default: // 8-byte lengths
		b, err := m.need(8)
		if err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b), nil
	}
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
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return normInt(v)
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

func (m *machine) namePair() (py.Global, error) {
	mod, err := m.line()
	if err != nil {
		return py.Global{}, err
	}
	ms := string(mod) // copy before the next read may reuse the buffer
	name, err := m.line()
	if err != nil {
		return py.Global{}, err
	}
	ns := string(name)
	if err := m.checkNames(ms, ns); err != nil {
		return py.Global{}, err
	}
	if m.proto < 3 {
		ms, ns = compat.ToPy3(ms, ns)
	}
	return py.Global{Module: ms, Name: ns}, nil
}

func (m *machine) ext(c byte) error {
	var code int64
	switch c {
	case op.Ext1:
		b, err := m.u8()
		if err != nil {
			return err
		}
		code = int64(b)
	case op.Ext2:
		b, err := m.need(2)
		if err != nil {
			return err
		}
		code = int64(binary.LittleEndian.Uint16(b))
	default:
		b, err := m.need(4)
		if err != nil {
			return err
		}
		code = int64(int32(binary.LittleEndian.Uint32(b)))
	}
	g, ok := m.cfg.extensions[int32(code)]
	if !ok || code <= 0 {
		return m.failf(ErrExtension, "code %d", code)
	}
	m.push(g)
	return nil
}

func (m *machine) persistent(id any) error {
	if b, ok := id.(*listBox); ok {
		id = b.final() // a persistent id is a value, not a container
	}
	if m.cfg.persistentLoad == nil {
		m.push(py.PersistentID{ID: id})
		return nil
	}
	v, err := m.cfg.persistentLoad(id)
	if err != nil {
		return m.failf(ErrPersistent, "%v", err)
	}
	m.push(v)
	return nil
}

func (m *machine) hashable(k any) error {
	if _, ok := py.Key(k); !ok {
		return m.failf(ErrUnhashable, "%s", typeName(k))
	}
	return nil
}

func (m *machine) setItem(d *py.Dict, k, v any) error {
	if _, isStr := k.(string); !isStr {
		var err error
		if k, err = m.hashKey(k); err != nil {
			return err
		}
	}
	i, old, replaced := d.Swap(k, v)
	if replaced {
		m.discard(old) // d[k] set twice: building the first value may have had an effect
	}
	if needsFix(v) {
		m.note(d, i, partItems)
	}
	return nil
}

func (m *machine) setItems(t any, items []any) error {
	switch d := t.(type) {
	case *py.Dict:
		d.Grow(len(items) / 2)
		for i := 0; i < len(items); i += 2 {
			if err := m.setItem(d, items[i], items[i+1]); err != nil {
				return err
			}
		}
	case *py.Call:
		m.addDictItems(d, &d.DictItems, items)
	case *py.Object:
		m.addDictItems(d, &d.DictItems, items)
	default:
		return m.failf(ErrBadType, "SETITEM(S) on %s", typeName(t))
	}
	return nil
}

func (m *machine) appendTo(t any, items []any) error {
	switch l := t.(type) {
	case *listBox:
		if l.done {
			return m.fail(ErrBadType, "APPEND to a finished list") // cannot happen before STOP
		}
		for i, it := range items {
			if needsFix(it) {
				m.note(l, len(l.items)+i, partItems)
			}
		}
		if need := len(l.items) + len(items); need > cap(l.items) {
			// Double: append's 1.25× growth for large slices copies a
			// list of 100,000 items five times over.
			grown := make([]any, len(l.items), max(need, 2*cap(l.items)))
			copy(grown, l.items)
			l.items = grown
		}
		l.items = append(l.items, items...)
	case *py.Call:
		m.addListItems(l, &l.ListItems, items)
	case *py.Object:
		m.addListItems(l, &l.ListItems, items)
	default:
		return m.failf(ErrBadType, "APPEND(S) on %s", typeName(t))
	}
	return nil
}

// addDictItems records SETITEM(S) on a Call or Object (owner).
func (m *machine) addDictItems(owner any, dst *[]py.Item, items []any) {
	for i := 0; i < len(items); i += 2 {
		if needsFix(items[i+1]) {
			m.note(owner, len(*dst), partDictItems)
		}
		*dst = append(*dst, py.Item{Key: items[i], Value: items[i+1]})
	}
}

// addListItems records APPEND(S) on a Call or Object (owner).
func (m *machine) addListItems(owner any, dst *[]any, items []any) {
	for i, it := range items {
		if needsFix(it) {
			m.note(owner, len(*dst)+i, partListItems)
		}
	}
	*dst = append(*dst, items...)
}

// typeName is the Python type name of a decoded value, for messages.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case complex128:
		return "complex"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case py.ByteArray:
		return "bytearray"
	case py.ByteString:
		return "str (Python 2)"
	case *listBox, []any:
		return "list"
	case py.Tuple:
		return "tuple"
	case *py.Dict:
		return "dict"
	case *py.Set:
		return "set"
	case *py.FrozenSet:
		return "frozenset"
	case py.Global:
		return "global " + x.String()
	case *py.Call:
		return "call result"
	case *py.Object:
		return "object"
	case py.PickleBuffer, py.OutOfBand:
		return "buffer"
	case py.PersistentID:
		return "persistent id"
	}
	return fmt.Sprintf("%T", v)
}
