package pickler_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"

	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// TestGoMapOrderIsTotal: the same Go map gives the same bytes at every
// Marshal, whatever its key types. Before, reflection-path maps were sorted
// by their keys' printed forms with ties left in Go's random map order: 1
// and "1" (both print "1"), int8(1) and int(1), [2]string{"a b", "c"} and
// {"a", "b c"}, and NaN keys all tied, so such maps gave up to 4 different
// pickles in 200 runs. (Keys Python finds equal, 1 and int8(1) and true,
// are refused: TestKeysEqualInPythonAreRefused.)
func TestGoMapOrderIsTotal(t *testing.T) {
	nans := map[float64]int{1: 1}
	anyNaNs := map[any]any{"x": 1}
	for i := 0; i < 20; i++ {
		nans[math.NaN()] = i
		anyNaNs[math.NaN()] = i
		anyNaNs[math.Float64frombits(math.Float64bits(math.NaN())+uint64(i))] = -i
	}
	cases := map[string]any{
		"mixed scalar types": map[any]any{1: "int", "1": "str", int64(2): "i64", 1.5: "f", false: "b", nil: "none", uint8(3): "u8", 2.5: "f", -1: "neg"},
		"int kinds":          map[any]int{int8(1): 1, int16(2): 2, uint(3): 3, int(4): 4, float32(5): 5},
		"arrays of strs":     map[[2]string]int{{"a b", "c"}: 1, {"a", "b c"}: 2, {"a", "b"}: 3},
		"array or str":       map[any]int{[2]int{1, 2}: 1, "[1 2]": 2, py.Global{Module: "m", Name: "n"}: 3, "{m n}": 4},
		"nan float keys":     nans,
		"nan any keys":       anyNaNs,
		"complex keys":       map[any]int{complex(1, 2): 1, complex(1, math.NaN()): 2, complex(math.NaN(), 0): 3, "(1+2i)": 4},
		"times":              map[any]int{time.Unix(0, 0).UTC(): 1, time.Unix(7200, 0).In(time.FixedZone("x", 3600)): 2, time.Unix(1, 0): 3},
		"big pointers":       map[any]int{big.NewInt(3): 1, 4: 2, new(big.Int).Lsh(big.NewInt(1), 70): 3},
		"nested in a slice":  []any{map[any]any{1: 1, "1": 2, 1.5: 3}},
		"nested in a struct": struct{ M map[any]any }{map[any]any{1: 1, "1": 2, false: 3}},
	}
	for name, v := range cases {
		first, err := pickler.Marshal(v)
		require.NoError(t, err, name)
		for i := 0; i < 100; i++ {
			again, err := pickler.Marshal(v)
			require.NoError(t, err, name)
			require.True(t, bytes.Equal(first, again), "%s: run %d gave other bytes", name, i)
		}
	}
	// Numbers of different Go types sort by value, as Python orders them.
	out, err := pickler.Marshal(map[any]int{2.5: 0, int8(-3): 1, uint64(math.MaxUint64): 2, 7: 3}, pickler.Protocol(2))
	require.NoError(t, err)
	v, err := unpickler.Load(out)
	require.NoError(t, err)
	var keys []string
	for _, it := range v.(*py.Dict).Items() {
		keys = append(keys, fmt.Sprint(it.Key))
	}
	require.Equal(t, []string{"-3", "2.5", "7", "18446744073709551615"}, keys)
}

// TestNaNKeysKeepTheirValues: a NaN key cannot be looked up in a Go map
// (NaN != NaN); the map's items are read together, so its value is
// written, not None (as it was, silently, for every NaN key).
func TestNaNKeysKeepTheirValues(t *testing.T) {
	for _, m := range []any{map[float64]int{math.NaN(): 7, 1: 8}, map[any]any{math.NaN(): 7, "a": 8}, map[float32]int{float32(math.NaN()): 7, 1: 8}} {
		out, err := pickler.Marshal(m, pickler.Protocol(2))
		require.NoError(t, err)
		v, err := unpickler.Load(out)
		require.NoError(t, err)
		var vals []any
		for _, it := range v.(*py.Dict).Items() {
			vals = append(vals, it.Value)
		}
		require.ElementsMatch(t, []any{int64(7), int64(8)}, vals, "%T", m)
	}
}

type keyRec struct{ A int }

type keyMarshaler struct{ v any }

func (k keyMarshaler) MarshalPickle() (any, error) { return k.v, nil }

// genKey returns a random value to use as a dict key or set item, built
// from hashable and unhashable parts, nested up to depth, wrapped in
// pointers and interfaces, and whether Python can hash it.
func genKey(r *rand.Rand, depth int) (any, bool) {
	leaf := func() (any, bool) {
		switch r.IntN(12) {
		case 0:
			return r.IntN(5), true
		case 1:
			return fmt.Sprint("s", r.IntN(5)), true
		case 2:
			return []any{r.IntN(3)}, false
		case 3:
			return py.DictOf(1, 2), false
		case 4:
			return py.NewSet(1), false
		case 5:
			return py.ByteArray("x"), false
		case 6:
			return map[string]int{"a": 1}, false
		case 7:
			return keyRec{r.IntN(3)}, false
		case 8:
			return &keyRec{1}, false
		case 9:
			return [2]int{r.IntN(3), 1}, true
		case 10:
			return []int{1}, false
		default:
			return math.NaN(), true
		}
	}
	if depth == 0 {
		return leaf()
	}
	switch r.IntN(8) {
	case 0, 1:
		n := r.IntN(3)
		tup, ok := make(py.Tuple, n), true
		for i := range tup {
			var okI bool
			tup[i], okI = genKey(r, depth-1)
			ok = ok && okI
		}
		return tup, ok
	case 2:
		v, ok := genKey(r, depth-1)
		return py.NewFrozenSet(v), ok
	case 3:
		v, ok := genKey(r, depth-1)
		return [1]any{v}, ok
	case 4:
		v, ok := genKey(r, depth-1)
		p := new(any)
		*p = v
		return p, ok
	case 5:
		v, ok := genKey(r, depth-1)
		return keyMarshaler{v}, ok
	case 6:
		v, ok := genKey(r, depth-1)
		w := new(any) // a pointer to a pointer to the value
		*w = &v
		return w, ok
	}
	return leaf()
}

// TestGeneratedKeysLoadInCPython: random keys, hashable or not, nested and
// wrapped, in a py.Dict, a map[any]any, a set and a frozenset, at every
// protocol: either a pickle that CPython's pickle.loads accepts or
// ErrUnhashable naming where; never a pickle CPython rejects.
func TestGeneratedKeysLoadInCPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH")
	}
	r := rand.New(rand.NewPCG(10, 42))
	type pyc struct {
		Name   string `json:"name"`
		Pickle string `json:"pickle"`
	}
	var cases []pyc
	refused, written := 0, 0
	for i := 0; i < 400; i++ {
		k, hashable := genKey(r, r.IntN(4))
		k2, _ := genKey(r, 2)
		containers := map[string]any{
			"py.Dict":   py.DictOf(k, 1, "z", 2),
			"set":       py.NewSet(k, "z"),
			"frozenset": py.NewFrozenSet(k),
			"in tuple":  py.DictOf(py.Tuple{1, k}, 1),
		}
		func() { // a Go map key must be comparable: skip those Go refuses
			defer func() { _ = recover() }()
			containers["map[any]any"] = map[any]any{k: 1, k2: 2, 1: 3, "1": 4}
		}()
		for cname, c := range containers {
			for p := 0; p <= 5; p++ {
				name := fmt.Sprintf("#%d %s %#v protocol %d", i, cname, k, p)
				out, err := pickler.Marshal(c, pickler.Protocol(p))
				if err != nil && cname == "map[any]any" && errors.Is(err, pickler.ErrDuplicateKey) {
					continue // k or k2 is 1 or "1" in Python (TestKeysEqualInPythonAreRefused)
				}
				if err != nil {
					require.ErrorIs(t, err, pickler.ErrUnhashable, name)
					var ve *pickler.UnsupportedValueError
					require.ErrorAs(t, err, &ve)
					require.NotEmpty(t, ve.Path, name)
					refused++
					continue
				}
				if cname != "map[any]any" {
					require.False(t, !hashable && err == nil, "%s: unhashable key written", name)
				}
				written++
				cases = append(cases, pyc{name, base64.StdEncoding.EncodeToString(out)})
			}
		}
	}
	t.Logf("%d pickles written, %d refused", written, refused)
	require.Greater(t, written, 500)
	require.Greater(t, refused, 500)
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	cmd := exec.Command("python3", "-c", `
import base64, json, pickle, sys
bad = []
for c in json.load(sys.stdin):
    try:
        pickle.loads(base64.b64decode(c["pickle"]))
    except Exception as e:
        bad.append("%s: %r" % (c["name"], e))
print("\n".join(bad[:20]))
`)
	cmd.Stdin = bytes.NewReader(in)
	res, err := cmd.CombinedOutput()
	require.NoError(t, err, string(res))
	require.Empty(t, strings.TrimSpace(string(res)), "pickles CPython rejects")
}

// TestLongKeyInErrorPath: a path step names a map key by its first 64
// bytes and its length, not a copy of the whole key (an error under a
// 1 MiB key was a 1 MiB message; under a 5 GiB key, out of memory).
func TestLongKeyInErrorPath(t *testing.T) {
	k := strings.Repeat("é", 1<<19) // 1 MiB
	for name, v := range map[string]any{
		"map[string]any":  map[string]any{k: make(chan int)},
		"map[string]chan": map[string]chan int{k: make(chan int)},
		"map[any]any":     map[any]any{k: make(chan int)},
		"py.Dict":         py.DictOf(k, make(chan int)),
		"map key":         map[any]int{k + "\xff": 1},
	} {
		_, err := pickler.Marshal(v)
		require.Error(t, err, name)
		require.Less(t, len(err.Error()), 300, name)
		require.Contains(t, err.Error(), strings.Repeat("é", 32)+"…(104857", name)
	}
}

// TestTiedKeysWithSelfContainingValues: keys the order cannot tell apart
// (NaNs of the same bits) are not ordered by printing their values: a map
// holding itself would send fmt into endless recursion (a fatal stack
// overflow).
func TestTiedKeysWithSelfContainingValues(t *testing.T) {
	m := map[any]any{}
	m[math.NaN()] = m
	m[math.NaN()] = m
	m[math.NaN()] = 1
	out, err := pickler.Marshal(m, pickler.Protocol(2))
	require.NoError(t, err)
	v, err := unpickler.Load(out)
	require.NoError(t, err)
	require.Equal(t, 3, v.(*py.Dict).Len())
}

type loopNode struct{ A, B, C, D *loopNode }

type loopPtr *loopPtr

// TestSelfReferentialKeysSortInBoundedWork: sorting keys that point to
// themselves (a struct whose four fields point back to it, a pointer to
// itself) ends: the comparison has a step budget. With only a depth
// bound (64, of which a level took 3), comparing two such structs took
// 4^21 steps. The keys are then
// refused (a struct is a dict) or stop at MaxDepth.
func TestSelfReferentialKeysSortInBoundedWork(t *testing.T) {
	a, b := &loopNode{}, &loopNode{}
	a.A, a.B, a.C, a.D = a, a, a, a
	b.A, b.B, b.C, b.D = b, b, b, b
	_, err := pickler.Marshal(map[any]int{a: 1, b: 2, 3: 3})
	require.ErrorIs(t, err, pickler.ErrUnhashable)
	var p, q loopPtr
	p, q = loopPtr(&p), loopPtr(&q)
	_, err = pickler.Marshal(map[any]int{p: 1, q: 2}, pickler.MaxDepth(100))
	require.ErrorIs(t, err, pickler.ErrTooDeep)
}
