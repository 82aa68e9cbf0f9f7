package pickler_test

import (
	"bytes"
	"fmt"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

func ExampleMarshal() {
	type point struct {
		X, Y int
		Tag  string `pickle:"tag,omitempty"`
	}
	b, err := pickler.Marshal([]any{point{1, 2, ""}, py.Tuple{"a", 1.5}}, pickler.Protocol(2))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", b)
	// Output: "\x80\x02]q\x00(}q\x01(X\x01\x00\x00\x00Xq\x02K\x01X\x01\x00\x00\x00Yq\x03K\x02uX\x01\x00\x00\x00aq\x04G?\xf8\x00\x00\x00\x00\x00\x00\x86q\x05e."
}

// EncodeTo fills a segment list: the 1 MiB payload is referenced, not
// copied, and WriteTo sends everything with one writev (here into a
// buffer, which receives the same bytes Marshal returns).
func ExampleEncodeTo() {
	payload := make([]byte, 1<<20)
	var l segments.List
	defer l.Release()
	if err := pickler.EncodeTo(&l, map[string]any{"data": payload}); err != nil {
		panic(err)
	}
	fmt.Println(l.Len(), "bytes in", l.NumSegments(), "segments,", l.RefCount(), "referenced")
	var out bytes.Buffer
	if _, err := l.WriteTo(&out); err != nil {
		panic(err)
	}
	whole, _ := pickler.Marshal(map[string]any{"data": payload})
	fmt.Println(out.Len(), "bytes written, as Marshal's:", bytes.Equal(out.Bytes(), whole))
	// Output:
	// 1048604 bytes in 3 segments, 1 referenced
	// 1048604 bytes written, as Marshal's: true
}

func ExampleBufferCallback() {
	var outOfBand [][]byte
	b, _ := pickler.Marshal(py.PickleBuffer{Data: []byte("big array")},
		pickler.BufferCallback(func(buf py.PickleBuffer) bool {
			outOfBand = append(outOfBand, buf.Data)
			return false // out of band
		}))
	fmt.Printf("%q %q\n", b, outOfBand)
	// Output: "\x80\x05\x97." ["big array"]
}
