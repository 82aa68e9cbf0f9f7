package bench

import (
	"testing"

	"github.com/segpickle/segpickle/unpickler"
)

var floorSink []byte

// BenchmarkDecodeBytesFloor: what decoding CPython's 1 MiB bytes pickle
// costs at the least in Go. A decoder that returns a private copy pays for
// one fresh 1 MiB allocation and one copy: "go-make-copy" is exactly that
// and nothing else, the floor of the copying decoders (segpickle-any in
// BenchmarkDecode); it is mostly the page faults of fresh memory and the
// GC cycles that 1 MiB an op starts, which CPython's malloc does not pay.
// "segpickle-zerocopy" is Load with ZeroCopy(true): the bytes alias the
// input.
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
