package channel_test

import (
	"fmt"
	"net"

	"github.com/segpickle/segpickle/channel"
	"github.com/segpickle/segpickle/py"
)

// A Go service and its client over loopback. The peer could as well be a
// Python program with segpickle.Channel: the frames are the same.
func Example() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() { // the service: receives a message, answers with its sum
		nc, _ := ln.Accept()
		conn, _ := channel.New(nc)
		defer conn.Close()
		var req struct {
			Name string
			Data py.PickleBuffer // arrives out of band, 64-byte aligned
		}
		if err := conn.Recv(&req); err != nil {
			return
		}
		sum := 0
		for _, b := range req.Data.Data {
			sum += int(b)
		}
		conn.Send(map[string]any{"name": req.Name, "sum": sum})
	}()

	conn, err := channel.Dial(ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	err = conn.Send(map[string]any{"name": "ones", "data": py.PickleBuffer{Data: []byte{1, 1, 1}}})
	if err != nil {
		panic(err)
	}
	var reply map[string]any
	if err := conn.Recv(&reply); err != nil {
		panic(err)
	}
	fmt.Println(reply["name"], reply["sum"])
	// Output: ones 3
}
