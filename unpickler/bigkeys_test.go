package unpickler_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// TestLargeKeysLoad: CPython hashes a frozenset or tuple of any size, so a
// dict keyed by ones of 100,000 items loads (it was refused as
// "unhashable" once a key's work had a fixed budget).
func TestLargeKeysLoad(t *testing.T) {
	const n = 100_000
	items := make([]any, n)
	for i := range items {
		items[i] = int64(i)
	}
	fs := py.NewFrozenSet(items...)
	tup := py.Tuple(items)
	data, err := pickler.Marshal(py.DictOf(fs, int64(1), tup, int64(2)))
	require.NoError(t, err)
	v, err := unpickler.Load(data)
	require.NoError(t, err)
	d, ok := v.(*py.Dict)
	require.True(t, ok, "%T", v)
	require.Equal(t, 2, d.Len())
	got, ok := d.Get(tup)
	require.True(t, ok)
	require.Equal(t, int64(2), got)
	got, ok = d.Get(fs)
	require.True(t, ok)
	require.Equal(t, int64(1), got)
	// Reordered, 1 vs 1.0: the same key, as in Python.
	rev := make([]any, n)
	for i := range rev {
		rev[i] = float64(n - 1 - i)
	}
	got, ok = d.Get(py.NewFrozenSet(rev...))
	require.True(t, ok)
	require.Equal(t, int64(1), got)
}
