package py_test

import (
	"fmt"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/py"
)

func TestDictPythonEquality(t *testing.T) {
	for _, n := range []int{3, 8, 9, 100, 5000} { // scanned and indexed sizes
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			d := py.NewDict(0)
			for i := 0; i < n; i++ {
				d.Set(fmt.Sprintf("k%d", i), i)
				d.Set(int64(i), -i)
			}
			require.Equal(t, 2*n, d.Len())
			for i := 0; i < n; i++ {
				v, ok := d.Get(fmt.Sprintf("k%d", i))
				require.True(t, ok)
				require.Equal(t, i, v)
				v, ok = d.Get(float64(i)) // 1.0 == 1
				require.True(t, ok)
				require.Equal(t, -i, v)
			}
			// True == 1: overwrites the value, keeps the first key and its place.
			d.Set(true, "T")
			v, _ := d.Get(int64(1))
			require.Equal(t, "T", v)
			require.Equal(t, int64(1), d.Items()[3].Key)
			require.Equal(t, 2*n, d.Len())
			_, ok := d.Get("missing")
			require.False(t, ok)
			_, ok = d.Get([]any{1}) // unhashable: never found
			require.False(t, ok)
		})
	}
}

func TestDictOtherKeys(t *testing.T) {
	d := py.NewDict(0)
	keys := []any{py.Tuple{int64(1), "a"}, py.NewFrozenSet(int64(1), int64(2)), []byte("b"), py.ByteString("b"),
		new(big.Int).Lsh(big.NewInt(1), 100), nil, 2.5, complex(1, 1), py.Global{Module: "m", Name: "n"}}
	for i := 0; i < 3; i++ { // past the scan threshold
		for j, k := range keys {
			d.Set(k, j)
		}
	}
	require.Equal(t, len(keys), d.Len())
	v, ok := d.Get(py.Tuple{1, "a"}) // int and int64 are one Python int
	require.True(t, ok)
	require.Equal(t, 0, v)
	v, _ = d.Get(py.NewFrozenSet(int64(2), int64(1))) // order does not matter
	require.Equal(t, 1, v)
	v, _ = d.Get(new(big.Int).Lsh(big.NewInt(1), 100))
	require.Equal(t, 4, v)
	v, _ = d.Get([]byte("b"))
	require.Equal(t, 2, v, "bytes and Python 2 str stay apart")
}

func TestDictGrowKeepsIndex(t *testing.T) {
	require.Equal(t, 0, py.NewDict(-1).Len(), "a negative size hint is none")
	d := py.NewDict(0)
	for batch := 0; batch < 20; batch++ {
		d.Grow(1000)
		for i := 0; i < 1000; i++ {
			d.Set(fmt.Sprintf("%d-%d", batch, i), i)
		}
	}
	require.Equal(t, 20000, d.Len())
	for batch := 0; batch < 20; batch += 7 {
		v, ok := d.Get(fmt.Sprintf("%d-%d", batch, 999))
		require.True(t, ok)
		require.Equal(t, 999, v)
	}
}

func TestSet(t *testing.T) {
	s := py.NewSet()
	for i := 0; i < 50; i++ {
		s.Add(int64(i % 20))
		s.Add(fmt.Sprint(i % 10))
	}
	require.Equal(t, 30, s.Len())
	require.True(t, s.Has(19.0))
	require.True(t, s.Has("9"))
	require.False(t, s.Has("10"))
}

func TestKeyWorkFollowsSharing(t *testing.T) {
	// Built with sharing, a 40-level tuple has 2^40 leaves if walked
	// naively; keyed by identity it takes 40 steps (a hang fails the test).
	shared := func(depth int) any {
		var k any = py.Tuple{int64(1)}
		for i := 0; i < depth; i++ {
			k = py.Tuple{k, k}
		}
		return k
	}
	var copied func(depth int) any
	copied = func(depth int) any {
		if depth == 0 {
			return py.Tuple{int64(1)}
		}
		return py.Tuple{copied(depth - 1), copied(depth - 1)}
	}
	k40, ok := py.Key(shared(40))
	require.True(t, ok)
	k39, ok := py.Key(shared(39))
	require.True(t, ok)
	require.NotEqual(t, k39, k40)
	// Shared and copied items give one key, as Python compares contents.
	a, ok := py.Key(shared(12))
	require.True(t, ok)
	b, ok := py.Key(copied(12))
	require.True(t, ok)
	require.Equal(t, a, b)
	// An unhashable item met again through sharing stays unhashable.
	bad := py.Tuple{[]any{}}
	_, ok = py.Key(py.Tuple{bad, bad, py.Tuple{bad}})
	require.False(t, ok)
}

func TestLargeKeysAreHashable(t *testing.T) {
	// CPython hashes a tuple or frozenset of any size: no cap here either.
	const n = 200_000
	tup := make(py.Tuple, n)
	fwd := make([]any, n)
	rev := make([]any, n)
	for i := range n {
		tup[i] = int64(i)
		fwd[i] = int64(i)
		rev[n-1-i] = float64(i) // 1.0 == 1
	}
	_, ok := py.Key(tup)
	require.True(t, ok)
	f1, ok := py.Key(py.NewFrozenSet(fwd...))
	require.True(t, ok)
	f2, ok := py.Key(py.NewFrozenSet(rev...))
	require.True(t, ok)
	require.Equal(t, f1, f2, "a frozenset's key does not depend on order or on 1 vs 1.0")
	f3, ok := py.Key(py.NewFrozenSet(fwd[1:]...))
	require.True(t, ok)
	require.NotEqual(t, f1, f3)
}

func TestTimeKeysPythonEquality(t *testing.T) {
	at := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC)
	naive := time.Date(2020, 1, 2, 3, 4, 5, 6000, py.Naive)
	for _, c := range []struct {
		name  string
		a, b  any
		equal bool
	}{
		{"same instant, other offsets", at, at.In(time.FixedZone("", 3600)), true},
		{"naive vs aware", naive, at, false},
		{"naive, same wall clock", naive, time.Date(2020, 1, 2, 3, 4, 5, 6999, py.Naive), true}, // µs, as Python keeps
		{"naive, other wall clock", naive, naive.Add(time.Microsecond), false},
		{"equal timedeltas", 24 * time.Hour, 86400 * time.Second, true},
		{"timedelta vs int", time.Duration(0), int64(0), false},
		{"timedelta vs datetime", time.Duration(0), time.Unix(0, 0).UTC(), false},
		{"tuples of them", py.Tuple{at, time.Second}, py.Tuple{at.Local(), 1000 * time.Millisecond}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ka, ok := py.Key(c.a)
			require.True(t, ok)
			kb, ok := py.Key(c.b)
			require.True(t, ok)
			require.Equal(t, c.equal, ka == kb)
			d := py.DictOf(c.a, 1)
			_, found := d.Get(c.b)
			require.Equal(t, c.equal, found)
		})
	}
}

// SetItems gives the dict Swap would give, pair by pair, and returns the
// values it replaced: small (scanned) and large (indexed) dicts, str keys
// set twice, and other keys among them.
func TestDictSetItems(t *testing.T) {
	cases := []struct {
		name string
		pre  []any // Set before SetItems
		kv   []any
	}{
		{"small, distinct", nil, []any{"id", 1, "name", 2, "tags", 3, "ok", 4}},
		{"small, a key twice", nil, []any{"a", 1, "b", 2, "a", 3}},
		{"small, over keys set before", []any{"x", 0, "a", 9}, []any{"a", 1, "x", 2, "y", 3}},
		{"empty str key twice", nil, []any{"", 1, "", 2}},
		{"mixed keys", nil, []any{int64(1), "i", "s", 1, 1.0, "f", true, "b", "s", 2}},
		{"grows an index", []any{"k0", 0}, func() []any {
			var kv []any
			for i := range 40 {
				kv = append(kv, fmt.Sprintf("k%d", i%30), i)
			}
			return kv
		}()},
	}
	for _, c := range cases {
		want, got := py.DictOf(c.pre...), py.DictOf(c.pre...)
		var wantOld []any
		for i := 0; i < len(c.kv); i += 2 {
			if _, old, ok := want.Swap(c.kv[i], c.kv[i+1]); ok {
				wantOld = append(wantOld, old)
			}
		}
		gotOld := got.SetItems(c.kv)
		if !reflect.DeepEqual(got.Items(), want.Items()) {
			t.Errorf("%s: items %v, want %v", c.name, got.Items(), want.Items())
		}
		if !reflect.DeepEqual(gotOld, wantOld) {
			t.Errorf("%s: replaced %v, want %v", c.name, gotOld, wantOld)
		}
		for _, it := range want.Items() {
			if v, ok := got.Get(it.Key); !ok || v != it.Value {
				t.Errorf("%s: Get(%v) = %v, %v", c.name, it.Key, v, ok)
			}
		}
	}
}
