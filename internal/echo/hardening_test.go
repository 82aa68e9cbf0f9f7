package echo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/internal/echo"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

// serve starts srv on a loopback listener and stops it at cleanup.
func serve(t *testing.T, srv *echo.Server, ln net.Listener) (string, *syncBuffer) {
	t.Helper()
	if ln == nil {
		var err error
		ln, err = echo.Listen("127.0.0.1:0")
		require.NoError(t, err)
	}
	logs := &syncBuffer{}
	srv.Log = log.New(logs, "", 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return ln.Addr().String(), logs
}

// roundTrip sends v in a frame and returns the decoded reply.
func roundTrip(c net.Conn, v any) (any, error) {
	data, err := pickler.Marshal(v)
	if err != nil {
		return nil, err
	}
	if _, err := frame.Write(c, [][]byte{data}, nil); err != nil {
		return nil, err
	}
	f, err := frame.NewReader(c, 0).Read()
	if err != nil {
		return nil, err
	}
	defer f.Release()
	return unpickler.Load(f.Pickle)
}

// waitClosed fails unless the server closes c within the guard.
func waitClosed(t *testing.T, c net.Conn, guard time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(guard))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server did not drop the connection within %v (hang guard)", guard)
	}
}

// emfileListener fails its first Accepts with EMFILE, as a server out of
// file descriptors sees.
type emfileListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// Running out of file descriptors is logged and retried after a pause; the
// server keeps serving (it used to stop).
func TestAcceptEMFILEBacksOff(t *testing.T) {
	inner, err := echo.Listen("127.0.0.1:0")
	require.NoError(t, err)
	ln := &emfileListener{Listener: inner}
	ln.fails.Store(5)
	addr, logs := serve(t, &echo.Server{Mode: echo.Decode}, ln)
	c := dial(t, addr)
	defer c.Close()
	v, err := roundTrip(c, "still here")
	require.NoError(t, err)
	require.Equal(t, "still here", v)
	require.Contains(t, logs.String(), "too many open files")
	require.Contains(t, logs.String(), "retrying in")
}

// At the connection cap, a further client waits until a slot frees.
func TestConnectionCap(t *testing.T) {
	addr, _ := serve(t, &echo.Server{Mode: echo.Raw, MaxConns: 2}, nil)
	a, b := dial(t, addr), dial(t, addr)
	defer b.Close()
	for _, c := range []net.Conn{a, b} {
		_, err := roundTrip(c, "in")
		require.NoError(t, err)
	}
	third := dial(t, addr) // connected (backlog) but not served
	defer third.Close()
	data, _ := pickler.Marshal("third")
	_, err := frame.Write(third, [][]byte{data}, nil)
	require.NoError(t, err)
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = third.Read(make([]byte, 1))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "the third client is not served while two are: %v", err)
	a.Close() // frees a slot
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := frame.NewReader(third, 0).Read()
	require.NoError(t, err, "served once a slot is free")
	v, err := unpickler.Load(f.Pickle)
	require.NoError(t, err)
	require.Equal(t, "third", v)
}

// A silent client is dropped after the idle timeout; one that trickles a
// frame after the read timeout; one that never reads its replies after the
// write timeout.
func TestTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		addr, logs := serve(t, &echo.Server{Mode: echo.Raw, IdleTimeout: 100 * time.Millisecond}, nil)
		c := dial(t, addr)
		defer c.Close()
		_, err := roundTrip(c, "one frame, then silence")
		require.NoError(t, err)
		waitClosed(t, c, 10*time.Second)
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "timeout") }, 5*time.Second, 10*time.Millisecond)
	})
	t.Run("read", func(t *testing.T) {
		addr, logs := serve(t, &echo.Server{Mode: echo.Raw, ReadTimeout: 200 * time.Millisecond, IdleTimeout: time.Hour}, nil)
		c := dial(t, addr)
		defer c.Close()
		h := frame.Header(1000, nil)
		stop := make(chan struct{})
		go func() { // one byte every 50 ms: each read is quick, the frame never ends
			for _, b := range append(h, make([]byte, 1000)...) {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
			}
		}()
		defer close(stop)
		waitClosed(t, c, 20*time.Second)
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "timeout") }, 5*time.Second, 10*time.Millisecond)
	})
	t.Run("write", func(t *testing.T) {
		addr, logs := serve(t, &echo.Server{Mode: echo.Raw, WriteTimeout: 200 * time.Millisecond}, nil)
		c := dial(t, addr)
		defer c.Close()
		payload := make([]byte, 8<<20) // more than the socket buffers hold
		go func() {
			for range 4 {
				if _, err := frame.Write(c, [][]byte{payload}, nil); err != nil {
					return
				}
			}
		}()
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "timeout") }, 20*time.Second, 20*time.Millisecond,
			"a client that never reads is dropped: %q", logs.String())
	})
}

// Settings are validated once, with their range in the message.
func TestValidate(t *testing.T) {
	for _, srv := range []*echo.Server{
		{Mode: "x"},
		{Mode: echo.Raw, MaxFrame: 10},
		{Mode: echo.Raw, MaxFrame: 64 << 40},
		{Mode: echo.Raw, MaxConns: -1},
	} {
		require.Error(t, srv.Validate())
	}
	srv := &echo.Server{Mode: echo.Raw}
	require.NoError(t, srv.Validate())
	require.Equal(t, int64(frame.DefaultMaxFrame), srv.MaxFrame)
	require.Equal(t, echo.DefaultMaxConns, srv.MaxConns)
	require.Error(t, (&echo.Server{Mode: echo.Raw, MaxFrame: 10}).Serve(context.Background(), nil))
}

// The Unix socket is created 0600 whatever the umask; a stale socket file
// is replaced; a live one, or a file that is not a socket, is refused.
func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	old := syscall.Umask(0)
	ln, err := echo.Listen("unix:" + path)
	syscall.Umask(old)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "created 0600 even under umask 0")

	_, err = echo.Listen("unix:" + path)
	require.ErrorContains(t, err, "already listening", "a live socket is refused")

	// A server killed without cleanup leaves its socket file behind.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, err = os.Stat(path)
	require.NoError(t, err, "the stale file is there")
	ln2, err := echo.ListenMode("unix:"+path, 0o660)
	require.NoError(t, err, "a stale socket is replaced")
	defer ln2.Close()
	fi, _ = os.Stat(path)
	require.Equal(t, os.FileMode(0o660), fi.Mode().Perm())

	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, []byte("x"), 0o600))
	_, err = echo.Listen("unix:" + plain)
	require.ErrorContains(t, err, "not a socket")
	b, _ := os.ReadFile(plain)
	require.Equal(t, "x", string(b), "a file that is not a socket is left alone")
}

// sharedStr is a pickle of a list holding one str n times (memo refs).
func sharedStr(size, n int) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x04X")
	b.Write([]byte{byte(size), byte(size >> 8), byte(size >> 16), 0})
	b.Write(bytes.Repeat([]byte("s"), size))
	b.WriteString("q\x000](")
	b.Write(bytes.Repeat([]byte("h\x00"), n))
	b.WriteString("e.")
	return b.Bytes()
}

// Decode mode: a pickle whose shared values would expand past the maximum
// frame is refused before the reply is built; one within it is served.
func TestDecodeExpansionBounded(t *testing.T) {
	addr, logs := serve(t, &echo.Server{Mode: echo.Decode, MaxFrame: 4 << 20}, nil)
	c := dial(t, addr)
	defer c.Close()
	// 1 MB in, 31 MB out: a str under 64 bytes is written at each reference
	_, err := frame.Write(c, [][]byte{sharedStr(60, 500_000)}, nil)
	require.NoError(t, err)
	waitClosed(t, c, 10*time.Second)
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "reply would exceed the maximum frame or 64x the request")
	},
		5*time.Second, 10*time.Millisecond, "%q", logs.String())

	ok := dial(t, addr)
	defer ok.Close()
	_, err = frame.Write(ok, [][]byte{sharedStr(100, 1000)}, nil)
	require.NoError(t, err)
	f, err := frame.NewReader(ok, 0).Read()
	require.NoError(t, err)
	v, err := unpickler.Load(f.Pickle)
	require.NoError(t, err)
	require.Len(t, v, 1000)
}

// Decode mode runs the unpickler with limits scaled to the maximum frame:
// with 4 KiB frames the memo holds at most 2,048 entries.
func TestDecodeLimitsScaleWithMaxFrame(t *testing.T) {
	addr, logs := serve(t, &echo.Server{Mode: echo.Decode, MaxFrame: 4 << 10}, nil)
	var p bytes.Buffer
	p.WriteString("\x80\x04N")
	p.Write(bytes.Repeat([]byte{0x94}, 2100)) // MEMOIZE None 2,100 times
	p.WriteString(".")
	c := dial(t, addr)
	defer c.Close()
	_, err := frame.Write(c, [][]byte{p.Bytes()}, nil)
	require.NoError(t, err)
	waitClosed(t, c, 10*time.Second)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "limit") }, 5*time.Second, 10*time.Millisecond, "%q", logs.String())

	v, err := unpickler.Load(p.Bytes())
	require.NoError(t, err, "the same pickle is fine under the default limits")
	require.Nil(t, v)
}
