package pickler_test

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// TestBufferKeyStaysInBand: a read-only PickleBuffer used as a dict key or
// set item is written in band as bytes even when the BufferCallback would
// send it out of band: out of band, the key is whatever object the reader
// supplies, and a bytearray (how buffers usually arrive) is unhashable, so
// pickle.loads failed ("unhashable type: 'bytearray'"). Values still go
// out of band.
func TestBufferKeyStaysInBand(t *testing.T) {
	var sent [][]byte
	cb := pickler.BufferCallback(func(b py.PickleBuffer) bool {
		sent = append(sent, b.Data)
		return false
	})
	key := py.PickleBuffer{Data: []byte("key"), ReadOnly: true}
	val := py.PickleBuffer{Data: []byte("value"), ReadOnly: true}
	out, err := pickler.Marshal(py.DictOf(key, val), pickler.Protocol(5), cb)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("value")}, sent, "only the value goes out of band")
	out2, err := pickler.Marshal(py.NewFrozenSet(key), pickler.Protocol(5), cb)
	require.NoError(t, err)
	require.Len(t, sent, 1)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH")
	}
	cmd := exec.Command("python3", "-c", `
import pickle, sys
a, b = sys.stdin.buffer.read().split(b"--SEP--")
d = pickle.loads(a, buffers=[bytearray(b"value")])
assert list(d) == [b"key"] and bytes(d[b"key"]) == b"value", d
assert pickle.loads(b) == frozenset([b"key"])
print("ok")
`)
	cmd.Stdin = bytes.NewReader(append(append(out, "--SEP--"...), out2...))
	res, err := cmd.CombinedOutput()
	require.NoError(t, err, string(res))
	require.Equal(t, "ok\n", string(res))
}
