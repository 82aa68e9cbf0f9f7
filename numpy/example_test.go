package numpy_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"

	"github.com/segpickle/segpickle/channel"
	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// fromPython is numpy's protocol-5 pickle of np.arange(4.0).reshape(2, 2)
// with its data out of band: pickle.dumps(a, 5, buffer_callback=...), what
// a Python client's segpickle.Channel sends with out_of_band=True.
const fromPython = "\x80\x05\x95l\x00\x00\x00\x00\x00\x00\x00\x8c\x12numpy.core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x97" +
	"\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b" +
	"K\x02K\x02\x86\x94\x8c\x01C\x94t\x94R\x94."

// serve is a Go service: it receives an array, doubles it in place and
// sends it back, the data out of band both ways.
func serve(conn *channel.Conn) error {
	var a numpy.Array
	if err := conn.Recv(&a); err != nil { // Data is the received frame's buffer, 64-byte aligned
		return err
	}
	xs, err := numpy.View[float64](&a) // that buffer as []float64: no copy
	if err != nil {
		return err
	}
	for i := range xs {
		xs[i] *= 2
	}
	return conn.Send(&a) // out of band again: the frame writes xs's memory itself
}

// A Go service receives a numpy array from a Python client over a
// channel, doubles it in place and sends it back. The client here writes
// the frame Python's segpickle.Channel writes for
// ch.send(np.arange(4.0).reshape(2, 2)) with out_of_band=True, and reads
// the reply, which is what numpy itself pickles for the doubled array.
func Example_service() {
	client, server := net.Pipe()
	go func() {
		conn, _ := channel.New(server)
		defer conn.Close()
		if err := serve(conn); err != nil {
			fmt.Println("serve:", err)
		}
	}()

	python, _ := channel.New(client)
	defer python.Close()
	data := make([]byte, 32) // the array's memory, sent out of band
	for i := range 4 {
		binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(float64(i)))
	}
	if err := python.SendFrame([][]byte{[]byte(fromPython)}, [][]byte{data}); err != nil {
		fmt.Println(err)
		return
	}
	reply, err := python.RecvFrame()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("reply pickle is numpy's own: %v\n", string(reply.Pickle) == fromPython)
	var rows [][]float64
	if err := unpickler.Unmarshal(reply.Pickle, &rows, unpickler.Buffers(reply.Buffers...)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rows)
	// Output:
	// reply pickle is numpy's own: true
	// [[0 2] [4 6]]
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
