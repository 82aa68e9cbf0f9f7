package segments_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/segpickle/segpickle/segments"
)

// Small writes are copied and coalesced; a write at or above the threshold
// is referenced, not copied.
func ExampleList() {
	payload := bytes.Repeat([]byte("x"), 4096)
	l := segments.New(segments.DefaultThreshold)
	defer l.Release()
	l.WriteString("header:")
	l.Write(payload) // referenced: do not change payload while l holds it
	l.WriteString(":trailer")

	segs := l.Segments()
	fmt.Println(l.Len(), "bytes in", len(segs), "segments")
	fmt.Println("payload referenced:", &segs[1][0] == &payload[0])
	fmt.Printf("%q %q\n", segs[0], segs[2])
	// Output:
	// 4111 bytes in 3 segments
	// payload referenced: true
	// "header:" ":trailer"
}

// WriteTo sends every segment with one writev where the writer is a file or
// socket, and in order otherwise; Bytes joins them only when asked.
func ExampleList_WriteTo() {
	l := segments.New(4)
	defer l.Release()
	l.WriteString("ab")
	l.Write([]byte("cdefgh"))
	var out bytes.Buffer
	n, err := l.WriteTo(&out)
	fmt.Println(n, err, out.String(), string(l.Bytes()))
	// Output: 8 <nil> abcdefgh abcdefgh
}

// A Reader reads the segments in order without joining them.
func ExampleReader() {
	r := segments.NewReader([][]byte{[]byte("seg"), []byte("men"), []byte("ts")})
	all, _ := io.ReadAll(r)
	fmt.Println(string(all))
	// Output: segments
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

// A writer that takes fewer bytes than given without an error gives
// io.ErrShortWrite (segments.ErrShortWrite is the same error).
func ExampleErrShortWrite() {
	_, err := segments.WriteBuffers(shortWriter{}, [][]byte{[]byte("abcd")})
	fmt.Println(errors.Is(err, io.ErrShortWrite), errors.Is(err, segments.ErrShortWrite))
	// Output: true true
}
