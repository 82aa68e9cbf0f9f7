package pickler_test

import (
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
