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
// singleton strings are memoized by value). Open addressing with one hash
// per lookup-and-insert: cheaper than a Go map for the insert-mostly
// pattern of unique keys.
type strTable struct {
	slots []strEntry
	count int
}

type strEntry struct {
	s    string
	h    uint32
	idx  uint32
	used bool
}

var strSeed = maphash.MakeSeed()

// strHash hashes s (maphash: seeded, so callers' keys cannot be chosen to
// collide).
func strHash(s string) uint64 { return maphash.String(strSeed, s) }

// find returns the slot for s: its entry if present (found), else the empty
// slot where it would go. The table must have room (see reserve).
func (m *strTable) find(s string, h uint64) (*strEntry, bool) {
	mask := uint64(len(m.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := &m.slots[i]
		if !e.used {
			return e, false
		}
		if e.h == uint32(h) && e.s == s {
			return e, true
		}
	}
}

// get returns the memo index for s; when s is absent it returns a slot
// that put fills without hashing again.
func (m *strTable) get(s string) (uint32, bool) {
	if m.count == 0 {
		return 0, false
	}
	e, ok := m.find(s, strHash(s))
	return e.idx, ok
}

func (m *strTable) put(s string, idx uint32) {
	if (m.count+1)*4 > len(m.slots)*3 {
		m.grow()
	}
	h := strHash(s)
	e, ok := m.find(s, h)
	if !ok {
		*e = strEntry{s: s, h: uint32(h), used: true}
		m.count++
	}
	e.idx = idx
}

// slot finds s in one hash: the entry and true when present, or the
// empty slot (and its hash) that claim fills, the table grown beforehand so
// the slot stays valid until then.
func (m *strTable) slot(s string) (*strEntry, uint64, bool) {
	if (m.count+1)*4 > len(m.slots)*3 {
		m.grow()
	}
	h := strHash(s)
	e, ok := m.find(s, h)
	return e, h, ok
}

// claim fills an empty slot returned by slot.
func (m *strTable) claim(e *strEntry, s string, h uint64, idx uint32) {
	*e = strEntry{s: s, h: uint32(h), idx: idx, used: true}
	m.count++
}

func (m *strTable) grow() {
	old := m.slots
	n := 64
	if len(old) > 0 {
		n = len(old) * 2
	}
	m.slots = make([]strEntry, n)
	m.count = 0
	for _, e := range old {
		if e.used {
			slot, _ := m.find(e.s, strHash(e.s))
			*slot = e
			m.count++
		}
	}
}

func (m *strTable) reset() {
	if len(m.slots) > 1<<16 {
		m.slots = nil
	} else {
		clear(m.slots)
	}
	m.count = 0
}
