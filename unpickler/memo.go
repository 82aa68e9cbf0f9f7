// Handlers of the memo opcodes (PUT, GET and their binary forms, MEMOIZE)
// and the memo itself.

package unpickler

import (
	"encoding/binary"
	"math"
	"sync"
	"unsafe"
)

func (m *machine) opGet() error {
	l, err := m.line()
	if err != nil {
		return err
	}
	i, ok := memoIndexText(l) // as CPython reads it (textnum.go)
	if !ok {
		return m.failf(ErrBadArgument, "bad GET %q", truncate(l))
	}
	return m.memoGet(i)
}

func (m *machine) opBinget() error {
	b, err := m.u8()
	if err != nil {
		return err
	}
	return m.memoGet(uint64(b))
}

func (m *machine) opLongBinget() error {
	b, err := m.need(4)
	if err != nil {
		return err
	}
	return m.memoGet(uint64(binary.LittleEndian.Uint32(b)))
}

func (m *machine) opPut() error {
	l, err := m.line()
	if err != nil {
		return err
	}
	i, ok := memoIndexText(l) // as CPython reads it (textnum.go)
	if !ok {
		return m.failf(ErrBadArgument, "bad PUT %q", truncate(l))
	}
	v, err := m.memoTop()
	if err != nil {
		return err
	}
	return m.memoPut(i, v)
}

func (m *machine) opBinput() error {
	b, err := m.u8()
	if err != nil {
		return err
	}
	v, err := m.memoTop()
	if err != nil {
		return err
	}
	return m.memoPut(uint64(b), v)
}

func (m *machine) opLongBinput() error {
	b, err := m.need(4)
	if err != nil {
		return err
	}
	v, err := m.memoTop()
	if err != nil {
		return err
	}
	return m.memoPut(uint64(binary.LittleEndian.Uint32(b)), v)
}

func (m *machine) opMemoize() error {
	v, err := m.memoTop()
	if err != nil {
		return err
	}
	return m.memoPut(uint64(m.nmemo), v)
}

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
	if !create || int64(idx) > 2*int64(m.nmemo)+2*memoChunk {
		return nil
	}
	for len(m.memo) <= c {
		m.memo = append(m.memo, nil)
	}
	if c == 0 {
		// The first sized from the input (an entry takes 2 bytes of it at
		// least), then doubling.
		first := int(min(64, max(8, m.sizeHint()/2)))
		grown := make([]any, min(memoChunk, max(first, 2*len(m.memo[0]), o+1)))
		copy(grown, m.memo[0])
		m.memo[0] = grown
	} else {
		m.memo[c] = newMemoChunk()
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
		m.memoGen++     // (a keyHit made before may name another field now)
		return nil
	}
	if len(m.runs) == 0 && m.memoX == nil && int(idx) == m.nmemo && m.nmemo < m.cfg.maxMemo {
		// The common case, MEMOIZE: the next entry, nothing elsewhere.
		m.nmemo++
		if p := m.memoSlot(idx, true); p != nil {
			*p = memoVal(v)
			return nil
		}
		m.nmemo--
	}
	if len(m.runs) > 0 {
		if _, inRun := m.runGet(idx); inRun {
			// Overwrite an entry kept in a run: the dense slot, read
			// first, takes precedence.
			if p := m.memoSlot(idx, true); p != nil {
				*p = memoVal(v)
				return nil
			}
		}
	}
	if m.memoX != nil {
		if _, ok := m.memoX[idx]; ok {
			m.memoX[idx] = memoVal(v)
			return nil
		}
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

// pendingDict holds the memo entry of a dict that smallDict has not made
// yet; it is replaced before the machine runs again (fillPending), and
// dynGet leaves it to the machine (which then never sees it).
type pendingDict struct{}

// fillPending replaces the placeholder at memo entry idx by d, unless the
// entry was put again since.
func (m *machine) fillPending(idx uint64, d any) {
	// The common case inline: a dense slot (memoSlot's).
	if c := idx / memoChunk; c < uint64(len(m.memo)) {
		if s := m.memo[c]; idx%memoChunk < uint64(len(s)) && isPending(s[idx%memoChunk]) {
			s[idx%memoChunk] = d
			return
		}
	}
	m.fillPendingSlow(idx, d)
}

func (m *machine) fillPendingSlow(idx uint64, d any) {
	if p := m.memoSlot(uint32(idx), false); p != nil && *p != nil {
		if _, ok := (*p).(pendingDict); ok {
			*p = d
		}
		return
	}
	if v, ok := m.memoX[uint32(idx)]; ok {
		if _, ok := v.(pendingDict); ok {
			m.memoX[uint32(idx)] = d
		}
	}
}

// memoizeNext is MEMOIZE's common case (memoPut's first one), inline: the
// next entry, not None, goes in a dense chunk that has room for it, with
// no run or sparse entry to look at. False when memoPut must do it. It is
// small enough for the compiler to inline in the loops.
func (m *machine) memoizeNext(v any) bool {
	n := m.nmemo
	if c := n / memoChunk; c < len(m.memo) && len(m.runs) == 0 && m.memoX == nil && n < m.cfg.maxMemo {
		if s := m.memo[c]; n%memoChunk < len(s) && s[n%memoChunk] == nil && v != nil { // None: memoPut
			s[n%memoChunk] = v
			m.nmemo++
			return true
		}
	}
	return false
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
	if v == nil && i <= math.MaxUint32 {
		v, _ = m.runGet(uint32(i))
	}
	if v == nil {
		return m.failf(ErrMissingMemo, "index %d", i)
	}
	switch x := v.(type) {
	case nilMemo:
		v = nil
	case *string: // typed path: a str kept in its slot (see memoRun)
		m.pushStr(*x)
		return nil
	}
	if m.typed {
		if r, ok := m.memoRef(v); ok {
			v = r
		}
	}
	m.push(v)
	return nil
}

// memoTop is the value PUT and MEMOIZE record: the top of the stack, or
// on the typed path what a marker there stands for.
func (m *machine) memoTop() (any, error) {
	v, err := m.top()
	if err == nil && m.typed {
		if _, ok := v.(written); ok {
			return m.readBack()
		}
	}
	return v, err
}

// A memoRun keeps memo entries lo … lo+n-1 as the strs in slots slot …
// slot+n-1 of a typed list (f), or of a slab of strs (base, when f is
// nil: a typed map's memoized keys): the typed path's way to memoize
// 100,000 strs without a memo slot and a box each. On the dynamic path,
// the entries are the items in slots slot … slot+n-1 of a list box (box):
// the values a batch appended, which nothing changes once appended.
//
// With pat set, the run is over the structs of a list of structs read in
// line (inline.go): each element made len(pat) entries, pat[k] saying
// what entry k of an element is (patGet).
type memoRun struct {
	lo, n uint32
	f     *tframe
	base  *string
	box   *listBox
	slot  int
	pat   []int16

	// With ends set, the run is over strs in an arena chunk (abase), one
	// after another from offset start, entry k ending at ends[k]: a typed
	// map's keys (fastKeyFloats), 4 pointer-free bytes each.
	abase *byte
	start uint32
	ends  []uint32
}

// end is the offset after an arena run's last str.
func (r *memoRun) end() int {
	if len(r.ends) == 0 {
		return int(r.start)
	}
	return int(r.ends[len(r.ends)-1])
}

// runAdd records memo entry idx as slot of list frame f; false when idx
// is taken (the caller then stores it the ordinary way).
func (m *machine) runAdd(idx uint32, f *tframe, slot int) bool {
	return m.runAddAt(idx, f, nil, slot)
}

// keyRun memoizes s, a map key just read, as entry idx: s goes into the
// slab of strs and the entry into a run over it; false when it cannot.
func (m *machine) keyRun(idx uint32, s string) bool {
	if m.nmemo >= m.cfg.maxMemo {
		return false
	}
	if len(m.strs) == cap(m.strs) {
		m.strs = make([]string, 0, m.slabCap())
	}
	base := unsafe.SliceData(m.strs)
	if !m.runAddAt(idx, nil, base, len(m.strs)) {
		return false
	}
	m.strs = append(m.strs, s)
	return true
}

func (m *machine) runAddAt(idx uint32, f *tframe, base *string, slot int) bool {
	return m.runAddRun(idx, memoRun{f: f, base: base, slot: slot})
}

// boxRun records memo entry idx as slot of list box b (dynamic path);
// false when idx is taken.
func (m *machine) boxRun(idx uint32, b *listBox, slot int) bool {
	return m.runAddRun(idx, memoRun{box: b, slot: slot})
}

// runAddRun records memo entry idx as the slot that t names.
func (m *machine) runAddRun(idx uint32, t memoRun) bool {
	f, base, box, slot := t.f, t.base, t.box, t.slot
	if p := m.memoSlot(idx, false); p != nil && *p != nil {
		return false
	}
	if _, ok := m.memoX[idx]; ok {
		return false
	}
	if n := len(m.runs); n > 0 {
		r := &m.runs[n-1]
		if r.lo+r.n == idx && r.f == f && r.base == base && r.box == box && r.slot+int(r.n) == slot && r.pat == nil && r.ends == nil {
			r.n++
			m.nmemo++
			return true
		}
		if idx < r.lo+r.n {
			return false // runs stay sorted by index
		}
	}
	m.runs = append(m.runs, memoRun{lo: idx, n: 1, f: f, base: base, box: box, slot: slot})
	m.nmemo++
	return true
}

// lastRun is the run made last, nil when there is none.
func (m *machine) lastRun() *memoRun {
	if n := len(m.runs); n > 0 {
		return &m.runs[n-1]
	}
	return nil
}

// memoFree reports whether neither the dense memo nor the sparse map
// holds entry idx (runAddRun's test, for an index past the last run).
func (m *machine) memoFree(idx uint32) bool {
	c, o := int(idx/memoChunk), int(idx%memoChunk)
	if c < len(m.memo) && o < len(m.memo[c]) && m.memo[c][o] != nil {
		return false
	}
	if m.memoX != nil {
		if _, ok := m.memoX[idx]; ok {
			return false
		}
	}
	return true
}

// runGet returns memo entry idx when a run holds it.
func (m *machine) runGet(idx uint32) (any, bool) {
	rs := m.runs
	lo, hi := 0, len(rs)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if rs[h].lo+rs[h].n <= idx {
			lo = h + 1
		} else {
			hi = h
		}
	}
	if lo < len(rs) && rs[lo].lo <= idx {
		r := &rs[lo]
		if r.pat != nil {
			return m.patGet(r, idx), true
		}
		if r.ends != nil {
			k := idx - r.lo
			from := r.start
			if k > 0 {
				from = r.ends[k-1]
			}
			if r.ends[k] == from {
				return "", true
			}
			return m.boxString(unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(r.abase), from)), int(r.ends[k]-from))), true
		}
		if r.box != nil {
			return r.box.items[r.slot+int(idx-r.lo)], true
		}
		if r.f == nil {
			return (*string)(unsafe.Add(unsafe.Pointer(r.base), uintptr(r.slot+int(idx-r.lo))*unsafe.Sizeof(""))), true
		}
		return (*string)(r.f.elemPtr(r.slot + int(idx-r.lo))), true
	}
	return nil, false
}

// memoStr is memo entry idx when it is a str (in a slot or a run).
func (m *machine) memoStr(idx uint32) (string, bool) {
	if p := m.memoSlot(idx, false); p != nil && *p != nil {
		switch x := (*p).(type) {
		case string:
			return x, true
		case *string:
			return *x, true
		}
		return "", false
	}
	if v, ok := m.runGet(idx); ok {
		switch x := v.(type) {
		case string:
			return x, true
		case *string:
			return *x, true
		}
	}
	return "", false
}

// unrunBox turns the memo entries that runs keep in slots from slot base
// on of box b (a batch not appended after all: its items go back to the
// stack) into ordinary entries.
func (m *machine) unrunBox(b *listBox, base int) {
	for len(m.runs) > 0 {
		r := &m.runs[len(m.runs)-1]
		if r.box != b || r.slot+int(r.n) <= base {
			return
		}
		keep := max(base-r.slot, 0)
		lo, n := r.lo, int(r.n)
		vals := append([]any(nil), b.items[r.slot+keep:r.slot+n]...)
		if keep == 0 {
			m.runs = m.runs[:len(m.runs)-1]
		} else {
			r.n = uint32(keep)
		}
		for j, v := range vals {
			idx := lo + uint32(keep+j)
			if !m.memoFree(idx) {
				continue // put again since (the slot is read first): that value stays, counted once
			}
			m.nmemo-- // memoPut counts it again
			_ = m.memoPut(uint64(idx), v)
		}
	}
}

func isPending(v any) bool {
	_, ok := v.(pendingDict)
	return ok
}

// memoPool keeps the full chunks of the memos of finished dynamic decodes
// for the next ones: 10,000 records of 4 memo entries each fill 40 chunks
// (640 KB) a decode, which set the collector's pace as much as the values
// did. Chunks come back cleared, so a pooled chunk pins no decoded value.
var memoPool sync.Pool // of *[]any, memoChunk long, every element nil

func newMemoChunk() []any {
	if p, ok := memoPool.Get().(*[]any); ok {
		return *p
	}
	return make([]any, memoChunk)
}

// maxPooledChunks bounds the chunks one decode gives back (4 MB): those
// of a larger memo are left to the collector.
const maxPooledChunks = 256

// releaseMemo clears m's full memo chunks and pools them.
func (m *machine) releaseMemo() {
	for i, ch := range m.memo[:min(len(m.memo), maxPooledChunks)] {
		if len(ch) == memoChunk {
			clear(ch)
			memoPool.Put(&ch)
		}
		m.memo[i] = nil
	}
	m.memo = nil
}
