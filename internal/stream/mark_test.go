package stream

import (
	"bytes"
	"io"
	"math/rand"
	"testing"
)

// sizedReader returns at most the next of its sizes a Read (cycling).
type sizedReader struct {
	r     io.Reader
	sizes []int
	i     int
}

func (s *sizedReader) Read(p []byte) (int, error) {
	n := s.sizes[s.i%len(s.sizes)]
	s.i++
	return s.r.Read(p[:min(len(p), n)])
}

// readMixed reads n bytes from s with Byte, Fixed, Read (small and past
// the reader's buffer) and Skip, and returns them (skipped bytes as
// zeros) and the slices Read returned, to check they still hold their
// bytes later.
func readMixed(t *testing.T, s *Reader, rng *rand.Rand, n int) (got []byte, held [][]byte, heldAt []int) {
	t.Helper()
	for len(got) < n {
		left := n - len(got)
		switch rng.Intn(5) {
		case 0:
			c, ok := s.Byte()
			if !ok {
				t.Fatalf("Byte at %d: end", len(got))
			}
			got = append(got, c)
		case 1:
			k := min(left, 1+rng.Intn(8))
			b, ok := s.Fixed(k)
			if !ok {
				t.Fatalf("Fixed(%d) at %d: end", k, len(got))
			}
			got = append(got, b...)
		case 2, 3:
			k := min(left, rng.Intn(3*ReaderSize))
			b, _, ok := s.Read(int64(k))
			if !ok {
				t.Fatalf("Read(%d) at %d: end", k, len(got))
			}
			held, heldAt = append(held, b), append(heldAt, len(got))
			got = append(got, b...)
		case 4:
			k := min(left, rng.Intn(1000))
			if !s.Skip(int64(k)) {
				t.Fatalf("Skip(%d) at %d: end", k, len(got))
			}
			got = append(got, make([]byte, k)...)
		}
	}
	return got, held, heldAt
}

// TestMarkKeepsAndReplays: between Mark and Replay, every slice a Reader
// over an io.Reader returned stays valid (reads go to fresh memory), and
// Replay reads the same input again from Mark, at the same offsets, then
// goes on with the io.Reader; a Replay's Reader marked and replayed again
// before its kept input is used up loses nothing; Release goes back to
// one reusable buffer.
func TestMarkKeepsAndReplays(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	input := make([]byte, 600<<10)
	for i := range input {
		input[i] = byte(rng.Intn(251))
	}
	for round := 0; round < 40; round++ {
		sizes := []int{1 + rng.Intn(7), 1 + rng.Intn(5000), ReaderSize, 3 * ReaderSize}
		s := FromReader(&sizedReader{r: bytes.NewReader(input), sizes: sizes[rng.Intn(2):]})
		pos := 0
		for pos < len(input)-200<<10 {
			start := rng.Intn(20 << 10)
			if _, _, ok := s.Read(int64(start)); !ok {
				t.Fatal("read before the mark")
			}
			pos += start
			s.Mark()
			if s.Offset() != int64(pos) {
				t.Fatalf("offset %d at %d", s.Offset(), pos)
			}
			n := rng.Intn(150 << 10)
			got, held, heldAt := readMixed(t, &s, rng, n)
			for i, b := range held {
				if !bytes.Equal(b, input[pos+heldAt[i]:pos+heldAt[i]+len(b)]) {
					t.Fatalf("round %d: a slice read at %d changed under the mark", round, pos+heldAt[i])
				}
			}
			_ = got
			if rng.Intn(2) == 0 {
				s.Release()
				pos += n
				continue
			}
			s = s.Replay()
			if s.Offset() != int64(pos) {
				t.Fatalf("replay at offset %d, marked at %d", s.Offset(), pos)
			}
			// Read part of it again (maybe marking again inside the kept
			// input), then all of what was read.
			part := rng.Intn(n + 1)
			b, _, ok := s.Read(int64(part))
			if !ok || !bytes.Equal(b, input[pos:pos+part]) {
				d := 0
				for d < len(b) && b[d] == input[pos+d] {
					d++
				}
				t.Fatalf("round %d (sizes %v): the replay's first %d bytes differ at %d (mark at %d, %d read, ok %v, len %d)", round, sizes, part, d, pos, n, ok, len(b))
			}
			pos += part
		}
		rest, err := io.ReadAll(readerOf(&s))
		if err != nil || !bytes.Equal(rest, input[pos:]) {
			t.Fatalf("round %d: the rest from %d: %d bytes (want %d), %v", round, pos, len(rest), len(input)-pos, err)
		}
	}
}

// readerOf reads a Reader to its end a byte at a time.
type byteSource struct{ s *Reader }

func readerOf(s *Reader) io.Reader { return byteSource{s} }

func (b byteSource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, ok := b.s.Byte()
		if !ok {
			if n == 0 {
				return 0, io.EOF
			}
			break
		}
		p[n] = c
		n++
	}
	return n, nil
}

// TestMarkChunksFillUp: marked reads of a few bytes each share chunks;
// a chunk is not taken for each read.
func TestMarkChunksFillUp(t *testing.T) {
	input := bytes.Repeat([]byte("0123456789"), 100<<10) // 1 MB
	s := FromReader(&sizedReader{r: bytes.NewReader(input), sizes: []int{100}})
	s.Mark()
	chunks := map[*byte]bool{}
	for s.Offset() < int64(len(input)) {
		if !s.Skip(100) {
			t.Fatal("end")
		}
		chunks[&s.mk.last[0]] = true
	}
	if len(chunks) > len(input)/(ReaderSize-chunkMin)+2 {
		t.Fatalf("%d chunks for %d bytes read 100 at a time", len(chunks), len(input))
	}
}

// TestMarkOnStableInputs: Mark, Release and Replay do nothing to a Reader
// over bytes or segments (their input is stable), and the caller's
// segment list is never written.
func TestMarkOnStableInputs(t *testing.T) {
	segs := [][]byte{[]byte("ab"), {}, []byte("cde")}
	keep := append([][]byte{}, segs...)
	s := Segments(segs)
	s.Mark()
	if b, _, ok := s.Read(4); !ok || string(b) != "abcd" {
		t.Fatalf("read %q", b)
	}
	r := s.Replay()
	if b, ok := r.Fixed(1); !ok || string(b) != "e" || !r.AtEnd() {
		t.Fatalf("after Replay on segments: %q", b)
	}
	for i := range segs {
		if &segs[i] != &segs[i] || len(segs[i]) != len(keep[i]) || (len(keep[i]) > 0 && &segs[i][0] != &keep[i][0]) {
			t.Fatalf("segment %d of the caller's list changed", i)
		}
	}
}
