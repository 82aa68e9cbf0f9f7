package pickler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// sortStrings sorts a through sortEnts, as map keys are.
func sortStrings(e *encoder, a []string) {
	n := len(a)
	orig := slices.Clone(a)
	if cap(e.sortBuf) < n {
		e.sortBuf = make([]sortEnt, n)
	}
	for i, s := range a {
		e.sortBuf[i] = sortEnt{s: s, v: i}
	}
	ents := e.sortBuf[:n]
	order := e.sortEnts(n)
	sorted := make([]sortEnt, n)
	if order == nil {
		copy(sorted, ents)
	} else {
		for j, r := range order {
			sorted[j] = ents[r.i]
		}
	}
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
	for _, n := range []int{0, 1, 5, radixMin, 1000, 5000} {
		for _, gen := range []func(i int) string{
			func(i int) string { return fmt.Sprintf("key%d", i) },
			func(i int) string { return string(rune(r.IntN(0x10ffff))) + fmt.Sprint(r.IntN(50)) },
			func(i int) string { return string(make([]byte, r.IntN(12))) }, // zero bytes, short and long
			func(i int) string { return "same-prefix-" + fmt.Sprint(r.Uint64()) },
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
	b.Run("slices.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(a, keys)
			slices.Sort(a)
		}
	})
}
