package echo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/internal/echo"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, mode echo.Mode, addr string) string {
	addr, _ = startLogged(t, mode, addr)
	return addr
}

func startLogged(t *testing.T, mode echo.Mode, addr string) (string, *syncBuffer) {
	ln, err := echo.Listen(addr)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	srv := &echo.Server{Mode: mode, MaxFrame: 64 << 20, Log: log.New(logs, "", 0)}
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
	if ln.Addr().Network() == "unix" {
		return "unix:" + ln.Addr().String(), logs
	}
	return ln.Addr().String(), logs
}

func dial(t *testing.T, addr string) net.Conn {
	network, a := "tcp", addr
	if len(addr) > 5 && addr[:5] == "unix:" {
		network, a = "unix", addr[5:]
	}
	c, err := net.Dial(network, a)
	require.NoError(t, err)
	return c
}

// Each of 16 concurrent clients echoes 40 mixed-size messages and gets
// exactly its own bytes back (the mix of sizes and the interleaving is
// what matters; more messages only made the test slow under -race).
func TestConcurrentClients(t *testing.T) {
	for _, mode := range []echo.Mode{echo.Raw, echo.Decode} {
		t.Run(string(mode), func(t *testing.T) {
			addr := start(t, mode, "127.0.0.1:0")
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for client := 0; client < 16; client++ {
				wg.Add(1)
				go func(client int) {
					defer wg.Done()
					c := dial(t, addr)
					defer c.Close()
					rng := rand.New(rand.NewSource(int64(client)))
					fr := frame.NewReader(c, 0)
					for i := 0; i < 40; i++ {
						size := []int{0, 10, 1000, 70000, 150000}[rng.Intn(5)]
						payload := bytes.Repeat([]byte{byte(client)}, size)
						v := []any{int64(client), int64(i), payload, fmt.Sprintf("c%d-m%d", client, i)}
						var l segments.List
						if err := pickler.EncodeTo(&l, v); err != nil {
							errs <- err
							return
						}
						if _, err := frame.WriteList(c, &l, nil); err != nil {
							errs <- err
							return
						}
						f, err := fr.Read()
						if err != nil {
							errs <- err
							return
						}
						got, err := unpickler.Load(f.Pickle)
						if err != nil {
							errs <- err
							return
						}
						again, _ := pickler.Marshal(got)
						want := l.Bytes()
						if !bytes.Equal(again, want) {
							errs <- fmt.Errorf("client %d message %d: wrong reply", client, i)
							return
						}
						f.Release()
						l.Release()
					}
				}(client)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
		})
	}
}

// A client that dies mid-frame, one that sends garbage and one that claims
// a huge frame are dropped; the others are served.
func TestBadClientsDoNotHurtOthers(t *testing.T) {
	addr, logs := startLogged(t, echo.Decode, filepath.Join(t.TempDir(), "echo.sock"))
	good := dial(t, addr)
	defer good.Close()

	half := dial(t, addr)
	h := frame.Header(1000, nil)
	half.Write(append(h, "partial"...))
	half.Close() // killed mid-frame

	junk := dial(t, addr)
	junk.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	huge := dial(t, addr)
	huge.Write(frame.Header(min(math.MaxInt, 1<<40), nil)) // 1 TiB where int has 64 bits
	for _, c := range []net.Conn{junk, huge} {
		// Generous: a timeout now fails the test (it means the server
		// kept the client), so the deadline only stops a hang.
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		n, err := c.Read(make([]byte, 1))
		require.Zero(t, n)
		require.Error(t, err, "server should drop the connection")
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the client (read timed out): %v", err)
		c.Close()
	}

	oob := [][]byte{bytes.Repeat([]byte("o"), 5000)}
	data, err := pickler.Marshal([]any{"hi", py.OutOfBand{Index: 0}})
	require.NoError(t, err)
	_, err = frame.Write(good, [][]byte{data}, oob)
	require.NoError(t, err)
	f, err := frame.NewReader(good, 0).Read()
	require.NoError(t, err)
	require.Len(t, f.Buffers, 1, "out-of-band buffers come back out of band")
	require.Equal(t, oob[0], []byte(f.Buffers[0]))
	v, err := unpickler.Load(f.Pickle, unpickler.Buffers(f.Buffers...))
	require.NoError(t, err)
	require.Equal(t, "hi", v.([]any)[0])
	for _, want := range []string{"bad magic", "larger than the maximum", "ended inside a frame"} {
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), want) },
			5*time.Second, 10*time.Millisecond, "a log line for each dropped client: %q in %q", want, logs.String())
	}
}
