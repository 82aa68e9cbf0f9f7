package numpy_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

// fromPython is numpy's protocol-5 pickle of np.arange(4.0).reshape(2, 2)
// with its data out of band: pickle.dumps(a, 5, buffer_callback=...), what
// a Python client's segpickle.Channel sends with out_of_band=True.
const fromPython = "\x80\x05\x95l\x00\x00\x00\x00\x00\x00\x00\x8c\x12numpy.core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x97" +
	"\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b" +
	"K\x02K\x02\x86\x94\x8c\x01C\x94t\x94R\x94."

// serve is a Go service: it receives an array in a frame, doubles it in
// place and sends it back, the data out of band both ways.
func serve(conn net.Conn) error {
	fr, err := frame.NewReader(conn, 0).Read()
	if err != nil {
		return err
	}
	defer fr.Release() // after the reply is written: the reply's buffer is this frame's memory

	var a numpy.Array
	if err := unpickler.Unmarshal(fr.Pickle, &a, unpickler.Buffers(fr.Buffers...)); err != nil {
		return err
	}
	xs, err := numpy.View[float64](&a) // the received buffer itself, no copy
	if errors.Is(err, numpy.ErrMisaligned) {
		// A version-1 frame puts buffers at any offset; version 2 aligns
		// them to 64 bytes. Here, work on an aligned copy.
		a = *numpy.New(numpy.Copy[float64](&a), a.Shape...)
		xs, err = numpy.View[float64](&a)
	}
	if err != nil {
		return err
	}
	for i := range xs {
		xs[i] *= 2
	}

	var l segments.List
	defer l.Release()
	var bufs [][]byte
	err = pickler.EncodeTo(&l, &a, pickler.BufferCallback(func(b py.PickleBuffer) bool {
		bufs = append(bufs, b.Data) // out of band: a reference to xs, not a copy
		return false
	}))
	if err != nil {
		return err
	}
	_, err = frame.WriteList(conn, &l, bufs)
	return err
}

// A Go service receives a numpy array from a Python client, doubles it in
// place and sends it back. The client side here writes the bytes Python
// would; the reply is what numpy loads as a writable array.
func Example_service() {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		if err := serve(server); err != nil {
			fmt.Println("serve:", err)
		}
	}()

	// The client: the pickle and the array's memory, in one frame.
	data := make([]byte, 32)
	for i := range 4 {
		binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(float64(i)))
	}
	go frame.Write(client, [][]byte{[]byte(fromPython)}, [][]byte{data})

	fr, err := frame.NewReader(client, 0).Read()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fr.Release()
	var reply numpy.Array
	if err := unpickler.Unmarshal(fr.Pickle, &reply, unpickler.Buffers(fr.Buffers...)); err != nil {
		fmt.Println(err)
		return
	}
	var rows [][]float64
	_ = unpickler.Unmarshal(fr.Pickle, &rows, unpickler.Buffers(fr.Buffers...))
	fmt.Println(reply.String(), rows)
	fmt.Printf("reply pickle is numpy's own: %v\n", string(fr.Pickle) == fromPython)
	// Output:
	// numpy.ndarray <f8 (2, 2) C [[0 2] [4 6]]
	// reply pickle is numpy's own: true
}

func ExampleView() {
	var bufs [][]byte
	p, _ := pickler.Marshal(numpy.New([]int32{1, 2, 3}), pickler.BufferCallback(func(b py.PickleBuffer) bool {
		bufs = append(bufs, b.Data)
		return false
	}))
	var a numpy.Array
	if err := unpickler.Unmarshal(p, &a, unpickler.Buffers(bufs...)); err != nil {
		panic(err)
	}
	xs, err := numpy.View[int32](&a)
	fmt.Println(xs, err)
	_, err = numpy.View[float64](&a)
	fmt.Println(err)
	fmt.Println(numpy.Copy[float64](&a))
	// Output:
	// [1 2 3] <nil>
	// numpy: element type does not match: array is int32, Go type is float64 (use Copy to convert)
	// [1 2 3]
}

func ExampleNew() {
	a := numpy.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	p, err := pickler.Marshal(a, pickler.Protocol(2))
	if err != nil {
		panic(err)
	}
	fmt.Println(a, len(p), "bytes")
	// In Python: pickle.loads(p) → array([[1., 2., 3.], [4., 5., 6.]], dtype=float32)

	var rows [][]float32
	if err := unpickler.Unmarshal(p, &rows); err != nil {
		panic(err)
	}
	fmt.Println(rows)
	// Output:
	// numpy.ndarray <f4 (2, 3) C 236 bytes
	// [[1 2 3] [4 5 6]]
}
