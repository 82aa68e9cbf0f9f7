package stream

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// chunkR hands out at most n bytes a Read.
type chunkR struct {
	r io.Reader
	n int
}

func (c *chunkR) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// TestReplayGivesInputAgain: after Mark and reads of any sizes (some
// large enough to go straight from the io.Reader), Replay gives the input
// from Mark again, whole and at the same offsets, whatever sizes it is
// read in then (a large read must take the kept input first, not the
// io.Reader's rest).
func TestReplayGivesInputAgain(t *testing.T) {
	in := make([]byte, 400<<10)
	for i := range in {
		in[i] = byte(i * 7 / 3)
	}
	const at = 5
	for _, n := range []int{1 << 20, 5000, 7} {
		for _, before := range [][]int64{{}, {10, 300 << 10, 5}, {70 << 10}, {3, 64 << 10, 64 << 10}} {
			for _, after := range []int64{1000, 70 << 10, int64(len(in) - at)} {
				s := FromReader(&chunkR{bytes.NewReader(in), n})
				s.Skip(at)
				s.Mark()
				for _, k := range before {
					if _, _, ok := s.Read(k); !ok {
						t.Fatalf("read %d", k)
					}
				}
				r := s.Replay()
				for off := int64(at); off < int64(len(in)); {
					if r.Offset() != off {
						t.Fatalf("reads of %d, %v then %d: offset %d, want %d", n, before, after, r.Offset(), off)
					}
					k := min(after, int64(len(in))-off)
					b, _, ok := r.Read(k)
					if !ok || !bytes.Equal(b, in[off:off+k]) {
						t.Fatalf("reads of %d, %v then %d: at %d: ok %v, bytes differ", n, before, after, off, ok)
					}
					off += k
				}
				if !r.AtEnd() {
					t.Fatalf("reads of %d, %v then %d: not at end", n, before, after)
				}
			}
		}
	}
}

// TestReplayAfterReaderError: a reader that fails after short reads into
// the chunk: Replay gives every byte that arrived, then the same error.
func TestReplayAfterReaderError(t *testing.T) {
	in := make([]byte, 150<<10)
	for i := range in {
		in[i] = byte(i*5 + 1)
	}
	boom := errors.New("boom")
	for _, n := range []int{1, 7, 5000, 1 << 20} {
		for _, k := range []int{10, 4 << 10, 70 << 10, len(in)} {
			s := FromReader(&chunkR{io.MultiReader(bytes.NewReader(in[:k]), iotest.ErrReader(boom)), n})
			s.Skip(3)
			s.Mark()
			for {
				if _, _, ok := s.Read(100); !ok {
					break
				}
			}
			r := s.Replay()
			var got []byte
			for {
				c, ok := r.Byte()
				if !ok {
					break
				}
				got = append(got, c)
			}
			if !bytes.Equal(got, in[3:k]) || r.Err() != boom {
				t.Fatalf("reads of %d, failing after %d: replayed %d bytes (want %d), error %v", n, k, len(got), k-3, r.Err())
			}
		}
	}
}
