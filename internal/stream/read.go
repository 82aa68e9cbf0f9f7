// Package stream is the opcode layer under the pickler and the unpickler:
// reading (read*.go) and writing (write*.go) one opcode and its argument,
// laid out by the argument kind of the generated opcode table
// (internal/opcode). Nothing above it decodes an argument's bytes by hand.
package stream

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"

	op "github.com/segpickle/segpickle/internal/opcode"
)

// Reader is a pickle's input: a current buffer and, for segment lists and
// readers, a way to get the next one. Bytes inside one buffer are returned
// as sub-slices (no copy); bytes that straddle buffers are gathered into a
// fresh slice. The zero Reader is an empty input.
type Reader struct {
	buf  []byte
	pos  int
	base int64 // offset of buf[0] in the input

	segs   [][]byte  // remaining segments (segment input)
	remain int64     // bytes left in segs, or -1 when unknown (reader)
	r      io.Reader // reader input
	rbuf   []byte    // reader's reusable buffer
	rend   int       // where in rbuf the part never handed out starts
	eof    bool
	err    error // the reader's error other than io.EOF, once it failed
	owned  bool  // buf is the reader's buffer: slices of it are not stable
	mk     *mark // a Reader over an io.Reader, between Mark and Release or Replay
}

// mark is what a Reader over an io.Reader keeps between Mark and Release
// or Replay: while it is on, reads go into memory nothing handed out
// lies in (the reusable buffer's part never read into, then fresh chunks),
// never over what was read, so every slice handed out since Mark stays
// valid (as over a segment list), and the input read since Mark is kept,
// in order, to be read again (Replay). It holds what was read, no more:
// memory grows with what arrives.
type mark struct {
	on      bool
	off     int64    // Offset at Mark
	kept    [][]byte // the input since Mark before the current buffer's part
	from    int      // where in the current buffer the part not yet kept starts
	chunk   []byte   // the free end of the chunk being read into
	last    []byte   // that chunk, whole (the reusable buffer after Release)
	start   int      // where in last the part read but not yet kept starts
	fill    int      // how much of last was read into
	inChunk bool     // reads since Mark went into last: the current buffer, if any, is in it
	chunks  int      // fresh chunks taken since Mark
	over    bool     // reads stopped at MarkedMax
}

// MarkedMax bounds the input a Mark keeps in chunks (payloads read
// straight into their own memory are kept by reference and not counted:
// the value decoded holds them anyway). Past it, reads end as if the input
// did, without an error of the io.Reader's (Over then reports true), so
// that the caller gives the marked attempt up and reads the input again
// from Replay in a way that keeps nothing: a pickle of 64 MiB and more of
// opcodes, or one that never ends (N0 N0 …), is not held in memory whole.
const MarkedMax = 64 << 20

// Over reports whether a marked Reader stopped at MarkedMax.
func (s *Reader) Over() bool { return s.mk != nil && s.mk.over }

// chunkMin is the least free space worth reading into; below it a fresh
// chunk is taken.
const chunkMin = 4 << 10

// keep adds the current buffer's part not yet kept to the kept input. A
// buffer read into the chunk adds all of the chunk read since its last
// piece: one piece per chunk (and per direct read between), not one per
// read, however short the reads.
func (mk *mark) keep(b []byte) {
	if mk.inChunk {
		if mk.fill > mk.start {
			mk.kept = append(mk.kept, mk.last[mk.start:mk.fill:mk.fill])
			mk.start = mk.fill
		}
		return
	}
	if len(b) > mk.from {
		mk.kept = append(mk.kept, b[mk.from:])
	}
	mk.from = len(b)
}

// Mark starts keeping the input from here (a Reader over an io.Reader;
// for others, whose input is stable, it does nothing): until Release or
// Replay, slices returned stay valid.
func (s *Reader) Mark() {
	if s.r == nil {
		return
	}
	if s.mk == nil {
		s.mk = new(mark)
	}
	*s.mk = mark{on: true, off: s.Offset(), kept: s.mk.kept[:0], from: s.pos}
	if len(s.segs) == 0 && len(s.rbuf)-s.rend >= chunkMin {
		// The reusable buffer's part never handed out is the first
		// chunk: a stream of small pickles whose reads end mid-pickle
		// takes a fresh chunk every ReaderSize bytes, not every pickle.
		mk := s.mk
		mk.last, mk.chunk, mk.start, mk.fill = s.rbuf, s.rbuf[s.rend:], s.rend, s.rend
	}
}

// Release ends a Mark whose input is not needed again: the memory read
// into since is dropped but for the current buffer, whose chunk becomes
// the reusable buffer. Nothing returned since Mark may be used after.
func (s *Reader) Release() {
	mk := s.mk
	if mk == nil || !mk.on {
		return
	}
	if mk.last != nil {
		s.rbuf, s.rend = mk.last, mk.fill
	}
	clear(mk.kept)
	*mk = mark{kept: mk.kept[:0]}
}

// Replay ends a Mark and returns a Reader over the same input from Mark:
// what was read since, then the rest of the io.Reader (or its error), at
// the same offsets. s must not be used after.
func (s *Reader) Replay() Reader {
	mk := s.mk
	if mk == nil || !mk.on {
		return *s
	}
	mk.keep(s.buf)
	// Segments not reached yet (s a Replay's Reader itself) follow.
	// rend at the end: the kept input may lie in rbuf's free part (not
	// to be read into by a Mark until rbuf is read into again).
	r := Reader{segs: append(mk.kept, s.segs...), r: s.r, remain: -1, rbuf: s.rbuf, rend: len(s.rbuf), eof: s.eof, err: s.err, owned: true, base: mk.off}
	s.mk = nil // its kept slices are r's segments now
	r.advance()
	r.base = mk.off
	return r
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
func (s *Reader) fail(err error) {
	s.eof = true
	if err != io.EOF && err != io.ErrUnexpectedEOF && s.err == nil {
		s.err = err
	}
}

// Err returns the io.Reader's error (other than io.EOF) that ended the
// input, if one did.
func (s *Reader) Err() error { return s.err }

// Bytes returns a Reader over b.
func Bytes(b []byte) Reader { return Reader{buf: b} }

// Segments returns a Reader over the concatenation of segs, never joined.
func Segments(segs [][]byte) Reader {
	s := Reader{}
	for _, sg := range segs {
		s.remain += int64(len(sg))
	}
	s.segs = segs
	s.advance()
	return s
}

// ReaderSize is the buffer a Reader over an io.Reader reads into.
const ReaderSize = 64 << 10

// FromReader returns a Reader over r, reading ReaderSize bytes at a time.
func FromReader(r io.Reader) Reader {
	return Reader{r: r, remain: -1, owned: true, rbuf: make([]byte, ReaderSize)}
}

// Offset is the absolute offset of the next byte.
func (s *Reader) Offset() int64 { return s.base + int64(s.pos) }

// Owned reports whether slices returned by Read may be overwritten by the
// next read (a Reader over an io.Reader).
func (s *Reader) Owned() bool { return s.owned }

// Available reports how many more bytes the input can still provide, or -1
// when it cannot know (an io.Reader).
func (s *Reader) Available() int64 {
	if s.remain < 0 {
		return -1
	}
	return int64(len(s.buf)-s.pos) + s.remain
}

// advance moves to the next non-empty segment or reader chunk; false at end.
func (s *Reader) advance() bool {
	s.base += int64(len(s.buf))
	if s.mk != nil && s.mk.on {
		if !s.mk.inChunk { // a chunk's part is kept with the chunk's next
			s.mk.keep(s.buf)
		}
		s.mk.from = 0
	}
	s.buf, s.pos = nil, 0
	for len(s.segs) > 0 { // a segment list, or a Replay's kept input
		sg := s.segs[0]
		if s.r == nil {
			s.remain -= int64(len(sg))
		} else {
			s.segs[0] = nil // a Replay's own list: a read piece is not pinned by it
		}
		s.segs = s.segs[1:]
		if len(sg) > 0 {
			s.buf = sg
			return true
		}
	}
	if s.r != nil {
		if s.eof {
			return false
		}
		into := s.rbuf
		if s.mk != nil && s.mk.on {
			// Marked: never over what was read since Mark.
			if len(s.mk.chunk) < chunkMin {
				s.mk.keep(nil) // the old chunk's rest
				if s.mk.chunks*ReaderSize >= MarkedMax {
					s.mk.over = true
					return false // the input has not ended: no eof, no error
				}
				s.mk.chunks++
				s.mk.last = make([]byte, ReaderSize)
				s.mk.chunk, s.mk.start, s.mk.fill = s.mk.last, 0, 0
			}
			into = s.mk.chunk
		}
		n, err := readSome(s.r, into)
		if n > 0 {
			s.buf = into[:n:n]
			if s.mk != nil && s.mk.on {
				s.mk.chunk = into[n:]
				s.mk.fill += n
				s.mk.inChunk = true
			} else {
				s.rend = n
			}
			return true
		}
		s.fail(err)
		return false
	}
	return false
}

// Byte returns the next byte; ok is false at the end of the input.
func (s *Reader) Byte() (c byte, ok bool) {
	if s.pos < len(s.buf) {
		c = s.buf[s.pos]
		s.pos++
		return c, true
	}
	return s.byteSlow()
}

func (s *Reader) byteSlow() (byte, bool) {
	if !s.advance() {
		return 0, false
	}
	c := s.buf[0]
	s.pos = 1
	return c, true
}

// Where the bytes returned by Read live.
const (
	InInput   = iota // a slice of the caller's input (stable while it is)
	Private          // a fresh slice nobody else holds
	Transient        // the reader's reusable buffer: copy before the next read
)

// Fixed returns the next n bytes (n small: an opcode's fixed-size
// argument), valid until the next read.
func (s *Reader) Fixed(n int) ([]byte, bool) {
	if len(s.buf)-s.pos >= n {
		b := s.buf[s.pos : s.pos+n]
		s.pos += n
		return b, true
	}
	b, _, ok := s.Read(int64(n))
	return b, ok
}

// Read returns the next n bytes and where they live. An n the input cannot
// provide fails before anything is allocated; for an io.Reader, memory
// grows only as data arrives, and large reads bypass the reader's buffer.
func (s *Reader) Read(n int64) (b []byte, where int, ok bool) {
	if n < 0 {
		return nil, 0, false
	}
	if s.pos == len(s.buf) && n > 0 && s.r == nil && s.remain > 0 {
		// The current segment is exhausted: a read that starts the next
		// one is a slice of it, not a copy.
		s.advance()
	}
	if int64(len(s.buf)-s.pos) >= n {
		b = s.buf[s.pos : s.pos+int(n) : s.pos+int(n)]
		s.pos += int(n)
		if s.owned {
			return b, Transient, true
		}
		return b, InInput, true
	}
	if a := s.Available(); a >= 0 && a < n {
		return nil, 0, false
	}
	// Memory grows with what has arrived (at most double, plus 64 KiB), never
	// with what the length prefix claims.
	out := make([]byte, 0, min(n, int64(len(s.buf)-s.pos)+64<<10))
	out = append(out, s.buf[s.pos:]...)
	s.pos = len(s.buf)
	piece, pieceAt := -1, 0 // the kept piece of out read directly, and where it starts
	for int64(len(out)) < n {
		left := n - int64(len(out))
		if s.r != nil && len(s.segs) == 0 && left >= int64(len(s.rbuf)) {
			// Straight into the destination, in steps that double with
			// what has arrived (once a Replay's kept input, which comes
			// first, is read).
			step := int(min(left, int64(max(64<<10, len(out)))))
			if cap(out)-len(out) < step {
				grown := make([]byte, len(out), min(n, int64(len(out)+step)))
				copy(grown, out)
				out = grown
			}
			if s.mk != nil && s.mk.on {
				s.mk.keep(s.buf) // all of it was consumed: out's bytes come next
			}
			// Let the consumed buffer go (a Replay's kept piece may be as
			// large as out).
			s.base += int64(len(s.buf))
			s.buf, s.pos = nil, 0
			k, err := readFull(s.r, out[len(out):len(out)+step])
			out = out[:len(out)+k]
			s.base += int64(k)
			if s.mk != nil && s.mk.on && k > 0 {
				// One piece, over the latest out: the earlier arrays
				// out grew from are not pinned by the kept input.
				if piece < 0 {
					piece, pieceAt = len(s.mk.kept), len(out)-k
					s.mk.kept = append(s.mk.kept, nil)
				}
				s.mk.kept[piece] = out[pieceAt:len(out):len(out)]
			}
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
	return out, Private, true
}

// Skip discards the next n bytes without keeping them; false when the
// input ends first.
func (s *Reader) Skip(n int64) bool {
	for n > 0 {
		if s.pos == len(s.buf) && !s.advance() {
			return false
		}
		k := min(int64(len(s.buf)-s.pos), n)
		s.pos += int(k)
		n -= k
	}
	return true
}

// ReadLine returns the bytes up to (not including) the next '\n'. tooLong
// is true when more than max bytes came without one; ok is false when the
// input ended first.
func (s *Reader) ReadLine(max int) (line []byte, ok, tooLong bool) {
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

// AtEnd reports whether the input is exhausted.
func (s *Reader) AtEnd() bool {
	if s.pos < len(s.buf) {
		return false
	}
	for len(s.segs) > 0 {
		if len(s.segs[0]) > 0 {
			return false
		}
		s.segs = s.segs[1:]
	}
	if s.r != nil {
		return s.eof || !s.advance()
	}
	return true
}

// Length reads the length prefix of a sized argument (kinds Long1/Long4,
// Bytes1/4/8, String1/4). bad is true for a negative signed length.
func (s *Reader) Length(k op.ArgKind) (n uint64, ok, bad bool) {
	switch k {
	case op.ArgLong1, op.ArgBytes1, op.ArgString1:
		c, ok := s.Byte()
		return uint64(c), ok, false
	case op.ArgBytes4:
		b, ok := s.Fixed(4)
		if !ok {
			return 0, false, false
		}
		return uint64(binary.LittleEndian.Uint32(b)), true, false
	case op.ArgLong4, op.ArgString4:
		b, ok := s.Fixed(4)
		if !ok {
			return 0, false, false
		}
		v := int32(binary.LittleEndian.Uint32(b))
		return uint64(v), true, v < 0
	case op.ArgBytes8:
		b, ok := s.Fixed(8)
		if !ok {
			return 0, false, false
		}
		return binary.LittleEndian.Uint64(b), true, false
	}
	return 0, false, true
}

// Uint reads a fixed-size unsigned argument (kinds Uint1, Uint2, Uint4,
// Uint8) and Int4 sign-extended into the low bits.
func (s *Reader) Uint(k op.ArgKind) (uint64, bool) {
	switch k {
	case op.ArgUint1:
		c, ok := s.Byte()
		return uint64(c), ok
	case op.ArgUint2:
		b, ok := s.Fixed(2)
		if !ok {
			return 0, false
		}
		return uint64(binary.LittleEndian.Uint16(b)), true
	case op.ArgUint4:
		b, ok := s.Fixed(4)
		if !ok {
			return 0, false
		}
		return uint64(binary.LittleEndian.Uint32(b)), true
	case op.ArgInt4:
		b, ok := s.Fixed(4)
		if !ok {
			return 0, false
		}
		return uint64(int64(int32(binary.LittleEndian.Uint32(b)))), true
	case op.ArgUint8:
		b, ok := s.Fixed(8)
		if !ok {
			return 0, false
		}
		return binary.LittleEndian.Uint64(b), true
	}
	return 0, false
}

// Float8 reads a BINFLOAT argument (8 bytes, big-endian IEEE 754).
func (s *Reader) Float8() (float64, bool) {
	b, ok := s.Fixed(8)
	if !ok {
		return 0, false
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), true
}

// IsSized reports whether kind k is a length prefix followed by payload.
func IsSized(k op.ArgKind) bool {
	switch k {
	case op.ArgLong1, op.ArgLong4, op.ArgBytes1, op.ArgBytes4, op.ArgBytes8, op.ArgString1, op.ArgString4:
		return true
	}
	return false
}

// IsLine reports whether kind k is newline-terminated text (one line).
func IsLine(k op.ArgKind) bool {
	switch k {
	case op.ArgDecimalNL, op.ArgLongNL, op.ArgFloatNL, op.ArgStringNL, op.ArgUnicodeNL, op.ArgLineNL:
		return true
	}
	return false
}

// Window returns the bytes of the current buffer not yet read, for a
// decoder's inner loop that parses opcodes in place; Consume(n) then
// marks n of them read. The window may be shorter than the input.
func (s *Reader) Window() []byte { return s.buf[s.pos:] }

// Consume marks the first n bytes of Window as read.
func (s *Reader) Consume(n int) { s.pos += n }
