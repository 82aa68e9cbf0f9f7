package stream

import (
	"bytes"
	"io"
	"testing"
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
