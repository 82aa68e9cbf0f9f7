// Package echo is the echo server behind `segpickle echo-server`: it reads
// frames and sends each back, either as received (raw) or decoded with the
// Go unpickler and re-encoded with the Go pickler (decode), so that the Go
// codec is on the path.
//
// It is meant to face any client: connections are capped (MaxConns), a
// connection that idles, trickles a frame or does not read its replies is
// dropped (IdleTimeout, ReadTimeout, WriteTimeout), a frame's memory grows
// with the bytes that arrive (frame.Reader), decode mode runs the unpickler
// with limits scaled to MaxFrame and refuses a reply larger than MaxFrame,
// and running out of file descriptors makes Accept back off, not stop.
package echo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

// Mode says what the server does with a frame.
type Mode string

// The modes.
const (
	Raw    Mode = "raw"
	Decode Mode = "decode"
)

// Defaults for a Server's zero fields.
const (
	DefaultMaxConns     = 1024
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultReadTimeout  = time.Minute
	DefaultWriteTimeout = time.Minute
	// MaxExpansion bounds a decode-mode reply relative to its request: at
	// most MaxExpansion times the request's bytes plus 1 MiB (and at most
	// MaxFrame), since shared values can expand when re-encoded.
	MaxExpansion = 64
	// MinMaxFrame and MaxMaxFrame bound MaxFrame.
	MinMaxFrame = 1 << 10
	MaxMaxFrame = 1 << 40
)

// Server serves echo connections. Zero fields take the defaults above; a
// negative timeout means none.
type Server struct {
	Mode     Mode
	MaxFrame int64 // largest frame read or written (frame.DefaultMaxFrame if 0)
	Log      *log.Logger
	// MaxConns caps the connections served at once; further clients wait
	// in the listener's backlog until one ends.
	MaxConns int
	// IdleTimeout bounds the wait for the first byte of a frame,
	// ReadTimeout the reading of one frame once it has begun, WriteTimeout
	// the writing of one reply.
	IdleTimeout, ReadTimeout, WriteTimeout time.Duration

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Validate checks the settings and fills in the defaults; Serve calls it.
func (s *Server) Validate() error {
	if s.Mode != Raw && s.Mode != Decode {
		return fmt.Errorf("echo: unknown mode %q (raw or decode)", s.Mode)
	}
	if s.MaxFrame == 0 {
		s.MaxFrame = frame.DefaultMaxFrame
	}
	if s.MaxFrame < MinMaxFrame || s.MaxFrame > MaxMaxFrame {
		return fmt.Errorf("echo: invalid max frame %d (range is [%d, %d])", s.MaxFrame, int64(MinMaxFrame), int64(MaxMaxFrame))
	}
	if s.MaxConns == 0 {
		s.MaxConns = DefaultMaxConns
	}
	if s.MaxConns < 0 {
		return fmt.Errorf("echo: invalid connection cap %d (at least 1)", s.MaxConns)
	}
	for _, t := range []struct {
		d   *time.Duration
		def time.Duration
	}{{&s.IdleTimeout, DefaultIdleTimeout}, {&s.ReadTimeout, DefaultReadTimeout}, {&s.WriteTimeout, DefaultWriteTimeout}} {
		if *t.d == 0 {
			*t.d = t.def
		}
	}
	if s.Log == nil {
		s.Log = log.New(io.Discard, "", 0)
	}
	return nil
}

// Listen opens addr: "unix:/path", a path with a slash, or host:port (TCP).
// A Unix socket is created with mode 0600.
func Listen(addr string) (net.Listener, error) { return ListenMode(addr, 0o600) }

// unixMu serializes the umask change around creating a socket file.
var unixMu sync.Mutex

// ListenMode is Listen with the Unix socket file's permissions. A socket
// file left by a server that is gone is replaced; one that a live server
// answers on is refused, and so is a path that is not a socket.
func ListenMode(addr string, mode os.FileMode) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		if !strings.Contains(addr, "/") {
			return net.Listen("tcp", addr)
		}
		path = addr
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("echo: %s exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("echo: %s: a server is already listening there", path)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("echo: %s: cannot tell whether the socket is stale: %w", path, err)
		}
		if err := os.Remove(path); err != nil { // stale: its server is gone
			return nil, fmt.Errorf("echo: removing stale socket: %w", err)
		}
	}
	// The socket file gets its mode at creation: no moment where it is
	// more open than asked.
	unixMu.Lock()
	old := syscall.Umask(int(^mode & 0o777))
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	unixMu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, mode&0o777); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Serve accepts connections until ctx is done, then closes the listener,
// closes the connections still open and waits for their handlers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.conns = map[net.Conn]struct{}{}
	s.mu.Unlock()
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		ln.Close()
	}()
	defer close(stop)
	slots := make(chan struct{}, s.MaxConns)
	var backoff time.Duration
	for {
		select { // a slot first: at the cap, clients wait in the backlog
		case slots <- struct{}{}:
		case <-ctx.Done():
			s.shutdown()
			return nil
		}
		c, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				break
			}
			if temporary(err) {
				// Out of descriptors (EMFILE, ENFILE), a timeout, …: keep
				// serving, after a pause that doubles up to a second.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.Log.Printf("echo: accept: %v; retrying in %v", err, backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				continue
			}
			s.shutdown()
			return err
		}
		backoff = 0
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer func() { <-slots }()
			defer s.wg.Done()
			s.handle(c)
		}()
	}
	s.shutdown()
	return nil
}

// temporary reports whether an Accept error will likely pass.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Server) shutdown() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// timedConn applies the idle timeout until a frame's first byte arrives,
// then the read timeout for the rest of that frame.
type timedConn struct {
	net.Conn
	read    time.Duration
	started bool
}

func (t *timedConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 && !t.started {
		t.started = true
		t.Conn.SetReadDeadline(deadline(t.read))
	}
	return n, err
}

// next arms the idle timeout for the next frame.
func (t *timedConn) next(idle time.Duration) {
	t.started = false
	t.Conn.SetReadDeadline(deadline(idle))
}

func deadline(d time.Duration) time.Time {
	if d < 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// ServeConn serves one connection until it ends, then closes it: for a
// listener of one's own (Serve calls it for each connection it accepts).
func (s *Server) ServeConn(c net.Conn) error {
	if err := s.Validate(); err != nil {
		c.Close()
		return err
	}
	s.handle(c)
	return nil
}

func (s *Server) handle(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	peer := c.RemoteAddr().String()
	tc := &timedConn{Conn: c, read: s.ReadTimeout}
	fr := frame.NewReader(tc, s.MaxFrame)
	var out segments.List
	defer out.Release()
	for {
		tc.next(s.IdleTimeout)
		f, err := fr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			s.Log.Printf("echo: dropping %s: %v", peer, err)
			return
		}
		c.SetWriteDeadline(deadline(s.WriteTimeout))
		err = s.reply(c, f, &out)
		f.Release()
		out.Reset()
		if err != nil {
			s.Log.Printf("echo: dropping %s: %v", peer, err)
			return
		}
	}
}

// decodeLimits are the unpickler's limits in decode mode, scaled to the
// largest frame: no payload or allocation larger than the frame could
// justify.
func (s *Server) decodeLimits() []unpickler.Option {
	return []unpickler.Option{
		unpickler.MaxLength(s.MaxFrame),
		unpickler.MaxAlloc(2 * s.MaxFrame),
		unpickler.MaxMemo(int(min(s.MaxFrame/2, 1<<22))),
		unpickler.MaxDepth(unpickler.DefaultMaxDepth),
	}
}

func (s *Server) reply(c net.Conn, f *frame.Frame, out *segments.List) error {
	if s.Mode == Raw {
		_, err := segments.WriteBuffers(c, [][]byte{f.Raw})
		return err
	}
	opts := append(s.decodeLimits(), unpickler.Buffers(f.Buffers...), unpickler.ZeroCopy(true))
	v, err := unpickler.Load(f.Pickle, opts...)
	if err != nil {
		return err
	}
	// Shared values decode once but may be written once per reference (a
	// str under 64 bytes has no identity for the pickler): check what the
	// reply would weigh before building it.
	limit := min(s.MaxFrame, MaxExpansion*int64(len(f.Raw))+1<<20)
	if n, ok := replySize(v, limit); !ok {
		return fmt.Errorf("reply would exceed the maximum frame or %dx the request, %d bytes (%d bytes and more; shared values expand)", MaxExpansion, limit, n)
	}
	// Buffers that came out of band go back out of band.
	var oob [][]byte
	err = pickler.EncodeTo(out, v, pickler.BufferCallback(func(b py.PickleBuffer) bool {
		oob = append(oob, b.Data)
		return false
	}))
	if err != nil {
		return err
	}
	size := int64(out.Len())
	for _, b := range oob {
		size += int64(len(b))
	}
	if size > limit {
		return fmt.Errorf("reply of %d bytes would exceed the maximum frame or %dx the request, %d bytes", size, MaxExpansion, limit)
	}
	_, err = frame.WriteList(c, out, oob)
	return err
}

// replySize estimates, from above, the bytes the pickler writes for v: it
// walks v as the pickler does, counting a str at each reference (strings
// have no identity to memoize) and a slice, map or pointer once (the
// pickler memoizes those). It stops, with ok false, past limit bytes or
// limit/8 values, so its time is bounded by the limit too.
// sharedStr identifies a Go string by its bytes' address and length.
type sharedStr struct {
	p *byte
	n int
}

func replySize(v any, limit int64) (n int64, ok bool) {
	seen := map[any]struct{}{}
	stack := []any{v}
	nodes := limit / 8
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if nodes--; nodes < 0 || n > limit {
			return n, false
		}
		n += 16 // opcode, length, memo, batching: generous
		once := func(key any) bool {
			if _, dup := seen[key]; dup {
				return false
			}
			seen[key] = struct{}{}
			return true
		}
		switch x := x.(type) {
		case string:
			// The pickler writes a str of 64 bytes or more reached again
			// through one Go string once, then memo GETs (a decoded str
			// referenced many times is one Go string); shorter ones at each
			// reference.
			if len(x) >= 64 && !once(sharedStr{unsafe.StringData(x), len(x)}) {
				n -= 16 - 5 // a memo GET (5 bytes at most), not the str again
			} else {
				n += int64(len(x))
			}
		case []byte:
			if len(x) == 0 || once(&x[0]) {
				n += int64(len(x))
			}
		case py.ByteArray:
			n += int64(len(x))
		case py.ByteString:
			n += int64(len(x))
		case *big.Int:
			n += int64(x.BitLen()/8 + 1)
		case []any:
			if len(x) == 0 || once(&x[0]) {
				stack = append(stack, x...)
			}
		case py.Tuple:
			if len(x) == 0 || once(&x[0]) {
				stack = append(stack, x...)
			}
		case *py.Dict:
			if once(x) {
				for _, it := range x.Items() {
					stack = append(stack, it.Key, it.Value)
				}
			}
		case *py.Set:
			if once(x) {
				stack = append(stack, x.Items()...)
			}
		case *py.FrozenSet:
			if once(x) {
				stack = append(stack, x.Items()...)
			}
		case *py.Call:
			if once(x) {
				stack = append(stack, x.Callable, x.Args, x.State)
				stack = append(stack, x.ListItems...)
				for _, it := range x.DictItems {
					stack = append(stack, it.Key, it.Value)
				}
			}
		case *py.Object:
			if once(x) {
				stack = append(stack, x.Class, x.Args, x.State)
				if x.Kwargs != nil {
					stack = append(stack, x.Kwargs)
				}
				stack = append(stack, x.ListItems...)
				for _, it := range x.DictItems {
					stack = append(stack, it.Key, it.Value)
				}
			}
		case py.Global:
			n += int64(len(x.Module) + len(x.Name))
		case py.PersistentID:
			stack = append(stack, x.ID)
		case py.PickleBuffer:
			n += int64(len(x.Data))
		}
	}
	return n, n <= limit
}
