package py_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/py"
)

// TestTupleKeyRuns: a tuple's key writes a run of equal items once, with
// its length, and finds the run by identity (the same str again) or by
// equal keys; either way equal tuples get one key and different ones
// different keys, whatever objects stand for their items, short or long
// (past the 1 KiB of element keys from which the key is a digest).
func TestTupleKeyRuns(t *testing.T) {
	long := [2]string{strings.Repeat("a", 100), strings.Repeat("b", 4096)}
	// Each symbol is one Python value; rep gives one of its Go forms, a
	// new object or a shared one at random.
	var rep func(r *rand.Rand, sym int) any
	rep = func(r *rand.Rand, sym int) any {
		switch sym {
		case 0, 1:
			if r.IntN(2) == 0 {
				return long[sym]
			}
			return strings.Clone(long[sym])
		case 2:
			return []any{int64(1), float64(1), true}[r.IntN(3)]
		case 3:
			return "ab"
		case 4:
			return ""
		default:
			return py.Tuple{rep(r, 0), rep(r, 2)}
		}
	}
	pattern := func(r *rand.Rand) []int {
		p := make([]int, 1+r.IntN(400))
		for i := range p {
			if i > 0 && r.IntN(10) < 8 {
				p[i] = p[i-1]
			} else {
				p[i] = r.IntN(6)
			}
		}
		return p
	}
	key := func(r *rand.Rand, p []int) any {
		tu := make(py.Tuple, len(p))
		for i, sym := range p {
			tu[i] = rep(r, sym)
		}
		k, ok := py.Key(tu)
		if !ok {
			t.Fatalf("unhashable: %v", p)
		}
		return k
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		p := pattern(r)
		k := key(r, p)
		if k2 := key(r, p); k2 != k {
			t.Fatalf("equal tuples, two keys: %v", p)
		}
		// One item changed, one added to a run, one taken from it.
		q := append([]int(nil), p...)
		i := r.IntN(len(q))
		q[i] = (q[i] + 1 + r.IntN(5)) % 6
		grown := append(append(append([]int(nil), p[:i+1]...), p[i]), p[i+1:]...)
		shrunk := append(append([]int(nil), p[:i]...), p[i+1:]...)
		for _, d := range [][]int{q, grown, shrunk} {
			if len(d) > 0 && key(r, d) == k {
				t.Fatalf("different tuples, one key:\n%v\n%v", p, d)
			}
		}
	}
}
