package pickler_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// TestSharedStringWrittenOnce: a long str reached twice through one Go
// string is one Python object, written once and fetched from the memo
// after, as CPython writes [s, s].
func TestSharedStringWrittenOnce(t *testing.T) {
	s := strings.Repeat("x", 100)
	out, err := pickler.Marshal([]any{s, s}, pickler.Protocol(2))
	require.NoError(t, err)
	// pickle.dumps([s, s], 2) with s = "x" * 100
	require.Equal(t, "\x80\x02]q\x00(X\x64\x00\x00\x00"+s+"q\x01h\x01e.", string(out))

	// Equal strings at different addresses stay two objects, as two equal
	// but distinct Python strs do.
	s2 := strings.Repeat("x", 100)
	out, err = pickler.Marshal([]any{s, s2}, pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(out), s))
}

// TestReencodeKeepsStringIdentity: a pickle whose tuple references one
// 2 KiB str a million times decodes to one Go string shared a million
// times, and re-encodes at the size it came in (was: 2 GB).
func TestReencodeKeepsStringIdentity(t *testing.T) {
	s := strings.Repeat("é", 1024) // 2 KiB of UTF-8
	tup := make(py.Tuple, 1_000_000)
	for i := range tup {
		tup[i] = s
	}
	in, err := pickler.Marshal(tup)
	require.NoError(t, err)
	require.Less(t, len(in), 3_000_000)
	v, err := unpickler.Load(in)
	require.NoError(t, err)
	out, err := pickler.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, len(in), len(out))
}

// TestIntRunsFramedAsSave: the runs of ints of a []any, written straight
// into the window, come out byte for byte as through save's full path (a
// PersistentID hook that declines every value turns the fast paths off),
// frames and their boundaries included, at every protocol.
func TestIntRunsFramedAsSave(t *testing.T) {
	items := make([]any, 0, 150_000)
	for i := 0; len(items) < cap(items); i++ {
		switch i % 97 {
		case 13:
			items = append(items, "s")
		case 41:
			items = append(items, int64(1)<<40) // LONG1: ends a run
		case 77:
			items = append(items, float64(i))
		default:
			items = append(items, int64(i*i%200_003)-70_000) // 1-, 2-, 4-byte forms, negatives
		}
	}
	decline := pickler.PersistentID(func(any) (any, bool) { return nil, false })
	for proto := 0; proto <= 5; proto++ {
		got, err := pickler.Marshal(items, pickler.Protocol(proto))
		if err != nil {
			t.Fatal(err)
		}
		want, err := pickler.Marshal(items, pickler.Protocol(proto), decline)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("protocol %d: the int runs differ from save's path", proto)
		}
	}
}

// TestTypedContainersFramedAsAny: a typed slice or map pickles as the
// []any or map[string]any of its items (one Python type each), frames
// included: large ones span several frames at protocol 4 and above.
func TestTypedContainersFramedAsAny(t *testing.T) {
	const n = 40_000
	ints, int64s, floats, strs := make([]int, n), make([]int64, n), make([]float64, n), make([]string, n)
	anyInts, anyFloats, anyStrs := make([]any, n), make([]any, n), make([]any, n)
	fm, am := make(map[string]float64, n), make(map[string]any, n)
	for i := range n {
		ints[i], int64s[i], anyInts[i] = i*37-5000, int64(i*37-5000), int64(i*37-5000)
		floats[i], anyFloats[i] = float64(i)/3, float64(i)/3
		strs[i] = "s" + strings.Repeat("x", i%7)
		anyStrs[i] = strs[i]
		k := "key" + strings.Repeat("y", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
		fm[k], am[k] = float64(i)/7, float64(i)/7
	}
	for _, c := range []struct {
		name      string
		typed, as any
	}{{"[]int", ints, anyInts}, {"[]int64", int64s, anyInts}, {"[]float64", floats, anyFloats},
		{"[]string", strs, anyStrs}, {"map[string]float64", fm, am}} {
		for _, proto := range []int{2, 4, 5} {
			got, err := pickler.Marshal(c.typed, pickler.Protocol(proto))
			require.NoError(t, err)
			want, err := pickler.Marshal(c.as, pickler.Protocol(proto))
			require.NoError(t, err)
			require.Truef(t, bytes.Equal(got, want), "%s at protocol %d: not framed as its []any/map[string]any", c.name, proto)
		}
	}
}
