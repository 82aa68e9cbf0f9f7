package unpickler

import (
	"bytes"
	"io"
)

// source is the decoder's input: a current buffer and, for segment lists
// and readers, a way to get the next one. Bytes inside one buffer are
// returned as sub-slices (no copy); bytes that straddle buffers are
// gathered into a fresh slice.
type source struct {
	buf  []byte
	pos  int
	base int64 // offset of buf[0] in the pickle

	segs   [][]byte  // remaining segments (segment input)
	remain int64     // bytes left in segs, or -1 when unknown (reader)
	r      io.Reader // reader input
	rbuf   []byte    // reader's reusable buffer
	eof    bool
	err    error // the reader's error other than io.EOF, once it failed
	owned  bool  // buf is the reader's buffer: slices of it are not stable
}

// maxEmptyReads is how many (0, nil) reads in a row mean a reader makes no
// progress, as in bufio.
const maxEmptyReads = 100

// readSome reads at least one byte into p, or fails: with io.ErrNoProgress
// after maxEmptyReads empty reads without an error.
func readSome(r io.Reader, p []byte) (int, error) {
	for range maxEmptyReads {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// readFull is io.ReadFull over readSome.
func readFull(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := readSome(r, p[n:])
		n += k
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			if n == len(p) {
				return n, nil
			}
			return n, err
		}
	}
	return n, nil
}

// fail records a reader error and ends the input.
func (s *source) fail(err error) {
	s.eof = true
	if err != io.EOF && err != io.ErrUnexpectedEOF && s.err == nil {
		s.err = err
	}
}

func newBytesSource(b []byte) source { return source{buf: b, remain: 0} }

func newSegmentSource(segs [][]byte) source {
	s := source{}
	for _, sg := range segs {
		s.remain += int64(len(sg))
	}
	s.segs = segs
	s.advance()
	return s
}

func newReaderSource(r io.Reader) source {
	return source{r: r, remain: -1, owned: true, rbuf: make([]byte, 64<<10)}
}

// offset is the absolute offset of the next byte.
func (s *source) offset() int64 { return s.base + int64(s.pos) }

// available reports how many more bytes the input can still provide, or -1
// when it cannot know (a reader).
func (s *source) available() int64 {
	if s.remain < 0 {
		return -1
	}
	return int64(len(s.buf)-s.pos) + s.remain
}

// advance moves to the next non-empty segment or reader chunk; false at end.
func (s *source) advance() bool {
	s.base += int64(len(s.buf))
	s.buf, s.pos = nil, 0
	if s.r != nil {
		if s.eof {
			return false
		}
		n, err := readSome(s.r, s.rbuf)
		if n > 0 {
			s.buf = s.rbuf[:n]
			return true
		}
		s.fail(err)
		return false
	}
	for len(s.segs) > 0 {
		sg := s.segs[0]
		s.segs = s.segs[1:]
		s.remain -= int64(len(sg))
		if len(sg) > 0 {
			s.buf = sg
			return true
		}
	}
	return false
}

func (s *source) readByte() (byte, bool) {
	if s.pos < len(s.buf) {
		c := s.buf[s.pos]
		s.pos++
		return c, true
	}
	if !s.advance() {
		return 0, false
	}
	c := s.buf[0]
	s.pos = 1
	return c, true
}

// Where the bytes returned by read live.
const (
	inInput   = iota // a slice of the caller's input (stable while it is)
	private          // a fresh slice nobody else holds
	transient        // the reader's reusable buffer: copy before the next read
)

// read returns the next n bytes and where they live. An n the input cannot
// provide fails before anything is allocated; for a reader, memory grows
// only as data arrives, and large reads bypass the reader's buffer.
func (s *source) read(n int64) (b []byte, where int, ok bool) {
	if n < 0 {
		return nil, 0, false
	}
	if int64(len(s.buf)-s.pos) >= n {
		b = s.buf[s.pos : s.pos+int(n) : s.pos+int(n)]
		s.pos += int(n)
		if s.owned {
			return b, transient, true
		}
		return b, inInput, true
	}
	if a := s.available(); a >= 0 && a < n {
		return nil, 0, false
	}
	// Memory grows with what has arrived (at most double, plus 64 KiB), never
	// with what the length prefix claims.
	out := make([]byte, 0, min(n, int64(len(s.buf)-s.pos)+64<<10))
	out = append(out, s.buf[s.pos:]...)
	s.pos = len(s.buf)
	for int64(len(out)) < n {
		left := n - int64(len(out))
		if s.r != nil && left >= int64(len(s.rbuf)) {
			// Straight into the destination, in steps that double with
			// what has arrived.
			step := int(min(left, int64(max(64<<10, len(out)))))
			if cap(out)-len(out) < step {
				grown := make([]byte, len(out), min(n, int64(len(out)+step)))
				copy(grown, out)
				out = grown
			}
			k, err := readFull(s.r, out[len(out):len(out)+step])
			out = out[:len(out)+k]
			s.base += int64(k)
			if err != nil {
				s.fail(err)
				return nil, 0, false
			}
			continue
		}
		if !s.advance() {
			return nil, 0, false
		}
		k := min(int64(len(s.buf)-s.pos), left)
		out = append(out, s.buf[s.pos:s.pos+int(k)]...)
		s.pos += int(k)
	}
	return out, private, true
}

// readLine returns the bytes up to (not including) the next '\n'. tooLong
// is true when more than max bytes came without one; ok is false when the
// input ended first.
func (s *source) readLine(max int) (line []byte, ok, tooLong bool) {
	rest := s.buf[s.pos:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 && i <= max {
		s.pos += i + 1
		return rest[:i], true, false
	}
	var out []byte
	for {
		rest := s.buf[s.pos:]
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			if len(out)+i > max {
				return nil, false, true
			}
			s.pos += i + 1
			return append(out, rest[:i]...), true, false
		}
		if len(out)+len(rest) > max {
			return nil, false, true
		}
		out = append(out, rest...)
		s.pos = len(s.buf)
		if !s.advance() {
			return nil, false, false
		}
	}
}

// atEnd reports whether the input is exhausted.
func (s *source) atEnd() bool {
	if s.pos < len(s.buf) {
		return false
	}
	if s.r != nil {
		return s.eof || !s.advance()
	}
	for len(s.segs) > 0 {
		if len(s.segs[0]) > 0 {
			return false
		}
		s.segs = s.segs[1:]
	}
	return true
}
