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
	"fmt"
	"io"
	"sync"

	"github.com/segpickle/segpickle/internal/stream"
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
	if l == nil {
		return ErrNilOutput
	}
	if c.threshold != 0 {
		l.SetThreshold(c.threshold)
	}
	e := encPool.Get().(*encoder)
	defer e.release()
	e.ownCfg = c // the encoder's own copy: c stays off the heap
	e.init(l, &e.ownCfg)
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
	if en.w == nil {
		return ErrNilOutput
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

// encoder is the state of one pickle being written: the stream under it,
// the memo of what has been written, and where it is (depth, key mode).
type encoder struct {
	stream.Writer
	cfg    *config
	ownCfg config // EncodeTo's config (cfg points to it)
	proto  int

	memo     ptrTable             // identity memo: pointers, slices, maps, long strings
	strMemo  strTable             // by-value memo: dict keys, singleton strs
	byteMemo map[string]uint32    // by-value memo: empty and one-byte bytes
	globMemo map[py.Global]uint32 // globals, written once each
	inTuple  map[memoKey]bool     // tuples being saved, tracked past trackDepth
	inKey    int                  // > 0 while saving a dict key or set item
	latin1   int64                // memo index of the "latin1" constant + 1
	depth    int
	lastKeys []string          // the sorted keys of the last str-keyed map (read-only)
	recIdx   []uint32          // memo indexes of lastKeys in this pickle (recordIdx)
	recGen   uint32            // the gen recIdx is for
	valBuf   []any             // map values in key order, reused
	recOff   [recordMax]uint16 // the offsets of lastKeys' values in the last small map's group (recordGroup)
	recSlotN int               // len(lastKeys) when recOff is for them, else 0
	recFull  uint64            // the control bytes' high bits of their slots
	recKeys  [8][2]uintptr     // the headers of those keys there (compared only: no pointers)
	sortBufs *keySort          // map items gathered for sorting (takeSort)

	keyCache [keyCacheSize]keyCacheEntry
	gen      uint32 // this encode's generation in keyCache
}

func (e *encoder) init(l *segments.List, c *config) {
	e.gen++
	if e.gen == 0 { // wrapped: entries of generation 0 would look current
		clear(e.keyCache[:])
		e.gen = 1
	}
	e.Writer.Reset(l, c.proto, c.frameSize)
	e.cfg, e.proto = c, c.proto
	e.latin1, e.depth, e.inKey = 0, 0, 0
}

func (e *encoder) release() {
	e.memo.reset()
	e.strMemo.reset()
	clear(e.byteMemo)
	clear(e.globMemo)
	clear(e.inTuple)
	e.Writer.Release()
	e.cfg, e.ownCfg = nil, config{} // no hook of the caller's kept
	if len(e.lastKeys) > 64 {
		e.lastKeys = nil // a record's keys are kept for the next encode; not a big map's
		e.recIdx = nil
	}
	if e.sortBufs != nil && cap(e.sortBufs.pre) > 1<<17 {
		e.sortBufs = nil
	}
	if cap(e.valBuf) > 1<<16 {
		e.valBuf = nil
	}
	clear(e.valBuf[:cap(e.valBuf)]) // drop the values putItems left
	encPool.Put(e)
}

func (e *encoder) run(v any) error {
	e.Begin()
	if err := e.save(v); err != nil {
		e.Flush()
		return err
	}
	e.End()
	return nil
}
