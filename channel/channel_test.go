package channel_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/channel"
	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/py"
)

func pair(t *testing.T, network string, opts ...channel.Option) (*channel.Conn, net.Conn) {
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	dial := ln.Addr().String()
	if network == "unix" {
		dial = "unix:" + dial
	}
	c, err := channel.Dial(dial, opts...)
	require.NoError(t, err)
	s := <-acc
	require.NotNil(t, s)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func aligned(b []byte) bool { return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%frame.Align == 0 }

func TestSendRecvWithOutOfBandBuffers(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			a, s := pair(t, network)
			b, err := channel.New(s)
			require.NoError(t, err)
			big := bytes.Repeat([]byte("x"), 1<<20)
			msg := map[string]any{
				"name": "odd length so that padding is needed",
				"buf":  py.PickleBuffer{Data: big},
				"ro":   py.PickleBuffer{Data: []byte("read-only"), ReadOnly: true},
				"n":    int64(42),
			}
			done := make(chan error, 1)
			go func() {
				for i := 0; i < 3; i++ {
					if err := a.Send(msg); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			for i := 0; i < 3; i++ {
				var got map[string]any
				require.NoError(t, b.Recv(&got))
				require.Equal(t, int64(42), got["n"])
				pb := got["buf"].(py.PickleBuffer)
				require.Equal(t, big, pb.Data)
				require.False(t, pb.ReadOnly)
				require.True(t, aligned(pb.Data), "out-of-band buffer not 64-byte aligned")
				ro := got["ro"].(py.PickleBuffer)
				require.True(t, ro.ReadOnly)
				require.Equal(t, []byte("read-only"), ro.Data)
			}
			require.NoError(t, <-done)
		})
	}
}

func TestInBandWhenAsked(t *testing.T) {
	a, s := pair(t, "tcp", channel.OutOfBand(false))
	go a.Send([]any{py.PickleBuffer{Data: []byte("inband")}})
	f, err := frame.NewReader(s, 0).Read()
	require.NoError(t, err)
	require.Empty(t, f.Buffers)
	require.Contains(t, string(f.Pickle), "inband")
}

func TestRecvTimeoutKeepsTheConnUsable(t *testing.T) {
	a, s := pair(t, "tcp", channel.Timeout(50*time.Millisecond))
	var v any
	err := a.Recv(&v)
	require.True(t, os.IsTimeout(err), "want a timeout, got %v", err)
	// Nothing of a frame was read: the next Recv works.
	b, err := channel.New(s)
	require.NoError(t, err)
	require.NoError(t, b.Send("hello"))
	require.NoError(t, a.Recv(&v))
	require.Equal(t, "hello", v)
}

func TestTimeoutInsideAFrameBreaksTheConn(t *testing.T) {
	a, s := pair(t, "tcp", channel.Timeout(50*time.Millisecond))
	_, err := s.Write(frame.Header(100, nil)[:10])
	require.NoError(t, err)
	var v any
	err = a.Recv(&v)
	require.ErrorIs(t, err, frame.ErrTruncated)
	err = a.Recv(&v)
	require.ErrorContains(t, err, "out of step")
}

func TestHostileFrames(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n"), frame.ErrBadMagic},
		{"huge", frame.Header(min(math.MaxInt, 1<<40), nil), frame.ErrTooLarge},
		{"version 9", append([]byte("SP\x09"), frame.Header(0, nil)[3:]...), frame.ErrBadVersion},
		{"cut", append(frame.Header(10, nil), "abc"...), frame.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := channel.New(struct {
				io.Reader
				io.Writer
			}{bytes.NewReader(c.data), io.Discard}, channel.MaxFrame(1<<20))
			require.NoError(t, err)
			var v any
			require.ErrorIs(t, conn.Recv(&v), c.want)
		})
	}
}

func TestClosedAndBadOptions(t *testing.T) {
	a, _ := pair(t, "tcp")
	require.NoError(t, a.Close())
	var v any
	require.ErrorIs(t, a.Send(1), channel.ErrClosed)
	require.ErrorIs(t, a.Recv(&v), channel.ErrClosed)
	_, err := channel.New(&bytes.Buffer{}, channel.MaxFrame(0))
	require.ErrorContains(t, err, "invalid MaxFrame")
	_, err = channel.New(&bytes.Buffer{}, channel.Timeout(-1))
	require.ErrorContains(t, err, "invalid Timeout")
}

func TestEOF(t *testing.T) {
	conn, err := channel.New(&bytes.Buffer{})
	require.NoError(t, err)
	var v any
	require.True(t, errors.Is(conn.Recv(&v), io.EOF))
}
