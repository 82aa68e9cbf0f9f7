// Package channel is the Go counterpart of Python's segpickle.Channel: it
// sends and receives Go values as pickles inside frames (package frame),
// with protocol-5 out-of-band buffers travelling beside the pickle, 64-byte
// aligned on arrival. A Go program and a Python program holding a
// segpickle.Channel talk to each other through it.
//
// Which API speaks which format:
//
//   - pickler.Encoder / unpickler.Decoder and Marshal / Unmarshal speak raw
//     pickles, back to back, as Python's pickle.dump / pickle.load on a
//     stream do. They cannot carry out-of-band buffers.
//   - channel.Conn, frame, and Python's segpickle.Channel speak frames: a
//     header with lengths, the pickle, then the out-of-band buffers. A raw
//     pickle reader fed a frame fails on its first bytes ("SP\x02…"), and a
//     frame reader fed a raw pickle fails with frame.ErrBadMagic.
//
// Values are encoded with pickler.EncodeTo and decoded with
// unpickler.Unmarshal; Send and Recv take their options. A py.PickleBuffer
// (and anything a registered type turns into one, such as a numpy array)
// goes out of band unless OutOfBand(false); on receipt, out-of-band buffers
// come back as py.PickleBuffer values (ReadOnly when the sender marked them
// so) whose Data aliases the received frame, never copied.
package channel

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

// ErrClosed is returned by every method of a closed Conn.
var ErrClosed = errors.New("channel: use of a closed Conn")

// Option configures a Conn.
type Option func(*config)

type config struct {
	outOfBand bool
	maxFrame  int64
	timeout   time.Duration
}

// OutOfBand says whether Send sends py.PickleBuffer values out of band (the
// default, true) or inside the pickle.
func OutOfBand(on bool) Option { return func(c *config) { c.outOfBand = on } }

// MaxFrame bounds a received frame in bytes (default frame.DefaultMaxFrame);
// a larger frame is refused before anything is allocated.
func MaxFrame(n int64) Option { return func(c *config) { c.maxFrame = n } }

// Timeout bounds each Send and Recv as a whole when the underlying
// connection has deadlines (a net.Conn); zero, the default, means none.
// A timed-out call returns an error for which os.IsTimeout is true.
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// deadliner is what a net.Conn offers for timeouts.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// Conn sends and receives values as frames over a stream. One goroutine
// may Send while another Recvs; concurrent Sends (or Recvs) are serialized.
type Conn struct {
	rw  io.ReadWriter
	cfg config

	wmu    sync.Mutex
	list   segments.List
	oob    [][]byte
	rmu    sync.Mutex
	fr     *frame.Reader
	closed atomic.Bool
	broken atomic.Pointer[error]
}

// New returns a Conn over rw (a net.Conn, or any stream). Close closes rw
// when it is an io.Closer.
func New(rw io.ReadWriter, opts ...Option) (*Conn, error) {
	cfg := config{outOfBand: true, maxFrame: frame.DefaultMaxFrame}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxFrame < frame.HeaderSize || cfg.maxFrame > 1<<48 {
		return nil, fmt.Errorf("channel: invalid MaxFrame %d (range is [%d, %d])", cfg.maxFrame, frame.HeaderSize, int64(1)<<48)
	}
	if cfg.timeout < 0 {
		return nil, fmt.Errorf("channel: invalid Timeout %v (must be >= 0)", cfg.timeout)
	}
	return &Conn{rw: rw, cfg: cfg, fr: frame.NewReader(rw, cfg.maxFrame)}, nil
}

// Dial connects to addr as Python's Channel does: "unix:/path" or a path
// with a slash is a Unix socket, anything else host:port over TCP. The
// Timeout option also bounds the connect.
func Dial(addr string, opts ...Option) (*Conn, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	network := "tcp"
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
	} else if strings.Contains(addr, "/") {
		network = "unix"
	}
	d := net.Dialer{Timeout: max(cfg.timeout, 0)}
	nc, err := d.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	c, err := New(nc, opts...)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) check() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if p := c.broken.Load(); p != nil {
		return fmt.Errorf("channel: out of step with the peer after %w; close the Conn", *p)
	}
	return nil
}

func (c *Conn) breakWith(err error) { c.broken.CompareAndSwap(nil, &err) }

func (c *Conn) deadline(write bool) {
	d, ok := c.rw.(deadliner)
	if !ok {
		return
	}
	var t time.Time
	if c.cfg.timeout > 0 {
		t = time.Now().Add(c.cfg.timeout)
	}
	if write {
		d.SetWriteDeadline(t)
	} else {
		d.SetReadDeadline(t)
	}
}

// Send pickles v (pickler options apply; protocol 5 by default) and writes
// it as one frame with one vectored write. Large []byte and string payloads
// and out-of-band buffers are referenced, not copied: v must not change
// until Send returns.
func (c *Conn) Send(v any, opts ...pickler.Option) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	defer func() {
		c.list.Reset()
		clear(c.oob)
		c.oob = c.oob[:0]
	}()
	if c.cfg.outOfBand {
		opts = append([]pickler.Option{pickler.BufferCallback(func(b py.PickleBuffer) bool {
			c.oob = append(c.oob, b.Data)
			return false
		})}, opts...)
	}
	if err := pickler.EncodeTo(&c.list, v, opts...); err != nil {
		return err
	}
	return c.SendFrame(c.list.Segments(), c.oob)
}

// SendFrame writes a frame whose pickle is already encoded (as segments)
// with its out-of-band buffers.
func (c *Conn) SendFrame(pickle [][]byte, buffers [][]byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.deadline(true)
	n, err := frame.Write(c.rw, pickle, buffers)
	if err != nil && n > 0 {
		c.breakWith(fmt.Errorf("a send stopped after %d bytes: %w", n, err))
	}
	return err
}

// Recv reads one frame and unpickles it into v (unpickler options apply),
// with the frame's out-of-band buffers as unpickler.Buffers. At a clean
// end of stream it returns io.EOF. Out-of-band buffers decode as
// py.PickleBuffer values over the received frame (64-byte aligned), which
// belongs to v from then on.
func (c *Conn) Recv(v any, opts ...unpickler.Option) error {
	f, err := c.RecvFrame()
	if err != nil {
		return err
	}
	if len(f.Buffers) > 0 {
		opts = append([]unpickler.Option{unpickler.Buffers(f.Buffers...)}, opts...)
	}
	// The frame is not released to the pool: v may alias its buffers.
	return unpickler.Unmarshal(f.Pickle, v, opts...)
}

// RecvFrame reads one frame without decoding it (io.EOF at a clean end of
// stream). The caller may Release it once nothing uses its memory.
func (c *Conn) RecvFrame() (*frame.Frame, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if err := c.check(); err != nil {
		return nil, err
	}
	c.deadline(false)
	f, err := c.fr.Read()
	if errors.Is(err, frame.ErrTruncated) || errors.Is(err, frame.ErrBadMagic) ||
		errors.Is(err, frame.ErrBadVersion) || errors.Is(err, frame.ErrTooLarge) {
		// Stopped inside a frame, or a frame refused: the stream position
		// is unknown now. (A timeout before any byte leaves it in step.)
		c.breakWith(err)
	}
	return f, err
}

// Close closes the underlying stream when it is an io.Closer. Later calls
// return ErrClosed.
func (c *Conn) Close() error {
	c.closed.Store(true)
	if cl, ok := c.rw.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
