package pickler

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// sortStrings sorts a through keySort, as map keys are.
func sortStrings(e *encoder, a []string) {
	orig := slices.Clone(a)
	ks := e.takeSort(len(a))
	for i, s := range a {
		ks.add(s, i)
	}
	sorted := make([]sortEnt, len(a))
	for j, i := range ks.sort() {
		sorted[j] = ks.ents[i]
	}
	e.putSort(ks)
	for i, ent := range sorted {
		a[i] = ent.s
		if orig[ent.v.(int)] != ent.s {
			panic("value not with its key")
		}
	}
}

func TestSortStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var e encoder
	long := strings.Repeat("p", 200)
	for _, n := range []int{0, 1, 2, 3, 5, 64, radixMin - 1, radixMin, radixMin + 1, 1000, 5000, 20000} {
		for _, gen := range []func(i int) string{
			func(i int) string { return fmt.Sprintf("key%d", i) },
			func(i int) string { return string(rune(r.IntN(0x10ffff))) + fmt.Sprint(r.IntN(50)) },
			func(i int) string { return string(make([]byte, r.IntN(12))) }, // zero bytes, short and long
			func(i int) string { return "same-prefix-" + fmt.Sprint(r.Uint64()) },
			// a long shared prefix, then keys that end at, inside and past each 8-byte step
			func(i int) string { return long + strings.Repeat("\x00", r.IntN(3)) + fmt.Sprint(r.IntN(n+1)) },
			func(i int) string { return long[:r.IntN(40)] + string(make([]byte, r.IntN(20))) },
			// keys that are prefixes of each other, and random bytes
			func(i int) string { return strings.Repeat("a", i%300) },
			func(i int) string {
				return string(binary.BigEndian.AppendUint64(nil, r.Uint64()>>r.IntN(64))) + "\xff"[:r.IntN(2)]
			},
			func(i int) string { return fmt.Sprintf("%0*d", 8*(1+i%5), r.IntN(1000)) },
			// a shared 16-byte prefix, then keys that end at it or just past it
			func(i int) string {
				return "0123456789abcdef" + string(make([]byte, r.IntN(3))) + fmt.Sprint(r.IntN(30))[:r.IntN(2)]
			},
			func(i int) string { return "0123456789abcdef" + fmt.Sprint(r.IntN(n+1)) },
			// hex digits: their differing bits form many runs in each byte
			func(i int) string { return fmt.Sprintf("%x", r.Uint32()) },
			func(i int) string { return fmt.Sprintf("%x%x", r.Uint64(), r.IntN(4)) },
			// groups equal in their first 8 bytes, some shorter than 8
			func(i int) string { return fmt.Sprintf("%04d%0*d", r.IntN(40), r.IntN(9), r.IntN(1e8)) },
			func(i int) string {
				return fmt.Sprintf("%03d", r.IntN(100))[:1+r.IntN(3)] + string(make([]byte, r.IntN(10)))
			},
		} {
			a := make([]string, n)
			for i := range a {
				a[i] = gen(i)
			}
			r.Shuffle(n, func(i, j int) { a[i], a[j] = a[j], a[i] })
			want := slices.Clone(a)
			slices.Sort(want)
			sortStrings(&e, a)
			if !slices.Equal(a, want) {
				t.Fatalf("n=%d: not sorted", n)
			}
		}
	}
}

// TestSqueeze checks that squeezing prefixes keeps their order and their
// equality, for masks of few and of many runs of differing bits.
func TestSqueeze(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		base := r.Uint64()
		diff := r.Uint64() & r.Uint64() & r.Uint64()
		if r.IntN(4) == 0 {
			diff = r.Uint64()
		}
		if diff == 0 {
			continue
		}
		var sq squeeze
		if !sq.init(diff) || sq.n > maxRuns || sq.bits > 64 || sq.bits < uint(bits.OnesCount64(diff)) {
			t.Fatalf("diff %x: %d runs, %d bits", diff, sq.n, sq.bits)
		}
		for range 20 {
			x, y := base&^diff|r.Uint64()&diff, base&^diff|r.Uint64()&diff
			if cmp.Compare(x, y) != cmp.Compare(sq.apply(x), sq.apply(y)) {
				t.Fatalf("diff %x: %x, %x squeeze to %x, %x", diff, x, y, sq.apply(x), sq.apply(y))
			}
			if sq.bits < 64 && sq.apply(x)>>sq.bits != 0 {
				t.Fatalf("diff %x: %x squeezes to %x, wider than %d bits", diff, x, sq.apply(x), sq.bits)
			}
		}
	}
}

// TestPackMatchesApply: pack's unrolled cases (two to four runs) and its
// general one put each prefix's squeeze above the index bits, as apply.
func TestPackMatchesApply(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	seen := map[int]bool{}
	for range 3000 {
		diff := r.Uint64() & r.Uint64()
		if r.IntN(3) == 0 {
			diff &= r.Uint64()
		}
		var sq squeeze
		if !sq.init(diff) {
			continue
		}
		seen[sq.n] = true
		n := 1 + r.IntN(300)
		ib := uint(bits.Len(uint(n - 1)))
		if sq.bits+ib > 64 {
			continue
		}
		pre := make([]uint64, n)
		for i := range pre {
			pre[i] = r.Uint64()
		}
		want := make([]uint64, n)
		for i, p := range pre {
			want[i] = sq.apply(p)<<ib | uint64(i)
		}
		sq.pack(pre, ib)
		if !slices.Equal(pre, want) {
			t.Fatalf("diff %x (%d runs), %d index bits: pack differs from apply", diff, sq.n, ib)
		}
	}
	for k := 1; k <= maxRuns; k++ {
		if !seen[k] {
			t.Errorf("no mask of %d runs tried", k)
		}
	}
}

func BenchmarkSortStrings(b *testing.B) {
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%d", i)
	}
	a := make([]string, len(keys))
	var e encoder
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(a, keys)
			sortStrings(&e, a)
		}
	})
	// keySort alone, as saveSortedLarge calls it (gathered from the map,
	// then sorted), on keys that differ early and keys that share a
	// 15-byte prefix.
	for _, name := range []string{"key%d", "feature_vector_%d"} {
		m := make(map[string]any, len(keys))
		for i := range keys {
			m[fmt.Sprintf(name, i)] = i
		}
		b.Run("keySort/"+name[:3], func(b *testing.B) {
			for b.Loop() {
				ks := e.takeSort(len(m))
				for k, v := range m {
					ks.add(k, v)
				}
				ks.sort()
				e.putSort(ks)
			}
		})
	}
	b.Run("slices.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(a, keys)
			slices.Sort(a)
		}
	})
}
