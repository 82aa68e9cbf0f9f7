package pickler_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// sortedDictOf is m as a *py.Dict in sorted key order, nested maps too
// (a map met twice is one dict): what a sorted map must pickle as, byte
// for byte.
func sortedDictOf(m map[string]any) *py.Dict {
	return sortedDictMemo(m, map[unsafe.Pointer]*py.Dict{})
}

func sortedDictMemo(m map[string]any, seen map[unsafe.Pointer]*py.Dict) *py.Dict {
	id := reflect.ValueOf(m).UnsafePointer()
	if d, ok := seen[id]; ok {
		return d
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	d := py.NewDict(len(keys))
	seen[id] = d
	for _, k := range keys {
		v := m[k]
		switch x := v.(type) {
		case map[string]any:
			v = sortedDictMemo(x, seen)
		case []any:
			l := make([]any, len(x))
			for i, y := range x {
				if mm, ok := y.(map[string]any); ok {
					y = sortedDictMemo(mm, seen)
				}
				l[i] = y
			}
			v = l
		}
		d.Set(k, v)
	}
	return d
}

// TestSortedMapsAsSortedDicts: str-keyed maps of every size class the
// pickler treats apart (records of up to 8 and 32 items, maps to 64 and
// past, past the radix threshold and a batch of 1000) with keys built to
// trip the sort (NUL padding, shared prefixes longer than 8 and 16 bytes,
// non-ASCII, long keys, keys met before as values or as other maps' keys,
// maps of one size but other keys one after another) pickle exactly as
// the *py.Dict of their items in sorted order, at protocols 0, 2, 4 and
// 5, and alike every time.
func TestSortedMapsAsSortedDicts(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	long := strings.Repeat("k", 70)
	gens := map[string]func() string{
		"nul padded":    func() string { return "a" + strings.Repeat("\x00", r.IntN(20)) + fmt.Sprint(r.IntN(3))[:r.IntN(2)] },
		"shared prefix": func() string { return "0123456789abcdefXY"[:8+r.IntN(11)] + fmt.Sprint(r.IntN(500)) },
		"non-ASCII":     func() string { return string(rune(0x80+r.IntN(0x3000))) + fmt.Sprint(r.IntN(100)) },
		"long keys":     func() string { return long + fmt.Sprint(r.IntN(1000)) },
		"short":         func() string { return string(rune('a' + r.IntN(26))) },
		"mixed":         func() string { return []string{"", "x", "é", "key", long}[r.IntN(5)] + fmt.Sprint(r.IntN(2000)) },
	}
	for gname, gen := range gens {
		for _, n := range []int{2, 8, 9, 32, 33, 64, 65, 255, 300, 1000, 3000} {
			m := map[string]any{}
			for tries := 0; len(m) < n && tries < 100*n; tries++ {
				k := gen()
				switch len(m) % 5 {
				case 0:
					m[k] = float64(len(m))
				case 1:
					m[k] = k // a key that is also a value
				case 2:
					m[k] = []any{int64(len(m)), "s"}
				case 3:
					m[k] = map[string]any{k: 1, "z": py.Tuple{1, 2}}
				default:
					m[k] = nil
				}
			}
			// The same keys again in a second map, and a map of the same
			// size with other keys, after it (record shapes reused).
			other := map[string]any{}
			for k := range m {
				other[k+"!"] = 1
			}
			for _, v := range []any{m, []any{m, other, map[string]any{"first": m}}} {
				var want *py.Dict
				var wantV any
				if mm, ok := v.(map[string]any); ok {
					want = sortedDictOf(mm)
					wantV = want
				} else {
					wantV = sortedDictOf(map[string]any{"l": v})
				}
				for _, p := range []int{0, 2, 4, 5} {
					got, err := pickler.Marshal(v, pickler.Protocol(p))
					if err != nil {
						t.Fatalf("%s n=%d protocol %d: %v", gname, n, p, err)
					}
					var exp []byte
					if want != nil {
						exp, err = pickler.Marshal(wantV, pickler.Protocol(p))
					} else {
						// compare the list inside the wrapper: pickle the wrapper both ways
						var gotW []byte
						gotW, err = pickler.Marshal(map[string]any{"l": v}, pickler.Protocol(p))
						if err == nil {
							got = gotW
							exp, err = pickler.Marshal(wantV, pickler.Protocol(p))
						}
					}
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, exp) {
						t.Fatalf("%s n=%d protocol %d: not the sorted dict's bytes", gname, n, p)
					}
					again, _ := pickler.Marshal(v, pickler.Protocol(p))
					if want != nil && !bytes.Equal(again, got) {
						t.Fatalf("%s n=%d protocol %d: another Marshal gave other bytes", gname, n, p)
					}
				}
			}
		}
	}
}
