package frame_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/segpickle/segpickle/frame"
)

// FuzzReader reads any bytes as a stream of frames: it never panics, each
// frame's parts lie inside it, a one-byte-at-a-time reader sees the same
// frames, every version 2 buffer is 64-byte aligned, and writing a frame's
// parts again reads back equal.
func FuzzReader(f *testing.F) {
	var b bytes.Buffer
	frame.Write(&b, [][]byte{[]byte("pickle")}, nil)
	f.Add(b.Bytes())
	b.Reset()
	frame.Write(&b, [][]byte{[]byte("p"), []byte("q")}, [][]byte{[]byte("one"), nil, bytes.Repeat([]byte("z"), 100)})
	frame.Write(&b, nil, nil)
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:30])
	f.Add(append(frame.Header(1<<40, nil), "x"...))
	f.Add([]byte("SP\x01\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00abcde"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	const max = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		type got struct {
			pickle []byte
			bufs   [][]byte
		}
		read := func(r io.Reader) ([]got, error) {
			fr := frame.NewReader(r, max)
			var out []got
			for range 64 {
				fm, err := fr.Read()
				if err != nil {
					return out, err
				}
				if len(fm.Raw) > max {
					t.Fatalf("frame of %d bytes over the maximum %d", len(fm.Raw), max)
				}
				g := got{pickle: bytes.Clone(fm.Pickle)}
				for _, b := range fm.Buffers {
					if fm.Version == frame.Version && len(b) > 0 && addr(b)%frame.Align != 0 {
						t.Fatalf("version 2 buffer not %d-byte aligned", frame.Align)
					}
					g.bufs = append(g.bufs, bytes.Clone(b))
				}
				fm.Release()
				out = append(out, g)
			}
			return out, nil
		}
		whole, err1 := read(bytes.NewReader(data))
		bytewise, err2 := read(iotest{bytes.NewReader(data), 1})
		if len(whole) != len(bytewise) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("whole: %d frames, %v; one byte at a time: %d frames, %v", len(whole), err1, len(bytewise), err2)
		}
		if err1 != nil && err1 != io.EOF && !errors.Is(err1, frame.ErrTruncated) && !errors.Is(err1, frame.ErrBadMagic) &&
			!errors.Is(err1, frame.ErrBadVersion) && !errors.Is(err1, frame.ErrTooLarge) {
			t.Fatalf("untyped error %v", err1)
		}
		for i, g := range whole {
			if !bytes.Equal(g.pickle, bytewise[i].pickle) || len(g.bufs) != len(bytewise[i].bufs) {
				t.Fatalf("frame %d differs between readers", i)
			}
			var w bytes.Buffer
			if _, err := frame.Write(&w, [][]byte{g.pickle}, g.bufs); err != nil {
				t.Fatal(err)
			}
			again, err := read(&w)
			if err != io.EOF || len(again) != 1 || !bytes.Equal(again[0].pickle, g.pickle) || len(again[0].bufs) != len(g.bufs) {
				t.Fatalf("frame %d written again reads back as %d frames, %v", i, len(again), err)
			}
			for j := range g.bufs {
				if !bytes.Equal(again[0].bufs[j], g.bufs[j]) {
					t.Fatalf("frame %d buffer %d differs after writing again", i, j)
				}
			}
		}
	})
}
