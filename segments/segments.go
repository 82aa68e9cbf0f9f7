// Package segments is a list of byte segments that decides, in one place,
// whether written bytes are copied or referenced.
//
// Small writes are copied into pooled chunks and coalesced; a write of at
// least Threshold bytes is kept by reference as a segment of its own, never
// copied. The list is sent with one vectored write (writev) by WriteTo, read
// with Reader, or joined into one slice only when a caller asks (Bytes,
// AppendTo). It knows nothing about pickle.
//
// # Ownership
//
// A slice passed to Write or Ref at or above the threshold is referenced: the
// caller must not modify it until the List is Reset or Released, or until the
// bytes have been written out and are no longer needed. Slices returned by
// Segments, Buffers and Reserve alias the List's own memory and are valid only
// until the next Reset or Release. A List is not safe for concurrent use.
package segments

import (
	"bytes"
	"io"
	"net"
	"sync"
	"unsafe"
)

const (
	// DefaultThreshold is the size at and above which Write keeps a
	// reference instead of copying. Below it, copying into a chunk is
	// cheaper than one more iovec.
	DefaultThreshold = 2048
	// MinThreshold is the smallest threshold accepted by SetThreshold.
	MinThreshold = 16

	smallChunk = 4 << 10
	bigChunk   = 64 << 10
)

var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, smallChunk); return &b }}
	bigPool   = sync.Pool{New: func() any { b := make([]byte, bigChunk); return &b }}
)

// List is a sequence of byte segments. The zero value is ready to use with
// DefaultThreshold.
type List struct {
	segs      [][]byte  // finished segments
	cur       []byte    // chunk being filled: cur[:curLen] holds data
	curStart  int       // start of the not-yet-finished segment in cur
	owned     []*[]byte // pooled chunks to give back
	n         int       // total bytes
	threshold int
	nrefs     int
}

// New returns an empty List whose Write references slices of at least
// threshold bytes (DefaultThreshold if threshold <= 0).
func New(threshold int) *List {
	l := &List{}
	l.SetThreshold(threshold)
	return l
}

// SetThreshold sets the reference threshold; values below MinThreshold are
// raised to it, and 0 or less selects DefaultThreshold.
func (l *List) SetThreshold(t int) {
	switch {
	case t <= 0:
		t = DefaultThreshold
	case t < MinThreshold:
		t = MinThreshold
	}
	l.threshold = t
}

// Threshold returns the reference threshold in force.
func (l *List) Threshold() int {
	if l.threshold == 0 {
		return DefaultThreshold
	}
	return l.threshold
}

// Len returns the total number of bytes in the list.
func (l *List) Len() int { return l.n }

// RefCount returns how many segments are references to caller memory.
func (l *List) RefCount() int { return l.nrefs }

// Write appends p: by reference if len(p) >= Threshold, else by copy.
// It never fails.
func (l *List) Write(p []byte) (int, error) {
	if len(p) >= l.Threshold() {
		l.Ref(p)
		return len(p), nil
	}
	l.copyIn(p)
	return len(p), nil
}

// WriteString appends s by copy.
func (l *List) WriteString(s string) (int, error) {
	n := len(s)
	for len(s) > 0 {
		dst := l.room(1)
		k := copy(dst, s)
		l.cur = l.cur[:len(l.cur)+k]
		l.n += k
		s = s[k:]
	}
	return n, nil
}

// WriteByte appends one byte.
func (l *List) WriteByte(c byte) error {
	if len(l.cur) == cap(l.cur) {
		l.grow(1)
	}
	l.cur = append(l.cur, c)
	l.n++
	return nil
}

// Copy appends a copy of p whatever its size.
func (l *List) Copy(p []byte) { l.copyIn(p) }

// Ref appends p as a segment of its own, by reference, whatever its size.
func (l *List) Ref(p []byte) {
	if len(p) == 0 {
		return
	}
	l.finishCur()
	l.segs = append(l.segs, p)
	l.n += len(p)
	l.nrefs++
}

// Reserve appends n contiguous bytes that the caller fills in later through
// the returned slice, which stays valid until Reset or Release.
func (l *List) Reserve(n int) []byte {
	if n <= 0 {
		return nil
	}
	if cap(l.cur)-len(l.cur) < n {
		l.grow(n)
	}
	s := len(l.cur)
	l.cur = l.cur[:s+n]
	l.n += n
	return l.cur[s : s+n : s+n]
}

// Unreserve removes a region returned by Reserve, provided every byte
// written since lies in the same chunk right after it (nothing was
// referenced and no new chunk started); bytes after it move back. It
// reports whether it could.
func (l *List) Unreserve(r []byte) bool {
	if len(r) == 0 || len(l.cur) < len(r) {
		return len(r) == 0
	}
	base := l.cur[:cap(l.cur)]
	// r's offset in the current chunk, by address.
	d := uintptr(unsafe.Pointer(&r[0])) - uintptr(unsafe.Pointer(&base[0]))
	if uintptr(unsafe.Pointer(&r[0])) < uintptr(unsafe.Pointer(&base[0])) ||
		d < uintptr(l.curStart) || d+uintptr(len(r)) > uintptr(len(l.cur)) {
		return false
	}
	off := int(d)
	copy(base[off:], base[off+len(r):len(l.cur)])
	l.cur = l.cur[:len(l.cur)-len(r)]
	l.n -= len(r)
	return true
}

func (l *List) copyIn(p []byte) {
	for len(p) > 0 {
		dst := l.room(1)
		k := copy(dst, p)
		l.cur = l.cur[:len(l.cur)+k]
		l.n += k
		p = p[k:]
	}
}

// room returns the free tail of the current chunk, at least min bytes long.
func (l *List) room(min int) []byte {
	if cap(l.cur)-len(l.cur) < min {
		l.grow(min)
	}
	return l.cur[len(l.cur):cap(l.cur)]
}

// Grow makes sure at least n bytes can be appended to the current chunk
// without starting a new one and returns the free tail, which the caller
// fills and then commits with Commit.
func (l *List) Grow(n int) []byte { return l.room(n) }

// Commit records that the first k bytes of the slice returned by Grow were
// written.
func (l *List) Commit(k int) {
	l.cur = l.cur[:len(l.cur)+k]
	l.n += k
}

func (l *List) grow(min int) {
	l.finishCur()
	var p *[]byte
	switch {
	case len(l.owned) == 0 && min <= smallChunk:
		p = smallPool.Get().(*[]byte)
	case min <= bigChunk:
		p = bigPool.Get().(*[]byte)
	default: // a chunk of its own, not pooled
		b := make([]byte, min)
		p = &b
	}
	l.owned = append(l.owned, p)
	l.cur = (*p)[:0]
	l.curStart = 0
}

// finishCur moves the pending part of the current chunk into segs, so that a
// reference can follow it; later small writes continue in the same chunk.
func (l *List) finishCur() {
	if len(l.cur) > l.curStart {
		l.segs = append(l.segs, l.cur[l.curStart:len(l.cur):len(l.cur)])
		l.curStart = len(l.cur)
	}
}

// Segments returns the segments in order, without copying. The slice and
// the segments are valid until the next write, Reset or Release.
func (l *List) Segments() [][]byte {
	l.finishCur()
	return l.segs
}

// NumSegments returns the number of segments.
func (l *List) NumSegments() int { return len(l.Segments()) }

// Buffers returns the segments as net.Buffers (a fresh slice header, so the
// caller's WriteTo consuming it does not disturb the list).
func (l *List) Buffers() net.Buffers {
	s := l.Segments()
	return append(net.Buffers(nil), s...)
}

// AppendTo appends the contents to dst and returns the extended slice.
func (l *List) AppendTo(dst []byte) []byte {
	if cap(dst)-len(dst) < l.n {
		nd := make([]byte, len(dst), len(dst)+l.n)
		copy(nd, dst)
		dst = nd
	}
	for _, s := range l.Segments() {
		dst = append(dst, s...)
	}
	return dst
}

// Bytes returns the contents as one newly allocated slice. (bytes.Join
// allocates it without zeroing what the copies overwrite at once: for a
// large pickle, make's zeroing was a pass over memory as long as the copy.)
func (l *List) Bytes() []byte { return bytes.Join(l.Segments(), nil) }

// WriteTo writes every segment to w. Where w is a file or socket that exposes
// its descriptor (os.File, net.TCPConn, net.UnixConn) this is one writev per
// 1024 segments; otherwise the segments are written in order.
func (l *List) WriteTo(w io.Writer) (int64, error) {
	return WriteBuffers(w, l.Segments())
}

// ErrShortWrite is io.ErrShortWrite, which WriteTo, WriteBuffers and
// WriteFD return when a writer accepts fewer bytes than given without
// reporting an error. It is kept under this name for existing callers.
var ErrShortWrite = io.ErrShortWrite

// WriteBuffers writes bufs to w with vectored I/O where w supports it.
func WriteBuffers(w io.Writer, bufs [][]byte) (int64, error) {
	if n, err, ok := writevTo(w, bufs); ok {
		return n, err
	}
	want := int64(0)
	for _, b := range bufs {
		want += int64(len(b))
	}
	nb := append(net.Buffers(nil), bufs...)
	n, err := nb.WriteTo(w)
	if err == nil && n != want { // a writer that broke io.Writer's contract
		err = io.ErrShortWrite
	}
	return n, err
}

// Reset empties the list, keeping one chunk for reuse, and drops every
// reference it held.
func (l *List) Reset() {
	for i := range l.segs {
		l.segs[i] = nil
	}
	l.segs = l.segs[:0]
	keep := 0
	if len(l.owned) > 0 {
		keep = 1
		for _, p := range l.owned[1:] {
			putChunk(p)
		}
		l.owned = l.owned[:1]
		l.cur = (*l.owned[0])[:0]
	}
	if keep == 0 {
		l.cur = nil
	}
	l.curStart = 0
	l.n = 0
	l.nrefs = 0
}

// Release empties the list and returns all its chunks to the pool. The List
// may be used again afterwards.
func (l *List) Release() {
	for _, p := range l.owned {
		putChunk(p)
	}
	for i := range l.owned {
		l.owned[i] = nil
	}
	l.owned = l.owned[:0]
	l.cur = nil
	l.Reset()
}

func putChunk(p *[]byte) {
	switch cap(*p) {
	case smallChunk:
		smallPool.Put(p)
	case bigChunk:
		bigPool.Put(p)
	}
}

// Reader returns an io.Reader over the list's current contents.
func (l *List) Reader() *Reader { return NewReader(l.Segments()) }

// Reader reads a sequence of segments in order without joining them.
type Reader struct {
	segs [][]byte
	off  int
}

// NewReader returns a Reader over segs; it does not copy them.
func NewReader(segs [][]byte) *Reader { return &Reader{segs: segs} }

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.segs) > 0 {
		k := copy(p[n:], r.segs[0][r.off:])
		n += k
		r.off += k
		if r.off == len(r.segs[0]) {
			r.segs = r.segs[1:]
			r.off = 0
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Next returns the unread part of the current segment and advances past it,
// or nil at the end: a zero-copy way to walk the segments.
func (r *Reader) Next() []byte {
	for len(r.segs) > 0 {
		s := r.segs[0][r.off:]
		r.segs = r.segs[1:]
		r.off = 0
		if len(s) > 0 {
			return s
		}
	}
	return nil
}

// WriteTo implements io.WriterTo with vectored I/O.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var segs [][]byte
	if len(r.segs) > 0 {
		segs = append(segs, r.segs[0][r.off:])
		segs = append(segs, r.segs[1:]...)
	}
	r.segs, r.off = nil, 0
	return WriteBuffers(w, segs)
}
