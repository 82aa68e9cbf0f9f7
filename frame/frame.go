// Package frame is segpickle's wire framing: a versioned, length-prefixed
// frame that carries one pickle and its protocol-5 out-of-band buffers.
// Writing sends the header and every segment with one vectored write where
// the connection allows; reading fills one contiguous, pooled buffer. It
// knows nothing about pickle.
//
// # Format (version 2)
//
//	offset  size     field
//	0       2        magic "SP"
//	2       1        version, 2
//	3       1        flags, 0 (reserved)
//	4       4        n: number of out-of-band buffers, uint32 little-endian
//	8       8        body: length of the pickle, uint64 little-endian
//	16      8×n      length of each out-of-band buffer, uint64 little-endian
//	…       body     the pickle
//	then, for each out-of-band buffer in order:
//	…       0–63     zero bytes up to the next multiple of 64 (from offset 0)
//	…       len      the buffer
//
// Every out-of-band buffer starts at a multiple of [Align] bytes from the
// frame's first byte, and a [Reader] receives the frame into memory that is
// itself Align-aligned, so each received buffer is 64-byte aligned (what
// numpy and SIMD code want). Padding bytes are written as zeros and ignored
// on reading.
//
// Version 1 is version 2 without the padding (the buffers follow the pickle
// back to back). Writers write version 2 only; a Reader still reads version
// 1 frames, whose buffers are then at whatever offset they fall. Any other
// version is refused with [ErrBadVersion].
//
// # Limits
//
// A Reader refuses a frame whose total length passes its maximum before it
// allocates anything, and grows its buffer with the bytes that actually
// arrive (in steps, starting at 16 KiB) rather than with the length a header
// declares, so a header claiming a gigabyte costs nothing until the bytes
// come.
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"unsafe"

	"github.com/segpickle/segpickle/segments"
)

// Format constants.
const (
	// Version is the version writers write.
	Version = 2
	// Version1 is the unpadded version that Readers still accept.
	Version1   = 1
	HeaderSize = 16
	// Align is the alignment of every out-of-band buffer in a version 2
	// frame, and of a Reader's receive buffer.
	Align = 64
	// MaxBuffers bounds the out-of-band buffer count of one frame.
	MaxBuffers = 1 << 16
	// DefaultMaxFrame is the default largest frame a Reader accepts.
	DefaultMaxFrame = 1 << 30
	// growStep is the first allocation for a frame larger than it; the
	// buffer then doubles as bytes arrive. It is small so that many
	// connections that each sent only a header claiming a large frame
	// hold little (16 KiB each until more arrives); a pooled buffer of
	// the full size is used when one is free, so the doubling costs only
	// on first use.
	growStep = 16 << 10
)

var magic = [2]byte{'S', 'P'}

// zeros is the padding source: at most Align-1 bytes are ever needed.
var zeros [Align]byte

// Errors a Reader returns; match them with errors.Is.
var (
	ErrBadMagic   = errors.New("frame: bad magic (not a segpickle frame)")
	ErrBadVersion = errors.New("frame: unsupported version (this reader knows versions 1 and 2)")
	ErrTooLarge   = errors.New("frame: larger than the maximum")
	ErrTruncated  = errors.New("frame: connection ended inside a frame")
)

// Header builds the version 2 header for a pickle of body bytes and the
// given out-of-band buffer lengths.
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

// pad is the number of zero bytes that bring off to a multiple of Align.
func pad(off uint64) uint64 { return -off & (Align - 1) }

// Layout returns where each out-of-band buffer starts in a version 2
// frame (offsets from the frame's first byte, each a multiple of Align) and
// the frame's total length.
func Layout(body int, bufLens []int) (offsets []int, total int) {
	off := uint64(HeaderSize+8*len(bufLens)) + uint64(body)
	offsets = make([]int, len(bufLens))
	for i, n := range bufLens {
		off += pad(off)
		offsets[i] = int(off)
		off += uint64(n)
	}
	return offsets, int(off)
}

// Write sends one version 2 frame: the pickle held in body (a segment
// list) and the out-of-band buffers, each padded to its aligned offset, as
// one vectored write where w supports it. It neither copies nor keeps the
// slices.
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
	all := make([][]byte, 0, 1+len(body)+2*len(buffers))
	all = append(all, Header(n, lens))
	all = append(all, body...)
	off := uint64(HeaderSize+8*len(buffers)) + uint64(n)
	for _, b := range buffers {
		if p := pad(off); p > 0 {
			all = append(all, zeros[:p])
			off += p
		}
		all = append(all, b)
		off += uint64(len(b))
	}
	return segments.WriteBuffers(w, all)
}

// WriteList sends a frame whose pickle is a segment list.
func WriteList(w io.Writer, l *segments.List, buffers [][]byte) (int64, error) {
	return Write(w, l.Segments(), buffers)
}

// Frame is one received frame. Pickle and Buffers are slices of one
// contiguous buffer that Release returns to the pool: do not use them
// after. A frame that is never released is simply collected.
type Frame struct {
	Pickle  []byte
	Buffers [][]byte // each Align-aligned in a version 2 frame
	Raw     []byte   // the whole frame as received, header and padding included
	Version int      // the version the frame was written in
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

// readFull is io.ReadFull that gives up with io.ErrNoProgress after 100
// consecutive empty reads without an error, as bufio does, instead of
// spinning on a broken reader.
func readFull(r io.Reader, b []byte) (int, error) {
	n, empty := 0, 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if n == len(b) {
			return n, nil
		}
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		if k == 0 {
			if empty++; empty >= 100 {
				return n, io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
	return n, nil
}

// Read reads the next frame. At a clean end of stream (no byte of a new
// frame) it returns io.EOF; any other error before the first byte of a
// frame (a deadline, a closed connection) is returned as it is, and one
// after it wraps ErrTruncated.
func (fr *Reader) Read() (*Frame, error) {
	if k, err := readFull(fr.r, fr.hdr[:]); err != nil {
		if k == 0 {
			return nil, err // nothing of a frame yet: io.EOF, a timeout, …
		}
		return nil, fmt.Errorf("%w: header: %w", ErrTruncated, err)
	}
	h := fr.hdr[:]
	if h[0] != magic[0] || h[1] != magic[1] {
		return nil, ErrBadMagic
	}
	version := h[2]
	if version != Version && version != Version1 {
		return nil, fmt.Errorf("%w: version %d", ErrBadVersion, version)
	}
	nbuf := binary.LittleEndian.Uint32(h[4:])
	body := binary.LittleEndian.Uint64(h[8:])
	if nbuf > MaxBuffers {
		return nil, fmt.Errorf("%w: %d buffers, at most %d", ErrTooLarge, nbuf, MaxBuffers)
	}
	max := uint64(fr.max)
	total := uint64(HeaderSize) + 8*uint64(nbuf)
	if body > max || total+body > max {
		return nil, fmt.Errorf("%w: body of %d bytes, maximum %d", ErrTooLarge, body, fr.max)
	}
	var lensRaw []byte
	if nbuf > 0 {
		lensRaw = make([]byte, 8*nbuf)
		if _, err := readFull(fr.r, lensRaw); err != nil {
			return nil, fmt.Errorf("%w: buffer lengths: %w", ErrTruncated, err)
		}
	}
	lens := make([]uint64, nbuf)
	offs := make([]uint64, nbuf)
	size := total + body
	for i := range lens {
		lens[i] = binary.LittleEndian.Uint64(lensRaw[8*i:])
		if version == Version {
			size += pad(size)
		}
		offs[i] = size
		if lens[i] > max || size+lens[i] > max {
			return nil, fmt.Errorf("%w: buffer %d of %d bytes, frame maximum %d", ErrTooLarge, i, lens[i], fr.max)
		}
		size += lens[i]
	}
	if size > math.MaxInt { // int has 32 bits here: a maximum over 2 GiB cannot be met
		return nil, fmt.Errorf("%w: frame of %d bytes, over what an int holds here", ErrTooLarge, size)
	}
	p, err := fr.fill(int(size), int(total), lensRaw)
	if err != nil {
		return nil, err
	}
	raw := (*p)[:size:size]
	f := &Frame{Raw: raw, Version: int(version), buf: p}
	f.Pickle = raw[total : total+body : total+body]
	if nbuf > 0 {
		f.Buffers = make([][]byte, nbuf)
		for i, n := range lens {
			f.Buffers[i] = raw[offs[i] : offs[i]+n : offs[i]+n]
		}
	}
	return f, nil
}

// fill returns a pooled, aligned buffer holding the whole frame of size
// bytes: the header and lengths already read, then the rest from the
// stream. Beyond growStep the buffer grows with the bytes that arrive.
func (fr *Reader) fill(size, prefix int, lensRaw []byte) (*[]byte, error) {
	var p *[]byte
	if size <= growStep {
		p = getBuf(size)
	} else if p = pooled(size); p == nil {
		p = getBuf(growStep)
	}
	b := *p
	copy(b, fr.hdr[:])
	copy(b[HeaderSize:], lensRaw)
	n := prefix
	for n < size {
		if n == cap(b) { // full: move to a buffer twice the size
			np := getBuf(min(size, 2*cap(b)))
			copy(*np, b[:n])
			putBuf(p)
			p, b = np, *np
		}
		end := min(size, cap(b))
		k, err := readFull(fr.r, b[n:end])
		n += k
		if err != nil {
			putBuf(p)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%w: %d of %d bytes: %w", ErrTruncated, n, size, err)
		}
	}
	return p, nil
}

// Buffers are pooled by power-of-two size class from 4 KiB to 1 GiB
// (DefaultMaxFrame's class: a 64 MiB array plus its header lands in the
// 128 MiB class, reused from one frame to the next); larger frames get a
// buffer of their own. Every buffer is Align-aligned. A pooled buffer's
// pages are touched only as far as frames have filled it.
var pools [19]sync.Pool

func class(n int) int {
	c, size := 0, 4096
	for size < n {
		size <<= 1
		c++
	}
	return c
}

// alignedMake returns n bytes starting at a multiple of Align.
func alignedMake(n int) []byte {
	raw := make([]byte, n+Align)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(raw))) & (Align - 1))
	return raw[off : off+n : off+n]
}

// pooled returns a pooled buffer for n bytes, or nil if none is free.
func pooled(n int) *[]byte {
	if c := class(n); c < len(pools) {
		if p, ok := pools[c].Get().(*[]byte); ok {
			return p
		}
	}
	return nil
}

func getBuf(n int) *[]byte {
	if p := pooled(n); p != nil {
		return p
	}
	c := class(n)
	if c >= len(pools) {
		b := alignedMake(n)
		return &b
	}
	b := alignedMake(4096 << c)
	return &b
}

func putBuf(p *[]byte) {
	c := class(cap(*p))
	if c < len(pools) && cap(*p) == 4096<<c {
		*p = (*p)[:cap(*p)]
		pools[c].Put(p)
	}
}
