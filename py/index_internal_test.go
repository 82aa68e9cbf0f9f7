package py

import (
	"fmt"
	"testing"
)

// TestDictLookupIsConstant backs the README's "finds str and int keys in
// O(1)": it counts the keys a lookup compares (calls of the key accessor),
// not time. For 50,000 str keys every hit compares about one key and a
// miss hardly any; keys equal to an int (ints, integral floats, bools) share
// that table with the same bounds, and other keys go through a Go map. A
// scanning dict would compare 25,000 on average.
func TestDictLookupIsConstant(t *testing.T) {
	const n = 50_000
	d := NewDict(0)
	for i := 0; i < n; i++ {
		d.Set(fmt.Sprintf("key%d", i), i)
		d.Set(int64(i), i)
	}
	compared := 0
	at := func(i int) any { compared++; return d.items[i].Key }
	look := func(k any) int {
		return d.index.find(at, len(d.items), k)
	}
	for i := 0; i < n; i++ {
		if p := look(fmt.Sprintf("key%d", i)); p != 2*i {
			t.Fatalf("key%d at %d, want %d", i, p, 2*i)
		}
	}
	if compared > n+n/100 {
		t.Fatalf("%d str hits compared %d keys (want about one each)", n, compared)
	}
	t.Logf("%d str hits: %d keys compared", n, compared)
	compared = 0
	for i := 0; i < n; i++ {
		if look(fmt.Sprintf("absent%d", i)) >= 0 {
			t.Fatal("found an absent key")
		}
	}
	if compared > n/100 {
		t.Fatalf("%d str misses compared %d keys", n, compared)
	}
	compared = 0
	for i := 0; i < n; i++ {
		if p := look(int64(i)); p != 2*i+1 {
			t.Fatalf("int %d at %d, want %d", i, p, 2*i+1)
		}
		if p := look(float64(i)); p != 2*i+1 { // 1.0 == 1 in Python
			t.Fatalf("float %d at %d, want %d", i, p, 2*i+1)
		}
	}
	if compared > 2*n+2*n/100 {
		t.Fatalf("%d int and float hits compared %d keys (want about one each)", 2*n, compared)
	}
	compared = 0
	for i := 0; i < n; i++ {
		if look(int64(n+i)) >= 0 || look(float64(i)+0.5) >= 0 {
			t.Fatal("found an absent number")
		}
	}
	if compared > n/50 {
		t.Fatalf("%d number misses compared %d keys", 2*n, compared)
	}
	// Lookups allocate nothing, whatever the size.
	if a := testing.AllocsPerRun(100, func() { d.Get("key99999"); d.Get(int64(99999)) }); a != 0 {
		t.Fatalf("Get allocates %.1f times", a)
	}
}
