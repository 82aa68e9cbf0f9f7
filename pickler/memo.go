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

// ptrTable is the identity memo: memoKey to memo index.
//
// Most pickles share nothing, so most keys are new: while every key so far
// was new (lazy), the table is only a list of entries and a filter, a bit
// a 16-byte unit of memory saying that a key starts there (ptrFilter). A
// key whose bit is clear is new for sure, and objects allocated one after
// another (the records of a list) have their bits side by side: no hash,
// no probe at a random place of a table, no random write (the probe and
// the insert of a hash table cost a cache miss each, a fifth of the time
// of a list of small dicts). A key whose bit is set may have been seen:
// the hash table is built from the entries then, once, and used from then
// on.
//
// The hash table is open addressing: the memo is consulted for every
// container, and a Go map with an interface in its key costs several times
// more. A probe reads one byte a slot: a tag (7 bits of the key's hash,
// high bit set; 0 is empty); the entry number is in a parallel array, and
// the entries sit apart in the order they were made (their pointers in an
// array of their own). Entries hold their pointer, so an object made during
// encoding cannot be freed and its address reused while the table still
// names it.
type ptrTable struct {
	tags    []uint8  // len is a power of two
	ents    []uint32 // entry index + 1, beside its tag
	entries []memoEntry
	ptrs    []unsafe.Pointer // the entries' key pointers, beside them
	hashed  bool             // the hash table is built (else lazy: the filter)
	filter  ptrFilter
	// The filter word and bit of the key of the last lazySlot, which the
	// claim that follows sets: no pointers (the key's address is only
	// compared, the word is a block's index and a word's), so that
	// noting them costs no write barrier while the collector marks.
	lazyOK   bool
	lazyP    uintptr
	lazyBlk  int32 // index in filter.used
	lazyWord uint32
	lazyBit  uint64
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

// maybeSeen reports whether k may have been put: always once the hash
// table is built; while lazy, when k's filter bit is set, and then the
// hash table is built (the caller finds k in it).
func (m *ptrTable) maybeSeen(k memoKey) bool {
	if m.hashed {
		return true
	}
	b, w, bit := m.filter.word(uintptr(k.p))
	if b.bits[w]&bit == 0 {
		m.lazyOK, m.lazyP, m.lazyBlk, m.lazyWord, m.lazyBit = true, uintptr(k.p), b.idx, uint32(w), bit
		return false
	}
	m.build()
	return true
}

func (m *ptrTable) get(k memoKey) (uint32, bool) {
	if len(m.entries) == 0 || !m.maybeSeen(k) {
		return 0, false
	}
	if i, ok := m.find(k, uint32(k.hash())); ok {
		return m.entries[m.ents[i]-1].idx, true
	}
	return 0, false
}

// slot finds k: its memo index and true when present, or the slot (and
// hash) that claim fills. While lazy the slot is lazySlot; once hashed,
// the table is grown beforehand, so the slot stays valid until claim if
// nothing else is put. (The table is rebuilt only here, in get and when
// an entry is added: claim takes a slot made stale by a rebuild, and a
// caller holding a slot while others are put sees the count change.)
func (m *ptrTable) slot(k memoKey) (int, uint32, uint32, bool) {
	if !m.hashed { // maybeSeen and filter.word, in line (a call each a container)
		p := uintptr(k.p)
		r := p >> filterRegionBits
		c := &m.filter.cache[uint64(r)*0x9e3779b97f4a7c15>>(64-4)&(filterCache-1)]
		b := *c
		if b == nil || b.region != r {
			b = m.filter.slowBlock(r, c)
		}
		u := p >> filterUnitBits & (1<<(filterRegionBits-filterUnitBits) - 1)
		w, bit := u>>6&(filterWords-1), uint64(1)<<(u&63)
		if b.bits[w]&bit == 0 {
			m.lazyOK, m.lazyP, m.lazyBlk, m.lazyWord, m.lazyBit = true, uintptr(k.p), b.idx, uint32(w), bit
			return lazySlot, 0, 0, false
		}
		m.build()
	}
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

// lazySlot is the slot of a new key while the table is lazy.
const lazySlot = -1

// claim adds k, absent, in the slot slot returned.
func (m *ptrTable) claim(i int, k memoKey, h32, idx uint32) {
	if !m.hashed {
		m.entries = append(m.entries, memoEntry{n: k.n, t: k.t, idx: idx})
		m.ptrs = append(m.ptrs, k.p)
		if m.lazyP != uintptr(k.p) || !m.lazyOK {
			b, w, bit := m.filter.word(uintptr(k.p))
			b.bits[w] |= bit
			return
		}
		m.filter.used[m.lazyBlk].bits[m.lazyWord&(filterWords-1)] |= m.lazyBit
		return
	}
	if i == lazySlot { // taken while lazy; the table was built since
		if (len(m.entries)+1)*4 > len(m.tags)*3 {
			m.grow()
		}
		h32 = uint32(k.hash())
		i, _ = m.find(k, h32)
	}
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

// build leaves the lazy mode: every entry hashed and placed.
func (m *ptrTable) build() {
	m.hashed = true
	for e := range m.entries {
		en := &m.entries[e]
		en.h = uint32(memoKey{p: m.ptrs[e], n: en.n, t: en.t}.hash())
	}
	n := 64
	for (len(m.entries)+1)*4 > n*3 {
		n *= 2
	}
	m.place(n)
}

// grow doubles the slots.
func (m *ptrTable) grow() { m.place(max(64, len(m.tags)*2)) }

// place lays the entries out in n slots by their stored hash bits.
func (m *ptrTable) place(n int) {
	if n == len(m.tags) {
		clear(m.tags)
	} else {
		m.tags = make([]uint8, n)
		m.ents = make([]uint32, n)
	}
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

// reset empties the table, keeping a modest one for reuse, lazy again.
func (m *ptrTable) reset() {
	if len(m.tags) > 1<<17 {
		m.tags, m.ents = nil, nil
	}
	if cap(m.entries) > 1<<17 { // as the hash table: a pickle of over 100,000 containers is not kept
		m.entries, m.ptrs = nil, nil
	}
	clear(m.tags) // ents are read only where a tag is set
	clear(m.ptrs) // drop the pointers
	m.entries, m.ptrs = m.entries[:0], m.ptrs[:0]
	m.hashed = false
	m.filter.reset()
	m.lazyOK = false
}

// ptrFilter is a set of addresses at 16-byte granularity (two keys in one
// unit share a bit: a false "maybe", never a false "no"): a bitmap block a
// 256 KiB region of memory (2 KiB), found through a small cache by region.
type ptrFilter struct {
	cache  [filterCache]*filterBlock // by a hash of the region
	blocks map[uintptr]*filterBlock
	used   []*filterBlock // the blocks with bits set, to clear
	spare  []*filterBlock // cleared blocks for reuse
}

const (
	filterRegionBits = 18 // 256 KiB regions
	filterUnitBits   = 4  // 16-byte units
	filterCache      = 16 // a power of two
)

// filterWords is the number of words in a block: a bit a unit.
const filterWords = 1 << (filterRegionBits - filterUnitBits - 6)

type filterBlock struct {
	region uintptr
	idx    int32 // its index in used
	bits   [filterWords]uint64
}

// word returns p's filter block, word index in it and bit (the block made
// if need be). (ptrTable.slot has it in line.)
func (f *ptrFilter) word(p uintptr) (*filterBlock, uintptr, uint64) {
	r := p >> filterRegionBits
	c := &f.cache[uint64(r)*0x9e3779b97f4a7c15>>(64-4)&(filterCache-1)]
	b := *c
	if b == nil || b.region != r {
		b = f.slowBlock(r, c)
	}
	u := p >> filterUnitBits & (1<<(filterRegionBits-filterUnitBits) - 1)
	return b, u >> 6 & (filterWords - 1), 1 << (u & 63)
}

func (f *ptrFilter) slowBlock(r uintptr, c **filterBlock) *filterBlock {
	b := f.blocks[r]
	if b == nil {
		if n := len(f.spare); n > 0 {
			b, f.spare = f.spare[n-1], f.spare[:n-1]
		} else {
			b = new(filterBlock)
		}
		b.region = r
		if f.blocks == nil {
			f.blocks = map[uintptr]*filterBlock{}
		}
		f.blocks[r] = b
		b.idx = int32(len(f.used))
		f.used = append(f.used, b)
	}
	*c = b
	return b
}

// reset clears every bit, keeping a few blocks for reuse.
func (f *ptrFilter) reset() {
	for _, b := range f.used {
		if len(f.spare) < 128 { // 256 KiB of bits: a heap of 32 MiB
			b.bits = [len(b.bits)]uint64{}
			f.spare = append(f.spare, b)
		}
	}
	if len(f.used) > 1024 { // a pickle that spanned 256 MiB: not kept
		f.used, f.blocks = nil, nil
	}
	clear(f.used)
	f.used = f.used[:0]
	clear(f.blocks)
	f.cache = [filterCache]*filterBlock{}
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
	// later, when not nil, holds the keys of a large map written first
	// (saveSortedLarge), not yet entries: takeLater adds them (sort.go)
	// before the next lookup, or before its buffers are reused.
	later *keySort
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
	if m.later != nil {
		m.takeLater()
	}
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
func (m *strTable) empty() bool { return len(m.entries) == 0 && m.later == nil }

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
	if m.later != nil {
		m.takeLater()
	}
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
	if m.later != nil {
		m.later.lent = nil
		m.later = nil
	}
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
