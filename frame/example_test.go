package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

// A Go peer of a Python segpickle.Channel: pickle a value into a segment
// list, send it as one frame (with its out-of-band buffers), read a frame
// and decode its pickle with those buffers. The pickle inside a frame is a
// raw pickle; the frame around it is what Channel speaks.
func Example() {
	var conn bytes.Buffer // a net.Conn in real use: one writev per frame

	// Send: the payload travels out of band, as its own segment.
	payload := py.PickleBuffer{Data: bytes.Repeat([]byte("p"), 100000), ReadOnly: true}
	var oob [][]byte
	var l segments.List
	err := pickler.EncodeTo(&l, py.DictOf("id", 7, "data", payload),
		pickler.BufferCallback(func(b py.PickleBuffer) bool { oob = append(oob, b.Data); return false }))
	if err != nil {
		panic(err)
	}
	if _, err := frame.WriteList(&conn, &l, oob); err != nil {
		panic(err)
	}
	l.Release()

	// Receive: one contiguous buffer, the buffers are slices of it.
	r := frame.NewReader(&conn, 1<<30)
	f, err := r.Read()
	if err != nil {
		panic(err)
	}
	defer f.Release() // f.Pickle and f.Buffers are valid until then
	v, err := unpickler.Load(f.Pickle, unpickler.Buffers(f.Buffers...))
	if err != nil {
		panic(err)
	}
	d := v.(*py.Dict)
	id, _ := d.Get("id")
	data, _ := d.Get("data")
	fmt.Println(len(f.Buffers), "buffer out of band; id", id, "data", len(data.(py.PickleBuffer).Data), "bytes")

	_, err = r.Read()
	fmt.Println(err == io.EOF)
	// Output:
	// 1 buffer out of band; id 7 data 100000 bytes
	// true
}

// A reader checks the header against its maximum before allocating.
func ExampleReader_Read() {
	hdr := frame.Header(min(math.MaxInt, 1<<40), nil) // claims a 1 TiB pickle
	_, err := frame.NewReader(bytes.NewReader(hdr), 1<<20).Read()
	fmt.Println(errors.Is(err, frame.ErrTooLarge))
	// Output: true
}

// The buffers of a version 2 frame start at multiples of 64 bytes from the
// frame's start, and the reader receives the frame into 64-byte-aligned
// memory: each buffer arrives aligned.
func ExampleLayout() {
	var conn bytes.Buffer
	pickle := [][]byte{[]byte("\x80\x05\x97"), []byte("...the pickle...")} // 19 bytes
	buffers := [][]byte{[]byte("first buffer"), bytes.Repeat([]byte{7}, 1000)}
	n, err := frame.Write(&conn, pickle, buffers)
	if err != nil {
		panic(err)
	}
	offsets, total := frame.Layout(19, []int{12, 1000})
	fmt.Println(offsets, n == int64(total))

	f, err := frame.NewReader(&conn, 0).Read()
	if err != nil {
		panic(err)
	}
	defer f.Release()
	for _, b := range f.Buffers {
		fmt.Println(len(b), "bytes, address % 64 =", uintptr(unsafe.Pointer(&b[0]))%frame.Align)
	}
	// Output:
	// [64 128] true
	// 12 bytes, address % 64 = 0
	// 1000 bytes, address % 64 = 0
}
