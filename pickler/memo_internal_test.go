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
