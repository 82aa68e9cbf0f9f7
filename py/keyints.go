package py

import "hash/maphash"

// intTable indexes the keys of a Dict or Set that equal an int64 (ints,
// bools, integral floats): open addressing with linear probing over 8-byte
// (tag, position) slots, as the str table; the keys stay in the items.
//
// A key is first placed where its own low bits say, as CPython places ints
// (hash(n) is n): ranges and arithmetic progressions, the common case, land
// in order with no collisions, and a table of 65,000 of them is walked
// nearly in order instead of with one cache miss per key. Placement by the
// int itself can be flooded — an attacker who picks multiples of the table
// size puts every key in one slot — so probing is bounded: when one
// insertion walks farMax slots, or all of them together more than
// probeBudget per key, the table is placed again, for good, by a keyed
// multiply-mix of the int (per-process random keys), which input cannot be
// chosen to collide. The work before that switch is bounded by those two
// limits, and the switch itself is one pass over the keys.
type intTable struct {
	slots []intSlot // len is a power of two (or 0)
	n     int       // keys in slots
	keyed bool      // placed by intHash, for good
	far   int       // the longest distance of a key from its first slot
	spent int       // slots visited by insertions since the table was last placed
	// visited counts the slots visited by insertions and placements
	// (lookups, which write nothing, return theirs): the tests count work
	// instead of timing it.
	visited int
}

// intSlot is a key's tag and position + 1 (0: an empty slot). The tag is
// the low 32 bits of the int, or of its keyed hash once the table is
// keyed: either way its low bits are the key's first slot, so the table
// is placed again from the tags alone. Equal tags are confirmed on the
// item.
type intSlot struct {
	tag uint32
	pos int32
}

const (
	// farMax is the longest walk of an insertion before the table is
	// placed by keyed mix instead of by the int itself.
	farMax = 32
	// probeBudget is the average number of slots an insertion may visit
	// while the table is placed by the int itself (plus a small constant).
	probeBudget = 4
)

// tag is n's tag, whose low bits are its first slot.
func (t *intTable) tag(n int64) uint32 {
	if t.keyed {
		return uint32(intHash(n))
	}
	return uint32(n)
}

// intKey is the int64 a key equal to an int normalizes to.
func intKey(k any) (int64, bool) {
	if n, ok := k.(int64); ok {
		return n, true
	}
	nk, _ := Key(k)
	n, ok := nk.(int64)
	return n, ok
}

// find returns the position of the key equal to n, or -1. It writes
// nothing, so readers may share the table.
func (t *intTable) find(at func(int) any, n int64) int {
	pos, _ := t.probe(at, n)
	return pos
}

// probe is find, and also returns how many slots it visited. A key is
// never farther than t.far from its first slot, so a miss stops there even
// in a long run of occupied slots.
func (t *intTable) probe(at func(int) any, n int64) (pos, visited int) {
	if t.n == 0 {
		return -1, 0
	}
	tag := t.tag(n)
	mask := uint32(len(t.slots) - 1)
	i := tag & mask
	d := 0
	for ; d <= t.far; d++ {
		s := t.slots[i]
		if s.pos == 0 {
			break
		}
		if s.tag == tag {
			if k, ok := intKey(at(int(s.pos) - 1)); ok && k == n {
				return int(s.pos) - 1, d + 1
			}
		}
		i = (i + 1) & mask
	}
	return -1, d + 1
}

// put returns the position of the key equal to n if there is one;
// otherwise it records n at position pos and returns -1. One walk does
// both.
func (t *intTable) put(at func(int) any, n int64, pos int) int {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(at, max(2*len(t.slots), 16), t.keyed)
	}
	for {
		tag := t.tag(n)
		mask := uint32(len(t.slots) - 1)
		i := tag & mask
		d := 0
		for ; ; d++ {
			s := t.slots[i]
			if s.pos == 0 {
				break
			}
			if s.tag == tag {
				if k, ok := intKey(at(int(s.pos) - 1)); ok && k == n {
					t.visited += d + 1
					return int(s.pos) - 1
				}
			}
			if d >= farMax && !t.keyed {
				break
			}
			i = (i + 1) & mask
		}
		t.visited += d + 1
		t.spent += d + 1
		if !t.keyed && (d >= farMax || t.spent > probeBudget*(t.n+1)+64) {
			// n is not in the table (it would be within t.far < farMax of
			// its first slot): place every key by keyed mix, then n.
			t.resize(at, len(t.slots), true)
			continue
		}
		t.slots[i] = intSlot{tag: tag, pos: int32(pos + 1)}
		t.n++
		t.far = max(t.far, d)
		return -1
	}
}

// reserve makes room for want keys in all without growing again.
func (t *intTable) reserve(at func(int) any, want int) {
	size := max(len(t.slots), 16)
	for want*4 > size*3 {
		size <<= 1
	}
	if size != len(t.slots) {
		t.resize(at, size, t.keyed)
	}
}

// resize places the keys again in a table of size slots (a power of two),
// by keyed mix if keyed, else as they were. The tags place them, except
// when the table turns keyed: then each key is read from its item once to
// make its keyed tag. Placed by the ints themselves, a walk that reaches
// farMax (or walks that spend the budget) turn the table keyed.
func (t *intTable) resize(at func(int) any, size int, keyed bool) {
	old := t.slots
	rekey := keyed && !t.keyed
	t.keyed = keyed
	for {
		t.slots = make([]intSlot, size)
		t.far, t.spent = 0, 0
		mask := uint32(size - 1)
		placed, ok := 0, true
		for _, s := range old {
			if s.pos == 0 {
				continue
			}
			if rekey {
				n, _ := intKey(at(int(s.pos) - 1))
				s.tag = t.tag(n)
			}
			i := s.tag & mask
			d := 0
			for t.slots[i].pos != 0 && (t.keyed || d < farMax) {
				d++
				i = (i + 1) & mask
			}
			t.visited += d + 1
			t.spent += d + 1
			placed++
			if !t.keyed && (d >= farMax || t.spent > probeBudget*placed+64) {
				ok = false
				break
			}
			t.slots[i] = s
			t.far = max(t.far, d)
		}
		if ok {
			return
		}
		rekey, t.keyed = true, true
	}
}

// intHash places an int key in a keyed table: maphash's hash of the int,
// with the per-process random seed, so inputs cannot be chosen to collide.
// Only a table that input flooded is keyed, so its cost is not on the
// common path. It only places keys; equality never depends on it.
func intHash(n int64) uint64 { return maphash.Comparable(indexSeed, n) }
