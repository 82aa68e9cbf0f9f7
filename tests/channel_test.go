package tests

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/channel"
	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/py"
)

// pyChannelClient talks to the Go service below through Python's
// segpickle.Channel: it sends a bytearray out of band, gets it back
// changed in place by Go, writable and 64-byte aligned, then a plain dict.
const pyChannelClient = `
import ctypes, pickle, sys
from segpickle import Channel
with Channel(sys.argv[1], timeout=30) as ch:
    data = bytearray(range(256)) * 300
    out = ch.call({"tag": "odd-length-key", "data": pickle.PickleBuffer(data)}, out_of_band=True)
    got = out["data"]
    assert isinstance(got, memoryview) and not got.readonly, (type(got), got.readonly)
    assert ctypes.addressof(ctypes.c_char.from_buffer(got)) % 64 == 0, "not aligned"
    assert bytes(got) == bytes((b + 1) % 256 for b in data), "wrong bytes"
    assert out["tag"] == "odd-length-key" and out["n"] == len(data), out
    assert ch.call({"k": [1, 2.5, "x", None]}) == {"k": [1, 2.5, "x", None]}
print("ok")
`

// TestGoChannelTalksToPythonChannel: a Go program with channel.Conn and a
// Python program with segpickle.Channel exchange values and out-of-band
// buffers in frames.
func TestGoChannelTalksToPythonChannel(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH: the cross-language tests need it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		conn, err := channel.New(nc)
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		for i := 0; ; i++ {
			var v map[string]any
			if err := conn.Recv(&v); err != nil {
				if i == 2 {
					err = nil // the client closed after two calls
				}
				served <- err
				return
			}
			if pb, ok := v["data"].(py.PickleBuffer); ok {
				if uintptr(unsafe.Pointer(unsafe.SliceData(pb.Data)))%frame.Align != 0 {
					served <- errAligned
					return
				}
				for j := range pb.Data { // in place, in the received frame
					pb.Data[j]++
				}
				v["n"] = len(pb.Data)
			}
			if err := conn.Send(v); err != nil {
				served <- err
				return
			}
		}
	}()
	cmd := exec.Command("python3", "-c", pyChannelClient, ln.Addr().String())
	root, _ := filepath.Abs("..")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "pyext"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "python client: %s", out)
	require.Equal(t, "ok\n", string(out))
	require.NoError(t, <-served)
}

type alignErr struct{}

func (alignErr) Error() string { return "Go received a misaligned out-of-band buffer" }

var errAligned = alignErr{}
