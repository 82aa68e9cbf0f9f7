package segments_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/segments"
)

func sameArray(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}

func TestSmallWritesCoalesce(t *testing.T) {
	var l segments.List
	for i := 0; i < 100; i++ {
		l.Write([]byte{byte(i)})
	}
	require.Equal(t, 100, l.Len())
	require.Equal(t, 1, l.NumSegments())
	require.Zero(t, l.RefCount())
}

func TestLargeWriteIsReferenced(t *testing.T) {
	l := segments.New(1024)
	big := bytes.Repeat([]byte("x"), 1<<20)
	l.Write([]byte("head"))
	l.Write(big)
	l.Write([]byte("tail"))
	segs := l.Segments()
	require.Len(t, segs, 3)
	require.True(t, sameArray(segs[1], big), "large payload must be the caller's own array")
	require.Equal(t, 1, l.RefCount())
	require.Equal(t, append(append([]byte("head"), big...), "tail"...), l.Bytes())
	require.Equal(t, []byte("xxhead"), l.AppendTo([]byte("xx"))[:6])
}

func TestThresholdBounds(t *testing.T) {
	require.Equal(t, segments.DefaultThreshold, segments.New(0).Threshold())
	require.Equal(t, segments.MinThreshold, segments.New(1).Threshold())
	var z segments.List
	require.Equal(t, segments.DefaultThreshold, z.Threshold())
}

func TestManyChunks(t *testing.T) {
	var l segments.List
	var want []byte
	for i := 0; i < 300000; i++ {
		b := []byte{byte(i), byte(i >> 8), byte(i >> 16)}
		l.Write(b)
		want = append(want, b...)
	}
	require.Equal(t, want, l.Bytes())
	got, err := io.ReadAll(l.Reader())
	require.NoError(t, err)
	require.Equal(t, want, got)
	l.Release()
	require.Zero(t, l.Len())
	l.WriteString("again")
	require.Equal(t, []byte("again"), l.Bytes())
}

func TestReserveAndUnreserve(t *testing.T) {
	var l segments.List
	l.WriteString("ab")
	r := l.Reserve(9)
	l.WriteString("cd")
	require.True(t, l.Unreserve(r))
	require.Equal(t, "abcd", string(l.Bytes()))
	r = l.Reserve(3)
	copy(r, "XYZ")
	l.WriteString("!")
	require.Equal(t, "abcdXYZ!", string(l.Bytes()))
	// After a reference, the reserved bytes are in a finished segment.
	r = l.Reserve(2)
	l.Ref(bytes.Repeat([]byte("r"), 5000))
	require.False(t, l.Unreserve(r))
}

func TestReaderNextIsZeroCopy(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 8192)
	var l segments.List
	l.WriteString("h")
	l.Write(big)
	r := l.Reader()
	require.Equal(t, []byte("h"), r.Next())
	require.True(t, sameArray(big, r.Next()))
	require.Nil(t, r.Next())
}

func TestWriteToFileUsesAllSegments(t *testing.T) {
	var l segments.List
	var want []byte
	for i := 0; i < 3000; i++ { // more than IOV_MAX segments
		b := bytes.Repeat([]byte{byte(i)}, 2048+i%7)
		l.Write(b)
		l.WriteString("|")
		want = append(append(want, b...), '|')
	}
	require.Greater(t, l.NumSegments(), 1024)
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer f.Close()
	n, err := l.WriteTo(f)
	require.NoError(t, err)
	require.EqualValues(t, len(want), n)
	got, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, want, l.Bytes(), "WriteTo must not consume the list")
}

func TestWriteToSocketPartialWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var l segments.List
	var want []byte
	for i := 0; i < 64; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 1<<16)
		l.Write(b)
		want = append(want, b...)
	}
	done := make(chan []byte)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		done <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	c.(*net.TCPConn).SetWriteBuffer(4096) // force partial writev
	n, err := l.WriteTo(c)
	require.NoError(t, err)
	require.EqualValues(t, len(want), n)
	c.Close()
	require.Equal(t, want, <-done)
}

func TestWriteToPlainWriter(t *testing.T) {
	var l segments.List
	l.WriteString("abc")
	l.Write(bytes.Repeat([]byte("z"), 4000))
	var buf bytes.Buffer
	_, err := l.WriteTo(&buf)
	require.NoError(t, err)
	require.Equal(t, l.Bytes(), buf.Bytes())
}

func TestWriteAllocs(t *testing.T) {
	var l segments.List
	big := make([]byte, 1<<20)
	l.Write(big) // warm the chunk pool and segment slice
	l.Reset()
	allocs := testing.AllocsPerRun(100, func() {
		l.WriteString("\x80\x05")
		l.Write(big)
		l.WriteByte('.')
		l.Reset()
	})
	require.Zero(t, allocs)
}

func TestLargeReserveAndGrow(t *testing.T) {
	var l segments.List
	l.WriteString("a")
	r := l.Reserve(200000) // larger than any pooled chunk
	require.Len(t, r, 200000)
	for i := range r {
		r[i] = 'r'
	}
	g := l.Grow(100000)
	require.GreaterOrEqual(t, len(g), 100000)
	copy(g, bytes.Repeat([]byte("g"), 100000))
	l.Commit(100000)
	out := l.Bytes()
	require.Equal(t, 1+200000+100000, len(out))
	require.Equal(t, byte('a'), out[0])
	require.Equal(t, byte('r'), out[200000])
	require.Equal(t, byte('g'), out[len(out)-1])
	require.Nil(t, l.Reserve(0))
	l.Release()
}
