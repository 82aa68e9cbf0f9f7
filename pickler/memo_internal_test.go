package pickler

import (
	"testing"
	"unsafe"
)

// TestPtrTableNoClustering: keys at consecutive small addresses (8-byte
// objects allocated one after another, as a long pointer chain or a slice
// of records is) must not pile into long probe runs. An address-preserving
// hash put two such keys in one slot, so every insert walked to the end of
// one growing run: quadratic.
func TestPtrTableNoClustering(t *testing.T) {
	for _, stride := range []int{1, 2, 3, 8} { // 8, 16, 24, 64 bytes apart
		backing := make([]uint64, 200_000*stride)
		var m ptrTable
		m.build() // the hash table from the start, not the lazy filter
		for i := 0; i < 200_000; i++ {
			m.put(memoKey{p: unsafe.Pointer(&backing[i*stride])}, uint32(i))
		}
		mask := uint(len(m.tags) - 1)
		total, worst := 0, 0
		for i := 0; i < 200_000; i++ {
			k := memoKey{p: unsafe.Pointer(&backing[i*stride])}
			d := 0
			for j := uint(uint32(k.hash())) & mask; m.tags[j] == 0 || m.ptrs[m.ents[j]-1] != k.p; j = (j + 1) & mask {
				d++
			}
			if got, ok := m.get(k); !ok || got != uint32(i) {
				t.Fatalf("stride %d: key %d: got %d, %v", stride, i, got, ok)
			}
			total += d
			worst = max(worst, d)
		}
		if avg := float64(total) / 200_000; avg > 3 || worst > 200 {
			t.Errorf("stride %d: %.2f probes past the home slot on average, %d at worst (want ≤ 3 and ≤ 200)", stride, avg, worst)
		}
	}
}

// TestPtrTableLazy: while every key is new the table is a list and a
// filter; a key that may have been seen (its filter bit set: the same
// address, or another key in its 16 bytes) builds the hash table, which
// answers exactly from then on, and a slot taken while lazy is claimed
// right after the build.
func TestPtrTableLazy(t *testing.T) {
	backing := make([]uint64, 300_000) // spans several 64 KiB regions
	var m ptrTable
	for round := 0; round < 2; round++ { // the second after reset
		for i := 0; i < len(backing); i += 3 {
			k := memoKey{p: unsafe.Pointer(&backing[i]), n: 2}
			if _, ok := m.get(k); ok {
				t.Fatalf("round %d: key %d found before it was put", round, i)
			}
			sl, h, _, found := m.slot(k)
			if found || sl != lazySlot {
				t.Fatalf("round %d: key %d: slot %d, found %v while lazy", round, i, sl, found)
			}
			m.claim(sl, k, h, uint32(i))
		}
		if m.hashed {
			t.Fatalf("round %d: built with no key seen twice", round)
		}
		// A slot taken while lazy, then a key that may have been seen
		// (another length at a used address) builds the table.
		held := memoKey{p: unsafe.Pointer(&backing[4]), n: 2} // a unit no key is in
		sl, h, _, _ := m.slot(held)
		if sl != lazySlot {
			t.Fatalf("round %d: the held key: slot %d, want lazySlot", round, sl)
		}
		other := memoKey{p: unsafe.Pointer(&backing[0]), n: 5}
		if _, ok := m.get(other); ok || !m.hashed {
			t.Fatalf("round %d: other key: found %v, hashed %v", round, ok, m.hashed)
		}
		m.claim(sl, held, h, 7)
		for i := 0; i < len(backing); i += 3 {
			if got, ok := m.get(memoKey{p: unsafe.Pointer(&backing[i]), n: 2}); !ok || got != uint32(i) {
				t.Fatalf("round %d: key %d after the build: %d, %v", round, i, got, ok)
			}
		}
		if got, ok := m.get(held); !ok || got != 7 {
			t.Fatalf("round %d: the held key: %d, %v", round, got, ok)
		}
		m.put(held, 9)
		if got, _ := m.get(held); got != 9 {
			t.Fatalf("round %d: put did not update: %d", round, got)
		}
		m.reset()
		if m.hashed || m.count() != 0 {
			t.Fatalf("round %d: after reset: hashed %v, %d entries", round, m.hashed, m.count())
		}
		if _, ok := m.get(held); ok {
			t.Fatalf("round %d: found after reset", round)
		}
	}
}
