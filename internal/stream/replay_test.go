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

// TestMarkKeepsSlices: every slice a Reader returns between Mark and
// Release (or Replay) keeps its bytes until then, over Mark/Release
// cycles that reuse the buffer's free part, with reads of any size; and
// Replay, after any cycle, gives the input from its Mark.
func TestMarkKeepsSlices(t *testing.T) {
	in := make([]byte, 600<<10)
	for i := range in {
		in[i] = byte(i*13 + i>>9)
	}
	sizes := []int64{1, 2, 5, 100, 3000, 9000, 70 << 10}
	for _, n := range []int{1, 13, 4000, 5000, 70000, 1 << 20} {
		for replayAt := range 6 {
			s := FromReader(&chunkR{bytes.NewReader(in), n})
			off, k := int64(0), 0
			for cycle := 0; off < int64(len(in))-200<<10; cycle++ {
				// Unmarked reads between, as a dynamic Decode's.
				for range cycle % 3 {
					sz := sizes[k%len(sizes)] % 4000
					k++
					if _, _, ok := s.Read(sz); !ok {
						t.Fatal("read")
					}
					off += sz
				}
				s.Mark()
				markAt := off
				var got [][]byte
				var at []int64
				for range 3 + cycle%5 {
					sz := sizes[k%len(sizes)]
					k++
					b, _, ok := s.Read(sz)
					if !ok {
						t.Fatal("read")
					}
					got, at = append(got, b), append(at, off)
					off += sz
				}
				for i, b := range got {
					if !bytes.Equal(b, in[at[i]:at[i]+int64(len(b))]) {
						t.Fatalf("reads of %d, cycle %d: slice %d changed before Release", n, cycle, i)
					}
				}
				if cycle == replayAt {
					r := s.Replay()
					b, _, ok := r.Read(off - markAt + 1000)
					if !ok || !bytes.Equal(b, in[markAt:off+1000]) {
						t.Fatalf("reads of %d, cycle %d: replay differs", n, cycle)
					}
					s = r
					off += 1000
					continue
				}
				s.Release()
			}
		}
	}
}
