package py

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// intKeyInputs are int keys an attacker may pick against a table placed by
// the ints themselves, and the friendly ones it is made for. Each builds
// n distinct keys.
var intKeyInputs = []struct {
	name string
	key  func(i int) any
}{
	{"range", func(i int) any { return int64(i) }},
	{"stride 31", func(i int) any { return int64(i * 31) }},
	{"negative", func(i int) any { return int64(-i) }},
	{"multiples of 2^20", func(i int) any { return int64(i) << 20 }},
	{"multiples of 2^32 (equal low bits)", func(i int) any { return int64(i) << 32 }},
	{"multiples of 2^16 plus 1", func(i int) any { return int64(i)<<16 + 1 }},
	{"floats, multiples of 2^24", func(i int) any { return float64(i) * (1 << 24) }},
	// A dense run, then keys whose first slot is inside it: each would walk
	// the run to its end.
	{"run then its slots again", func(i int) any {
		const run = 30_000
		if i < run {
			return int64(i)
		}
		return int64(i-run+1)<<17 | int64((i-run)*7%run)
	}},
	{"random", func(i int) any { return int64(rand.Uint64()) }},
}

// TestIntKeysWorkIsBounded: whatever ints a pickle brings, building a set
// of them and looking each up again visits a bounded number of slots per
// key (counted, not timed). Placed by the int itself, multiples of a power
// of two would all want one slot and visit n²/2 slots in all (1.25e9 for
// 50,000 keys); the probe bounds turn such a table keyed instead.
func TestIntKeysWorkIsBounded(t *testing.T) {
	const n = 50_000
	for _, in := range intKeyInputs {
		t.Run(in.name, func(t *testing.T) {
			items := make([]any, 0, n)
			at := func(i int) any { return items[i] }
			var x keyIndex
			for i := 0; i < n; i++ {
				k := in.key(i)
				if p := x.put(at, len(items), k); p >= 0 {
					if in.name == "random" {
						continue // a repeat, by chance
					}
					t.Fatalf("key %d (%v) found at %d before it was added", i, k, p)
				}
				items = append(items, k)
			}
			built := x.ints.visited
			looked := 0
			for i, k := range items {
				if p := x.find(at, len(items), k); p != i {
					t.Fatalf("key %v found at %d, want %d", k, p, i)
				}
				n, _ := intKey(k)
				p, v := x.ints.probe(at, n)
				if p != i {
					t.Fatalf("key %v probed at %d, want %d", k, p, i)
				}
				looked += v
				v0 := x.ints.visited
				if p := x.put(at, len(items), k); p != i {
					t.Fatalf("key %v put again at %d, want %d", k, p, i)
				}
				looked += x.ints.visited - v0
			}
			// Absent keys: the same shapes shifted.
			missed := 0
			for i := 0; i < n; i++ {
				k, _ := intKey(in.key(i))
				if p := x.find(at, len(items), k+1<<62); p >= 0 && in.name != "random" {
					t.Fatalf("absent %d found at %d", k+1<<62, p)
				}
				_, v := x.ints.probe(at, k+1<<62)
				missed += v
			}
			t.Logf("%d keys: %.2f slots visited per key built, %.2f per hit, %.2f per miss; keyed %v, longest walk %d",
				len(items), float64(built)/n, float64(looked)/float64(2*len(items)), float64(missed)/n, x.ints.keyed, x.ints.far)
			if built > 8*n {
				t.Errorf("building visited %d slots for %d keys", built, n)
			}
			if looked > 2*4*len(items) {
				t.Errorf("%d hits visited %d slots", 2*len(items), looked)
			}
			if missed > 4*n {
				t.Errorf("%d misses visited %d slots", n, missed)
			}
		})
	}
}

// TestIntKeysPlacedInOrder: ranges and strides stay placed by the ints
// themselves (the fast case the table is for), and a flood turns it keyed.
func TestIntKeysPlacedInOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   func(i int) int64
		keyed bool
	}{
		{"range", func(i int) int64 { return int64(i) }, false},
		{"stride 31", func(i int) int64 { return int64(i * 31) }, false},
		{"stride 1000", func(i int) int64 { return int64(i * 1000) }, false},
		{"multiples of 2^20", func(i int) int64 { return int64(i) << 20 }, true},
	} {
		s := NewSet()
		s.Grow(65_000)
		for i := 0; i < 65_000; i++ {
			s.Add(tc.key(i))
		}
		if s.Len() != 65_000 {
			t.Fatalf("%s: %d items", tc.name, s.Len())
		}
		if got := s.index.ints.keyed; got != tc.keyed {
			t.Errorf("%s: keyed %v, want %v", tc.name, got, tc.keyed)
		}
	}
}

// TestIntKeysAgreeWithMap checks Sets and Dicts of keys equal to ints
// (ints, bools, integral floats) against a Go map of their int values, in
// tables placed both ways and through growth from no size hint.
func TestIntKeysAgreeWithMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, shift := range []uint{0, 3, 17, 20, 32, 40} {
		want := map[int64]int{} // key -> first position
		d := NewDict(0)
		s := NewSet()
		var order []int64
		for i := 0; i < 20_000; i++ {
			n := int64(r.IntN(15_000)) << shift
			var k any = n
			switch r.IntN(4) {
			case 0:
				if n < 1<<53 {
					k = float64(n)
				}
			case 1:
				if n == 0 || n == 1 {
					k = n == 1
				}
			}
			if _, ok := want[n]; !ok {
				want[n] = len(order)
				order = append(order, n)
			}
			d.Set(k, i)
			s.Add(k)
			if i%7 == 0 {
				// Lookups in between, of present and absent keys.
				m := int64(r.IntN(20_000)) << shift
				_, inMap := want[m]
				if _, ok := d.Get(m); ok != inMap {
					t.Fatalf("shift %d: Get(%d) = %v, map %v", shift, m, ok, inMap)
				}
				if s.Has(float64(m)) != inMap && m < 1<<53 {
					t.Fatalf("shift %d: Has(%d.0) = %v, map %v", shift, m, !inMap, inMap)
				}
			}
		}
		if d.Len() != len(order) || s.Len() != len(order) {
			t.Fatalf("shift %d: dict %d, set %d items, want %d", shift, d.Len(), s.Len(), len(order))
		}
		for p, n := range order {
			if k, _ := intKey(d.Items()[p].Key); k != n {
				t.Fatalf("shift %d: dict key %d is %v, want %d", shift, p, d.Items()[p].Key, n)
			}
			if k, _ := intKey(s.Items()[p]); k != n {
				t.Fatalf("shift %d: set item %d is %v, want %d", shift, p, s.Items()[p], n)
			}
			if i := d.index.find(d.keyAt, d.Len(), n); i != p {
				t.Fatalf("shift %d: %d found at %d, want %d", shift, n, i, p)
			}
		}
	}
}

// TestSetAddItems: the bulk Add stops at the first item that is not
// always hashable, and adds as Add does before it (1, 1.0 and True are
// one item; the first one stays).
func TestSetAddItems(t *testing.T) {
	for _, n := range []int{3, 20, 5000} { // scanned, then indexed
		var items []any
		for i := 0; i < n; i++ {
			items = append(items, int64(i), "s"+string(rune('a'+i%26)), float64(i), i%2 == 1, nil)
		}
		items = append(items, Tuple{int64(1)}, int64(-1))
		s := NewSet()
		if got := s.AddItems(items); got != len(items)-2 {
			t.Fatalf("%d: AddItems stopped at %d, want %d", n, got, len(items)-2)
		}
		want := NewSet()
		for _, it := range items[:len(items)-2] {
			want.Add(it)
		}
		if s.Len() != want.Len() || Repr(s) != Repr(want) {
			t.Fatalf("%d: AddItems gave %d items, Add %d", n, s.Len(), want.Len())
		}
		if got := s.AddItems(items[len(items)-1:]); got != 1 || !s.Has(int64(-1)) || s.Has(int64(n)) {
			t.Fatalf("%d: after the tuple: added %d, has -1 %v", n, got, s.Has(int64(-1)))
		}
		if it := s.Items()[0]; it != any(int64(0)) {
			t.Fatalf("%d: item 0 is %#v, want 0 (the first of 0, 0.0, False)", n, it)
		}
	}
}

// TestIntLookupsWriteNothing: goroutines may share a decoded Dict or Set
// for reading; lookups by int write nothing (the race detector, which make
// test runs, fails this test otherwise).
func TestIntLookupsWriteNothing(t *testing.T) {
	d := NewDict(0)
	s := NewSet()
	for i := 0; i < 1000; i++ {
		d.Set(int64(i)<<20, i) // a flooded table: keyed
		s.Add(int64(i))
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 1000; i++ {
				if v, ok := d.Get(int64(i) << 20); !ok || v != any(i) {
					done <- fmt.Errorf("Get(%d<<20) = %v, %v", i, v, ok)
					return
				}
				if !s.Has(float64(i)) || s.Has(int64(i+1000)) {
					done <- fmt.Errorf("Has(%d) wrong", i)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
