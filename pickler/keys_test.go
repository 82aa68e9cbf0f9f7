package pickler_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// TestArrayKeysAreTuples: a Go array used as a key is written as Python's
// hashable equivalent, a tuple (the bytes are CPython's for the same dict
// with tuple keys), never as a list that pickle.loads rejects.
func TestArrayKeysAreTuples(t *testing.T) {
	cpython := map[int]string{ // pickle.dumps({(1, 2): 3, (4, 5): 6}, p)
		0: "(dp0\n(I1\nI2\ntp1\nI3\ns(I4\nI5\ntp2\nI6\ns.",
		1: "}q\x00((K\x01K\x02tq\x01K\x03(K\x04K\x05tq\x02K\x06u.",
		2: "\x80\x02}q\x00(K\x01K\x02\x86q\x01K\x03K\x04K\x05\x86q\x02K\x06u.",
		3: "\x80\x03}q\x00(K\x01K\x02\x86q\x01K\x03K\x04K\x05\x86q\x02K\x06u.",
		4: "\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00}\x94(K\x01K\x02\x86\x94K\x03K\x04K\x05\x86\x94K\x06u.",
		5: "\x80\x05\x95\x15\x00\x00\x00\x00\x00\x00\x00}\x94(K\x01K\x02\x86\x94K\x03K\x04K\x05\x86\x94K\x06u.",
	}
	for p, want := range cpython {
		out, err := pickler.Marshal(map[[2]int]int{{4, 5}: 6, {1, 2}: 3}, pickler.Protocol(p), pickler.SortMapKeys(true))
		require.NoError(t, err)
		require.Equal(t, want, string(out), "protocol %d", p)
		d := py.NewDict(2)
		d.Set([2]int{1, 2}, 3)
		d.Set([2]int{4, 5}, 6)
		out, err = pickler.Marshal(d, pickler.Protocol(p))
		require.NoError(t, err)
		require.Equal(t, want, string(out), "protocol %d, py.Dict", p)
	}
	// Arrays inside a tuple key, and in a frozenset key.
	out, err := pickler.Marshal(py.DictOf(py.Tuple{[2]int{1, 2}, [2]int{3, 4}}, 1), pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, "\x80\x02}q\x00K\x01K\x02\x86q\x01K\x03K\x04\x86q\x02\x86q\x03K\x01s.", string(out))
	out, err = pickler.Marshal(py.DictOf(py.NewFrozenSet([2]int{1, 2}), 1), pickler.Protocol(4))
	require.NoError(t, err)
	require.Equal(t, "\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00}\x94(K\x01K\x02\x86\x94\x91\x94K\x01s.", string(out))
	// Arrays as values stay lists.
	out, err = pickler.Marshal([2]int{1, 2}, pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, "\x80\x02]q\x00(K\x01K\x02e.", string(out))
}

type keyPoint struct{ A int }

// TestUnhashableKeysRefused: keys and set items that Python cannot hash
// are a typed error naming the path, never a pickle that pickle.loads
// rejects ("unhashable type").
func TestUnhashableKeysRefused(t *testing.T) {
	shared := []any{1}
	pt := &keyPoint{1}
	for name, c := range map[string]struct {
		v    any
		path string
	}{
		"struct key":                 {map[keyPoint]int{{1}: 2}, "[key {1}]"},
		"pointer-to-struct key":      {map[*keyPoint]int{pt: 2}, ""},
		"list key in py.Dict":        {py.DictOf([]any{1}, 2), "[key 0]"},
		"dict key":                   {py.DictOf(py.DictOf(), 2), "[key 0]"},
		"set key":                    {py.DictOf(py.NewSet(), 2), "[key 0]"},
		"bytearray key":              {py.DictOf(py.ByteArray("x"), 2), "[key 0]"},
		"list in a tuple key":        {py.DictOf(py.Tuple{1, []any{}}, 2), "[key 0][1]"},
		"struct in an interface key": {map[any]int{nil: 1, keyPoint{2}: 2}, ""},
		"list in a set":              {py.NewSet([]any{1}), "{0}"},
		"dict in a frozenset":        {py.NewFrozenSet(py.DictOf()), "{0}"},
		"list memoized, then key":    {[]any{shared, py.DictOf(shared, 1)}, "[1][key 0]"},
		"struct memoized, then key":  {[]any{pt, map[*keyPoint]int{pt: 1}}, ""},
		"key in call dictitems":      {&py.Call{Callable: py.Global{Module: "m", Name: "f"}, Args: py.Tuple{}, DictItems: []py.Item{{Key: []any{}, Value: 1}}}, ".dictitems[key 0]"},
	} {
		for p := 0; p <= 5; p++ {
			_, err := pickler.Marshal(c.v, pickler.Protocol(p))
			require.ErrorIs(t, err, pickler.ErrUnhashable, "%s, protocol %d", name, p)
			var ve *pickler.UnsupportedValueError
			require.ErrorAs(t, err, &ve)
			if c.path != "" {
				require.Equal(t, c.path, ve.Path, name)
			}
		}
	}
	// A call or object key is hashable as far as the pickle tells; its
	// arguments may hold lists.
	key := &py.Call{Callable: py.Global{Module: "m", Name: "f"}, Args: py.Tuple{[]any{1}}}
	_, err := pickler.Marshal(py.DictOf(key, 1))
	require.NoError(t, err)
	_, err = pickler.Marshal(py.NewSet(py.Tuple{1, "a"}, [3]byte{1, 2, 3}))
	require.NoError(t, err, fmt.Sprint("hashable set items"))
}
