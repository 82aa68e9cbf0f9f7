package pickler

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
	for j, r := range order {
		sorted[j] = ents[r.i]
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
	long := strings.Repeat("p", 200)
	for _, n := range []int{0, 1, 5, radixMin, 1000, 5000} {
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
	// sortEnts alone, as saveSortedLarge calls it (items in map order), on
	// keys that differ early and keys that share a 15-byte prefix.
	for _, name := range []string{"key%d", "feature_vector_%d"} {
		m := make(map[string]any, len(keys))
		for i := range keys {
			m[fmt.Sprintf(name, i)] = i
		}
		b.Run("sortEnts/"+name[:3], func(b *testing.B) {
			e.sortBuf = make([]sortEnt, len(keys))
			i := 0
			for k, v := range m {
				e.sortBuf[i] = sortEnt{s: k, v: v}
				i++
			}
			for b.Loop() {
				e.sortEnts(len(keys))
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
