package unpickler

import (
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
	owned  bool // buf is the reader's buffer: slices of it are not stable
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
		n, err := io.ReadAtLeast(s.r, s.rbuf, 1)
		if n > 0 {
			s.buf = s.rbuf[:n]
			return true
		}
		if err != nil {
			s.eof = true
		}
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

// read returns the next n bytes. stable is true when the slice aliases the
// caller's input (not a reader's reusable buffer). An n the input cannot
// provide fails before anything is allocated; for a reader, memory grows
// only as data arrives.
func (s *source) read(n int64) (b []byte, stable bool, ok bool) {
	if n < 0 {
		return nil, false, false
	}
	if int64(len(s.buf)-s.pos) >= n {
		b = s.buf[s.pos : s.pos+int(n) : s.pos+int(n)]
		s.pos += int(n)
		return b, !s.owned, true
	}
	if a := s.available(); a >= 0 && a < n {
		return nil, false, false
	}
	// Gather across buffers, growing in steps bounded by what arrived.
	out := make([]byte, 0, min(n, 1<<20))
	for int64(len(out)) < n {
		if s.pos == len(s.buf) && !s.advance() {
			return nil, false, false
		}
		k := min(int64(len(s.buf)-s.pos), n-int64(len(out)))
		out = append(out, s.buf[s.pos:s.pos+int(k)]...)
		s.pos += int(k)
	}
	return out, false, true
}

// readLine returns the bytes up to (not including) the next '\n', at most
// max bytes.
func (s *source) readLine(max int) ([]byte, bool) {
	for i := s.pos; i < len(s.buf); i++ {
		if s.buf[i] == '\n' {
			line := s.buf[s.pos:i]
			s.pos = i + 1
			return line, true
		}
		if i-s.pos > max {
			return nil, false
		}
	}
	var out []byte
	for {
		c, ok := s.readByte()
		if !ok || len(out) > max {
			return nil, false
		}
		if c == '\n' {
			return out, true
		}
		out = append(out, c)
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
