package echo_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/internal/echo"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// FuzzDecodeMode sends any bytes, as the pickle of a frame with one
// out-of-band buffer, to a decode-mode server (over net.Pipe, no sockets):
// the server never panics or hangs, replies only to a pickle the Go
// unpickler accepts, and its reply decodes to the same value.
func FuzzDecodeMode(f *testing.F) {
	for _, v := range []any{
		nil, int64(1), "s", []any{int64(1), "x", py.Tuple{1.5}}, []any{py.OutOfBand{Index: 0}},
		map[string]any{"k": []byte("v")},
	} {
		for _, proto := range []int{0, 2, 5} {
			if b, err := pickler.Marshal(v, pickler.Protocol(proto)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add(sharedStr(100, 5000))
	f.Add([]byte("\x80\x05(((((."))
	srv := &echo.Server{Mode: echo.Decode, MaxFrame: 1 << 20, IdleTimeout: 5 * time.Second,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	oob := []byte("out-of-band")
	f.Fuzz(func(t *testing.T, pickle []byte) {
		client, server := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(server) }()
		defer func() {
			client.Close()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("ServeConn still running 30 s after the client closed (hang guard)")
			}
		}()
		client.SetDeadline(time.Now().Add(30 * time.Second))
		go frame.Write(client, [][]byte{pickle}, [][]byte{oob})
		reply, err := frame.NewReader(client, 0).Read()
		want, werr := unpickler.Load(pickle, unpickler.Buffers(oob), unpickler.MaxAlloc(2<<20), unpickler.MaxLength(1<<20))
		if err != nil {
			return // dropped: a bad pickle, or a reply over the bounds
		}
		defer reply.Release()
		if werr != nil {
			t.Fatalf("the server replied to a pickle the unpickler refuses: %v", werr)
		}
		got, err := unpickler.Load(reply.Pickle, unpickler.Buffers(reply.Buffers...))
		if err != nil {
			t.Fatalf("the reply does not decode: %v", err)
		}
		a, aerr := pickler.Marshal(want, pickler.Protocol(5))
		b, berr := pickler.Marshal(got, pickler.Protocol(5))
		if aerr != nil || berr != nil || !bytes.Equal(a, b) {
			t.Fatalf("reply differs: %v / %v", want, got)
		}
	})
}
