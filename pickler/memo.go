package pickler

import (
	"hash/maphash"
	"reflect"
	"unsafe"
)

// memoKey identifies a Go object for the memo: its address, and for slices
// the length and element type, so that a struct and its first field, or a
// slice and a shorter re-slice of it, stay apart.
type memoKey struct {
	p unsafe.Pointer
	n int
	t uintptr
}

// typeID returns a number unique to t.
func typeID(t reflect.Type) uintptr {
	return uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1])
}

type memoEntry struct {
	k   memoKey // k.p == nil: empty slot
	idx uint32
}

// ptrTable is an open-addressing hash table from memoKey to memo index: the
// memo is consulted for every container, and a Go map with an interface in
// its key costs several times more. Entries hold their pointer, so an object
// made during encoding cannot be freed and its address reused while the
// table still names it.
type ptrTable struct {
	slots []memoEntry
	count int
}

func (k memoKey) hash() uint {
	x := uint64(uintptr(k.p)) ^ uint64(k.n)*0x9e3779b97f4a7c15 ^ uint64(k.t)*0xc2b2ae3d27d4eb4f
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return uint(x)
}

func (m *ptrTable) get(k memoKey) (uint32, bool) {
	if m.count == 0 {
		return 0, false
	}
	mask := uint(len(m.slots) - 1)
	for i := k.hash() & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.k.p == nil {
			return 0, false
		}
		if s.k == k {
			return s.idx, true
		}
	}
}

func (m *ptrTable) put(k memoKey, idx uint32) {
	if (m.count+1)*4 > len(m.slots)*3 {
		m.grow()
	}
	mask := uint(len(m.slots) - 1)
	for i := k.hash() & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.k.p == nil {
			s.k, s.idx = k, idx
			m.count++
			return
		}
		if s.k == k {
			s.idx = idx
			return
		}
	}
}

func (m *ptrTable) grow() {
	old := m.slots
	n := 64
	if len(old) > 0 {
		n = len(old) * 2
	}
	m.slots = make([]memoEntry, n)
	m.count = 0
	for _, s := range old {
		if s.k.p != nil {
			m.put(s.k, s.idx)
		}
	}
}

// reset empties the table, keeping a modest one for reuse.
func (m *ptrTable) reset() {
	if len(m.slots) > 1<<16 {
		m.slots = nil
	} else {
		clear(m.slots)
	}
	m.count = 0
}

// strTable maps string contents to memo indexes (dict keys and CPython's
// singleton strings are memoized by value). Open addressing over a compact
// array of (hash, entry) pairs, so that a probe that misses — the common
// case for a dict of unique keys — touches 8 bytes a slot, not the strings;
// one hash serves the lookup and the insert.
type strTable struct {
	slots   []strSlot // len is a power of two
	entries []strEntry
}

type strSlot struct {
	h uint32
	e uint32 // entry index + 1; 0 is empty
}

type strEntry struct {
	s   string
	idx uint32
}

var strSeed = maphash.MakeSeed()

// strHash hashes s (maphash: seeded, so callers' keys cannot be chosen to
// collide).
func strHash(s string) uint64 { return maphash.String(strSeed, s) }

// find returns the slot for s: its entry's slot when present (found), else
// the empty slot where it would go.
func (m *strTable) find(s string, h uint64) (*strSlot, bool) {
	mask := uint32(len(m.slots) - 1)
	h32 := uint32(h) // placement uses the stored bits, so growing needs no rehash
	for i := h32 & mask; ; i = (i + 1) & mask {
		sl := &m.slots[i]
		if sl.e == 0 {
			return sl, false
		}
		if sl.h == h32 && m.entries[sl.e-1].s == s {
			return sl, true
		}
	}
}

// slot finds s with one hash: its memo index and true when present, or the
// empty slot (and the hash) that claim fills; the table is grown
// beforehand, so the slot stays valid until then.
func (m *strTable) slot(s string) (*strSlot, uint64, uint32, bool) {
	if (len(m.entries)+1)*4 > len(m.slots)*3 {
		m.grow()
	}
	h := strHash(s)
	sl, ok := m.find(s, h)
	if ok {
		return sl, h, m.entries[sl.e-1].idx, true
	}
	return sl, h, 0, false
}

// claim fills an empty slot returned by slot.
func (m *strTable) claim(sl *strSlot, s string, h uint64, idx uint32) {
	m.entries = append(m.entries, strEntry{s: s, idx: idx})
	*sl = strSlot{h: uint32(h), e: uint32(len(m.entries))}
}

func (m *strTable) grow() { m.resize(max(64, len(m.slots)*2)) }

// reserve makes room for n more entries without growing on the way.
func (m *strTable) reserve(n int) {
	want := len(m.entries) + n
	size := max(64, len(m.slots))
	for want*4 > size*3 {
		size *= 2
	}
	if size > len(m.slots) {
		m.resize(size)
	}
	if cap(m.entries)-len(m.entries) < n {
		m.entries = append(make([]strEntry, 0, want), m.entries...)
	}
}

// resize places the entries in a table of n slots by their stored hash
// bits (no string is hashed again).
func (m *strTable) resize(n int) {
	old := m.slots
	m.slots = make([]strSlot, n)
	mask := uint32(n - 1)
	for _, sl := range old {
		if sl.e == 0 {
			continue
		}
		i := sl.h & mask
		for m.slots[i].e != 0 {
			i = (i + 1) & mask
		}
		m.slots[i] = sl
	}
}

func (m *strTable) reset() {
	if len(m.slots) > 1<<16 {
		m.slots, m.entries = nil, nil
		return
	}
	clear(m.slots)
	clear(m.entries) // drop the strings
	m.entries = m.entries[:0]
}

func (e *encoder) rememberPtr(k memoKey) { e.memo.put(k, e.MemoPut()) }

func (e *encoder) lookup(k memoKey) bool {
	if i, ok := e.memo.get(k); ok {
		e.MemoGet(i)
		return true
	}
	return false
}
