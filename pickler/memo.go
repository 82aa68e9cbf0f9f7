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

// memoEntry is an entry of ptrTable but its key's pointer, which is in
// ptrTable.ptrs: the entries hold no pointer (they need no clearing
// between encodes) and the pointers are 8 bytes each to clear.
type memoEntry struct {
	n   int
	t   uintptr
	idx uint32
	h   uint32 // the key's hash bits, for growing without hashing again
}

// ptrTable is an open-addressing hash table from memoKey to memo index: the
// memo is consulted for every container, and a Go map with an interface in
// its key costs several times more. A probe reads one byte a slot: a tag
// (7 bits of the key's hash, high bit set; 0 is empty); the entry number
// is in a parallel array, and the entries sit apart in the order they were
// made (their pointers in an array of their own). A probe that misses, the common case (a container seen the first
// time), touches a table of a byte a slot: 64 KiB for 30,000 containers,
// where slots of hash and entry number took 512 KiB. Entries hold their
// pointer, so an object made during encoding cannot be freed and its
// address reused while the table still names it.
type ptrTable struct {
	tags    []uint8  // len is a power of two
	ents    []uint32 // entry index + 1, beside its tag
	entries []memoEntry
	ptrs    []unsafe.Pointer // the entries' key pointers, beside them
}

func (k memoKey) hash() uint {
	x := uint64(uintptr(k.p)) ^ uint64(k.n)*0x9e3779b97f4a7c15 ^ uint64(k.t)*0xc2b2ae3d27d4eb4f
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return uint(x)
}

// tagOf is the tag of hash bits h32: its top 7 bits (the low ones place
// it), high bit set.
func tagOf(h32 uint32) uint8 { return uint8(h32>>25) | 0x80 }

// count is the number of entries.
func (m *ptrTable) count() int { return len(m.entries) }

// find returns k's slot and true, or the empty slot where k would go.
func (m *ptrTable) find(k memoKey, h32 uint32) (int, bool) {
	mask := uint32(len(m.tags) - 1)
	tag := tagOf(h32)
	for i := h32 & mask; ; i = (i + 1) & mask {
		t := m.tags[i]
		if t == 0 {
			return int(i), false
		}
		if t == tag && m.ptrs[m.ents[i]-1] == k.p && m.entries[m.ents[i]-1].n == k.n && m.entries[m.ents[i]-1].t == k.t {
			return int(i), true
		}
	}
}

func (m *ptrTable) get(k memoKey) (uint32, bool) {
	if len(m.entries) == 0 {
		return 0, false
	}
	if i, ok := m.find(k, uint32(k.hash())); ok {
		return m.entries[m.ents[i]-1].idx, true
	}
	return 0, false
}

// slot finds k with one probe: its memo index and true when present, or
// the empty slot (and hash) that claim fills; the table is grown
// beforehand, so the slot stays valid until then if nothing else is put.
func (m *ptrTable) slot(k memoKey) (int, uint32, uint32, bool) {
	if (len(m.entries)+1)*4 > len(m.tags)*3 {
		m.grow()
	}
	h32 := uint32(k.hash())
	i, ok := m.find(k, h32)
	if ok {
		return i, h32, m.entries[m.ents[i]-1].idx, true
	}
	return i, h32, 0, false
}

// claim fills an empty slot returned by slot.
func (m *ptrTable) claim(i int, k memoKey, h32, idx uint32) {
	m.entries = append(m.entries, memoEntry{n: k.n, t: k.t, idx: idx, h: h32})
	m.ptrs = append(m.ptrs, k.p)
	m.tags[i] = tagOf(h32)
	m.ents[i] = uint32(len(m.entries))
}

func (m *ptrTable) put(k memoKey, idx uint32) {
	i, h32, _, ok := m.slot(k)
	if ok {
		m.entries[m.ents[i]-1].idx = idx
		return
	}
	m.claim(i, k, h32, idx)
}

// grow doubles the slots, placing the entries by their stored hash bits.
func (m *ptrTable) grow() {
	n := max(64, len(m.tags)*2)
	m.tags = make([]uint8, n)
	m.ents = make([]uint32, n)
	mask := uint32(n - 1)
	for e := range m.entries {
		h32 := m.entries[e].h
		i := h32 & mask
		for m.tags[i] != 0 {
			i = (i + 1) & mask
		}
		m.tags[i] = tagOf(h32)
		m.ents[i] = uint32(e + 1)
	}
}

// reset empties the table, keeping a modest one for reuse.
func (m *ptrTable) reset() {
	if len(m.tags) > 1<<17 {
		m.tags, m.ents, m.entries, m.ptrs = nil, nil, nil, nil
		return
	}
	clear(m.tags) // ents are read only where a tag is set
	clear(m.ptrs) // drop the pointers
	m.entries, m.ptrs = m.entries[:0], m.ptrs[:0]
}

// strTable maps string contents to memo indexes (dict keys and CPython's
// singleton strings are memoized by value). Open addressing over a compact
// array of (hash, entry) pairs, so that a probe that misses — the common
// case for a dict of unique keys — touches 8 bytes a slot, not the strings;
// one hash serves the lookup and the insert.
//
// Entries known to be new may be added unplaced (addNew): they are hashed
// and placed at the next lookup, if there is one. The keys of a large map
// written first are known new (nothing was memoized before them, and a
// map's keys are distinct): a pickle that is one big dict never hashes
// them.
type strTable struct {
	slots   []strSlot // len is a power of two
	entries []strEntry
	placed  int // entries[:placed] are in slots
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
	if m.placed < len(m.entries) {
		m.placeNew()
	}
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
	m.placed = len(m.entries)
}

// empty reports whether the table holds nothing, placed or not.
func (m *strTable) empty() bool { return len(m.entries) == 0 }

// unplacedOnly reports whether no entry is placed: what the table holds
// was all added by addNew since it was empty.
func (m *strTable) unplacedOnly() bool { return m.placed == 0 }

// addNew adds s, which the caller knows is not in the table, without
// hashing it: it is placed at the next lookup.
func (m *strTable) addNew(s string, idx uint32) {
	m.entries = append(m.entries, strEntry{s: s, idx: idx})
}

// placeNew hashes and places the entries added by addNew.
func (m *strTable) placeNew() {
	size := max(64, len(m.slots))
	for (len(m.entries)+1)*4 > size*3 {
		size *= 2
	}
	if size > len(m.slots) {
		m.resize(size)
	}
	mask := uint32(len(m.slots) - 1)
	for k := m.placed; k < len(m.entries); k++ {
		h32 := uint32(strHash(m.entries[k].s))
		i := h32 & mask
		for m.slots[i].e != 0 {
			i = (i + 1) & mask
		}
		m.slots[i] = strSlot{h: h32, e: uint32(k + 1)}
	}
	m.placed = len(m.entries)
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
	m.placed = 0
	if len(m.slots) > 1<<16 {
		m.slots, m.entries = nil, nil
		return
	}
	clear(m.slots)
	clear(m.entries) // drop the strings
	m.entries = m.entries[:0]
}

func (e *encoder) rememberPtr(k memoKey) { e.memo.put(k, e.MemoPut()) }

// lookupOrOpen fetches k from the memo when it was written (true);
// otherwise it writes the object's opening with open and memoizes it as
// k, with one probe of the table for both.
func (e *encoder) lookupOrOpen(k memoKey, open func(*encoder)) bool {
	sl, h, i, ok := e.memo.slot(k)
	if ok {
		e.MemoGet(i)
		return true
	}
	open(e)
	e.memo.claim(sl, k, h, e.MemoPut())
	return false
}

func (e *encoder) lookup(k memoKey) bool {
	if i, ok := e.memo.get(k); ok {
		e.MemoGet(i)
		return true
	}
	return false
}
