package bench

import (
	"testing"

	"github.com/segpickle/segpickle/unpickler"
)

var floorSink []byte
var smallSink []*int

// BenchmarkDecodeBytesFloor: what decoding CPython's 1 MiB bytes pickle
// costs at the least in Go. A decoder that returns a private copy pays for
// one fresh 1 MiB allocation and one copy: "go-make-copy" is exactly that
// and nothing else, the floor of the copying decoders (segpickle-any in
// BenchmarkDecode); it is mostly the page faults of fresh memory and the
// GC cycles that 1 MiB an op starts, which CPython's malloc does not pay.
// "segpickle-zerocopy" is Load with ZeroCopy(true): the bytes alias the
// input. "segpickle-any" is Load as in BenchmarkDecode, here beside the
// floor (the same heap). "go-make-copy-small" is the floor plus eight
// 192-byte allocations an op: that alone costs 1.5-1.8x the floor, with
// tens of page faults an op where the floor has none (the runtime hands
// pages of freed 1 MiB objects to small-object spans and takes fresh,
// faulting ones for the next 1 MiB), so a decoder that allocates anything
// beside its result pays for it (Load allocates 6 small objects: its
// config, memo, stack, the interface holding the []byte).
func BenchmarkDecodeBytesFloor(b *testing.B) {
	for _, proto := range []int{2, 5} {
		data := cpythonPickle(b, "bytes_1MiB", proto)
		prefix := "bytes_1MiB/p" + string(rune('0'+proto))
		b.Run(prefix+"/go-make-copy", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := startCPU()
			for b.Loop() {
				// append, as the decoder copies: no zeroing first.
				floorSink = append([]byte(nil), data[len(data)-1<<20-1:len(data)-1]...)
			}
			cpu.report(b)
		})
		b.Run(prefix+"/go-make-copy-small", func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for i := 0; i < 8; i++ {
					smallSink = append(smallSink[:0:0], make([]*int, 24)...)
				}
				floorSink = append([]byte(nil), data[len(data)-1<<20-1:len(data)-1]...)
			}
			cpu.report(b)
		})
		b.Run(prefix+"/segpickle-any", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := startCPU()
			for b.Loop() {
				v, err := unpickler.Load(data)
				if err != nil {
					b.Fatal(err)
				}
				floorSink, _ = v.([]byte)
			}
			cpu.report(b)
		})
		b.Run(prefix+"/segpickle-zerocopy", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := startCPU()
			for b.Loop() {
				v, err := unpickler.Load(data, unpickler.ZeroCopy(true))
				if err != nil {
					b.Fatal(err)
				}
				floorSink, _ = v.([]byte)
			}
			cpu.report(b)
		})
	}
}
