package echo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/internal/echo"
	"github.com/segpickle/segpickle/unpickler"
)

// TestDecodeSharedLongStrServed: a pickle referencing one 1,000-byte str
// 500,000 times re-encodes at its own size (the pickler writes a long str
// reached again through one Go string once), so decode mode serves it.
// It was refused: the size estimate counted the str at every reference
// (500 MB against a 4 MiB frame).
func TestDecodeSharedLongStrServed(t *testing.T) {
	addr, logs := serve(t, &echo.Server{Mode: echo.Decode, MaxFrame: 4 << 20}, nil)
	c := dial(t, addr)
	defer c.Close()
	in := sharedStr(1000, 500_000)
	_, err := frame.Write(c, [][]byte{in}, nil)
	require.NoError(t, err)
	f, err := frame.NewReader(c, 0).Read()
	require.NoError(t, err, logs.String())
	defer f.Release()
	require.Less(t, len(f.Pickle), 2*len(in))
	v, err := unpickler.Load(f.Pickle)
	require.NoError(t, err)
	require.Len(t, v, 500_000)
}
