// Package frame is segpickle's wire framing: a versioned, length-prefixed
// frame that carries one pickle and its protocol-5 out-of-band buffers.
// Writing sends the header and every segment with one vectored write where
// the connection allows; reading fills one contiguous, pooled buffer. It
// knows nothing about pickle.
//
// # Format (version 1)
//
//	offset  size     field
//	0       2        magic "SP"
//	2       1        version, 1
//	3       1        flags, 0 (reserved)
//	4       4        n: number of out-of-band buffers, uint32 little-endian
//	8       8        body: length of the pickle, uint64 little-endian
//	16      8×n      length of each out-of-band buffer, uint64 little-endian
//	…       body     the pickle
//	…       …        the buffers, in order, back to back
//
// A reader refuses a frame whose total length passes its maximum before it
// allocates anything.
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/segpickle/segpickle/segments"
)

// Format constants.
const (
	Version    = 1
	HeaderSize = 16
	// MaxBuffers bounds the out-of-band buffer count of one frame.
	MaxBuffers = 1 << 16
	// DefaultMaxFrame is the default largest frame a Reader accepts.
	DefaultMaxFrame = 1 << 30
)

var magic = [2]byte{'S', 'P'}

// Errors a Reader returns; match them with errors.Is.
var (
	ErrBadMagic   = errors.New("frame: bad magic (not a segpickle frame)")
	ErrBadVersion = errors.New("frame: unsupported version")
	ErrTooLarge   = errors.New("frame: larger than the maximum")
	ErrTruncated  = errors.New("frame: connection ended inside a frame")
)

// Header builds the header for a pickle of body bytes and the given
// out-of-band buffer lengths.
func Header(body int, bufLens []int) []byte {
	h := make([]byte, HeaderSize+8*len(bufLens))
	copy(h, magic[:])
	h[2] = Version
	binary.LittleEndian.PutUint32(h[4:], uint32(len(bufLens)))
	binary.LittleEndian.PutUint64(h[8:], uint64(body))
	for i, n := range bufLens {
		binary.LittleEndian.PutUint64(h[HeaderSize+8*i:], uint64(n))
	}
	return h
}

// Write sends one frame: the pickle held in body (a segment list) and the
// out-of-band buffers, as one vectored write where w supports it.
func Write(w io.Writer, body [][]byte, buffers [][]byte) (int64, error) {
	if len(buffers) > MaxBuffers {
		return 0, fmt.Errorf("frame: %d buffers, at most %d", len(buffers), MaxBuffers)
	}
	n := 0
	for _, s := range body {
		n += len(s)
	}
	lens := make([]int, len(buffers))
	for i, b := range buffers {
		lens[i] = len(b)
	}
	all := make([][]byte, 0, 1+len(body)+len(buffers))
	all = append(all, Header(n, lens))
	all = append(all, body...)
	all = append(all, buffers...)
	return segments.WriteBuffers(w, all)
}

// WriteList sends a frame whose pickle is a segment list.
func WriteList(w io.Writer, l *segments.List, buffers [][]byte) (int64, error) {
	return Write(w, l.Segments(), buffers)
}

// Frame is one received frame. Pickle and Buffers are slices of one
// contiguous buffer that Release returns to the pool: do not use them after.
type Frame struct {
	Pickle  []byte
	Buffers [][]byte
	Raw     []byte // the whole frame as received, header included
	buf     *[]byte
}

// Release returns the frame's memory to the pool.
func (f *Frame) Release() {
	if f.buf != nil {
		putBuf(f.buf)
		f.buf = nil
	}
	f.Pickle, f.Buffers, f.Raw = nil, nil, nil
}

// Reader reads frames from a stream.
type Reader struct {
	r   io.Reader
	max int64
	hdr [HeaderSize]byte
}

// NewReader returns a Reader that refuses frames over max bytes
// (DefaultMaxFrame if max <= 0).
func NewReader(r io.Reader, max int64) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{r: r, max: max}
}

// Read reads the next frame. At a clean end of stream (no byte of a new
// frame) it returns io.EOF.
func (fr *Reader) Read() (*Frame, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: header: %v", ErrTruncated, err)
	}
	h := fr.hdr[:]
	if h[0] != magic[0] || h[1] != magic[1] {
		return nil, ErrBadMagic
	}
	if h[2] != Version {
		return nil, fmt.Errorf("%w %d", ErrBadVersion, h[2])
	}
	nbuf := binary.LittleEndian.Uint32(h[4:])
	body := binary.LittleEndian.Uint64(h[8:])
	if nbuf > MaxBuffers {
		return nil, fmt.Errorf("%w: %d buffers", ErrTooLarge, nbuf)
	}
	total := uint64(HeaderSize) + 8*uint64(nbuf)
	if body > uint64(fr.max) || total+body > uint64(fr.max) {
		return nil, fmt.Errorf("%w: body of %d bytes, maximum %d", ErrTooLarge, body, fr.max)
	}
	lensRaw := make([]byte, 8*nbuf)
	if _, err := io.ReadFull(fr.r, lensRaw); err != nil {
		return nil, fmt.Errorf("%w: buffer lengths: %v", ErrTruncated, err)
	}
	lens := make([]uint64, nbuf)
	size := total + body
	for i := range lens {
		lens[i] = binary.LittleEndian.Uint64(lensRaw[8*i:])
		if lens[i] > uint64(fr.max) || size+lens[i] > uint64(fr.max) {
			return nil, fmt.Errorf("%w: buffer %d of %d bytes", ErrTooLarge, i, lens[i])
		}
		size += lens[i]
	}
	p := getBuf(int(size))
	raw := (*p)[:size]
	copy(raw, h)
	copy(raw[HeaderSize:], lensRaw)
	if _, err := io.ReadFull(fr.r, raw[total:]); err != nil {
		putBuf(p)
		return nil, fmt.Errorf("%w: %v", ErrTruncated, err)
	}
	f := &Frame{Raw: raw, buf: p}
	off := total
	f.Pickle = raw[off : off+body : off+body]
	off += body
	for _, n := range lens {
		f.Buffers = append(f.Buffers, raw[off:off+n:off+n])
		off += n
	}
	return f, nil
}

// Buffers are pooled by power-of-two size class from 4 KiB to 64 MiB;
// larger frames get a buffer of their own.
var pools [15]sync.Pool

func class(n int) int {
	c, size := 0, 4096
	for size < n {
		size <<= 1
		c++
	}
	return c
}

func getBuf(n int) *[]byte {
	c := class(n)
	if c >= len(pools) {
		b := make([]byte, n)
		return &b
	}
	if p, ok := pools[c].Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 4096<<c)
	return &b
}

func putBuf(p *[]byte) {
	c := class(cap(*p))
	if c < len(pools) && cap(*p) == 4096<<c {
		*p = (*p)[:cap(*p)]
		pools[c].Put(p)
	}
}
