package frame_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/frame"
)

func pipePair(t *testing.T, network string) (net.Conn, net.Conn) {
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	c, err := net.Dial(network, ln.Addr().String())
	require.NoError(t, err)
	s := <-acc
	require.NotNil(t, s)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func TestRoundTripTCPAndUnix(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			c, s := pipePair(t, network)
			big := bytes.Repeat([]byte("B"), 3<<20)
			body := [][]byte{[]byte("\x80\x05"), big, []byte(".")}
			bufs := [][]byte{[]byte("oob-1"), {}, bytes.Repeat([]byte("o"), 70000)}
			go func() {
				for i := 0; i < 3; i++ {
					if _, err := frame.Write(c, body, bufs); err != nil {
						return
					}
				}
				c.Close()
			}()
			fr := frame.NewReader(s, 0)
			for i := 0; i < 3; i++ {
				f, err := fr.Read()
				require.NoError(t, err)
				require.Equal(t, bytes.Join(body, nil), f.Pickle)
				require.Len(t, f.Buffers, 3)
				require.Equal(t, frame.Version, f.Version)
				for j := range bufs {
					require.Equal(t, bufs[j], []byte(f.Buffers[j]))
					require.Zero(t, addr(f.Buffers[j])%frame.Align, "buffer %d not aligned", j)
				}
				f.Release()
			}
			_, err := fr.Read()
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestBadFrames(t *testing.T) {
	good := frame.Header(10, []int{5})
	over := frame.Header(min(math.MaxInt, 1<<40), nil)
	manyBufs := frame.Header(0, nil)
	binary.LittleEndian.PutUint32(manyBufs[4:], 1<<20)
	badVersion := frame.Header(1, nil)
	badVersion[2] = 9
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n"), frame.ErrBadMagic},
		{"bad version", badVersion, frame.ErrBadVersion},
		{"version 0", append([]byte("SP\x00"), good[3:]...), frame.ErrBadVersion},
		{"huge body", over, frame.ErrTooLarge},
		{"too many buffers", manyBufs, frame.ErrTooLarge},
		{"truncated header", good[:7], frame.ErrTruncated},
		{"truncated lengths", good[:20], frame.ErrTruncated},
		{"truncated body", append(append([]byte{}, good...), "abc"...), frame.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := frame.NewReader(bytes.NewReader(c.data), 1<<20).Read()
			require.ErrorIs(t, err, c.want)
		})
	}
	// A buffer length that pushes the total past the maximum.
	h := frame.Header(10, []int{1 << 30})
	_, err := frame.NewReader(bytes.NewReader(h), 1<<20).Read()
	require.ErrorIs(t, err, frame.ErrTooLarge)
}

func TestEmptyStreamIsEOF(t *testing.T) {
	_, err := frame.NewReader(bytes.NewReader(nil), 0).Read()
	require.ErrorIs(t, err, io.EOF)
}

// addr is the address of b's first byte (of its backing array if empty).
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b[:cap(b)]))) }

func TestAlignedLayout(t *testing.T) {
	// Pickles of every length mod 64 and buffers of awkward lengths: each
	// buffer lands on a multiple of 64, both in Layout and on reading.
	for body := 0; body < 130; body += 13 {
		lens := []int{1, 0, 63, 64, 65, 4097}
		bufs := make([][]byte, len(lens))
		for i, n := range lens {
			bufs[i] = bytes.Repeat([]byte{byte('a' + i)}, n)
		}
		pickle := bytes.Repeat([]byte("p"), body)
		var w bytes.Buffer
		n, err := frame.Write(&w, [][]byte{pickle}, bufs)
		require.NoError(t, err)
		offs, total := frame.Layout(body, lens)
		require.Equal(t, int64(total), n)
		require.Equal(t, total, w.Len())
		for i, o := range offs {
			require.Zero(t, o%frame.Align)
			require.Equal(t, bufs[i], w.Bytes()[o:o+lens[i]])
		}
		f, err := frame.NewReader(&w, 0).Read()
		require.NoError(t, err)
		require.Equal(t, pickle, f.Pickle)
		require.Zero(t, addr(f.Raw)%frame.Align)
		for i := range bufs {
			require.Equal(t, bufs[i], f.Buffers[i])
			require.Zero(t, addr(f.Buffers[i])%frame.Align, "body %d buffer %d", body, i)
		}
		f.Release()
	}
}

// A version 1 frame (no padding) is still read.
func TestReadsVersion1(t *testing.T) {
	h := frame.Header(3, []int{2, 5})
	h[2] = frame.Version1
	data := append(append(h, "abc"...), "xxyyyyy"...)
	f, err := frame.NewReader(bytes.NewReader(data), 0).Read()
	require.NoError(t, err)
	require.Equal(t, 1, f.Version)
	require.Equal(t, []byte("abc"), f.Pickle)
	require.Equal(t, [][]byte{[]byte("xx"), []byte("yyyyy")}, f.Buffers)
}

// A header declaring a huge frame costs memory only as bytes arrive: a
// stream that ends after 100 bytes of a frame claiming 512 MiB allocates
// about the first step (1 MiB), not 512 MiB.
func TestMemoryGrowsWithReceivedBytes(t *testing.T) {
	h := frame.Header(512<<20, nil)
	data := append(h, bytes.Repeat([]byte("x"), 100)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := frame.NewReader(bytes.NewReader(data), 1<<30).Read()
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, frame.ErrTruncated)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20))

	// A large frame that does arrive, in dribbles, is read whole.
	big := bytes.Repeat([]byte("0123456789abcdef"), 300000) // ~4.6 MiB, several growth steps
	var w bytes.Buffer
	_, err = frame.Write(&w, [][]byte{[]byte("pk")}, [][]byte{big})
	require.NoError(t, err)
	f, err := frame.NewReader(iotest{r: &w, n: 7777}, 0).Read()
	require.NoError(t, err)
	require.Equal(t, big, f.Buffers[0])
	require.Zero(t, addr(f.Buffers[0])%frame.Align)
	f.Release()
}

// iotest returns at most n bytes per Read.
type iotest struct {
	r io.Reader
	n int
}

func (s iotest) Read(p []byte) (int, error) {
	if len(p) > s.n {
		p = p[:s.n]
	}
	return s.r.Read(p)
}

type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

// A reader that returns (0, nil) forever is given up on, not spun on.
func TestNoProgress(t *testing.T) {
	_, err := frame.NewReader(stuck{}, 0).Read()
	require.ErrorIs(t, err, io.ErrNoProgress)
	h := frame.Header(10, nil)
	_, err = frame.NewReader(io.MultiReader(bytes.NewReader(h), stuck{}), 0).Read()
	require.ErrorIs(t, err, io.ErrNoProgress)
	require.ErrorIs(t, err, frame.ErrTruncated)
}

// FuzzRead: any byte stream, read in short pieces, gives frames or a typed
// error, never a panic; every frame it gives has its buffers inside Raw,
// aligned in version 2, and writes back (as version 2) to a frame that
// reads the same.
func FuzzRead(f *testing.F) {
	var w bytes.Buffer
	frame.Write(&w, [][]byte{[]byte("\x80\x05N.")}, [][]byte{[]byte("abc"), {}, bytes.Repeat([]byte("z"), 100)})
	f.Add(w.Bytes(), uint8(7))
	v1 := frame.Header(2, []int{3})
	v1[2] = frame.Version1
	f.Add(append(v1, "pkxyz"...), uint8(1))
	f.Add(frame.Header(min(math.MaxInt, 1<<40), nil), uint8(16))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		r := frame.NewReader(iotest{r: bytes.NewReader(data), n: int(step%64) + 1}, 1<<20)
		for i := 0; i < 8; i++ {
			fr, err := r.Read()
			if err != nil {
				if !(err == io.EOF || errors.Is(err, frame.ErrTruncated) || errors.Is(err, frame.ErrBadMagic) ||
					errors.Is(err, frame.ErrBadVersion) || errors.Is(err, frame.ErrTooLarge)) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			for _, b := range fr.Buffers {
				if fr.Version == frame.Version && len(b) > 0 && addr(b)%frame.Align != 0 {
					t.Fatalf("misaligned buffer")
				}
			}
			var out bytes.Buffer
			if _, err := frame.Write(&out, [][]byte{fr.Pickle}, fr.Buffers); err != nil {
				t.Fatal(err)
			}
			again, err := frame.NewReader(&out, 1<<21).Read()
			if err != nil {
				t.Fatalf("rewritten frame unreadable: %v", err)
			}
			if !bytes.Equal(again.Pickle, fr.Pickle) || len(again.Buffers) != len(fr.Buffers) {
				t.Fatalf("rewritten frame differs")
			}
			fr.Release()
		}
	})
}
