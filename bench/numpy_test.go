package bench

import (
	"fmt"
	"testing"

	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

var numpySizes = []struct {
	name string
	n    int // float64 elements
}{{"1KiB", 1 << 7}, {"1MiB", 1 << 17}, {"64MiB", 1 << 23}}

// oobPickle is numpy's protocol-5 pickle of a float64 array with its data
// as one out-of-band buffer (byte-identical with numpy's own).
func oobPickle(b *testing.B, n int) ([]byte, [][]byte) {
	var bufs [][]byte
	p, err := pickler.Marshal(numpy.New(make([]float64, n)), pickler.BufferCallback(func(pb py.PickleBuffer) bool {
		bufs = append(bufs, pb.Data)
		return false
	}))
	if err != nil {
		b.Fatal(err)
	}
	return p, bufs
}

// BenchmarkNumpyView decodes a protocol-5 pickle of a float64 array whose
// data came out of band and views it as []float64: constant time in the
// array's size (the buffer is used in place).
func BenchmarkNumpyView(b *testing.B) {
	for _, s := range numpySizes {
		p, bufs := oobPickle(b, s.n)
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			var sum float64
			for b.Loop() {
				var a numpy.Array
				if err := unpickler.Unmarshal(p, &a, unpickler.Buffers(bufs...)); err != nil {
					b.Fatal(err)
				}
				xs, err := numpy.View[float64](&a)
				if err != nil || len(xs) != s.n {
					b.Fatal(err)
				}
				sum += xs[len(xs)-1]
			}
			_ = sum
		})
	}
}

// BenchmarkNumpyViewOnly is View alone on a decoded out-of-band array.
func BenchmarkNumpyViewOnly(b *testing.B) {
	for _, s := range numpySizes {
		p, bufs := oobPickle(b, s.n)
		var a numpy.Array
		if err := unpickler.Unmarshal(p, &a, unpickler.Buffers(bufs...)); err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				xs, err := numpy.View[float64](&a)
				if err != nil {
					b.Fatal(err)
				}
				n += len(xs)
			}
			_ = n
		})
	}
}

// BenchmarkNumpyCopy is the same decode followed by Copy: linear in the
// size, the baseline View avoids.
func BenchmarkNumpyCopy(b *testing.B) {
	for _, s := range numpySizes {
		p, bufs := oobPickle(b, s.n)
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(8 * s.n))
			for b.Loop() {
				var a numpy.Array
				if err := unpickler.Unmarshal(p, &a, unpickler.Buffers(bufs...)); err != nil {
					b.Fatal(err)
				}
				if xs := numpy.Copy[float64](&a); len(xs) != s.n {
					b.Fatal(len(xs))
				}
			}
		})
	}
}

// BenchmarkNumpyMarshalOutOfBand pickles a Go []float64 as a numpy array
// into a segment list with its data out of band: constant time (the
// buffer is the Go slice).
func BenchmarkNumpyMarshalOutOfBand(b *testing.B) {
	for _, s := range numpySizes {
		a := numpy.New(make([]float64, s.n))
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			var bufs [][]byte
			cb := pickler.BufferCallback(func(pb py.PickleBuffer) bool {
				bufs = append(bufs, pb.Data)
				return false
			})
			for b.Loop() {
				var l segments.List
				bufs = bufs[:0]
				if err := pickler.EncodeTo(&l, a, cb); err != nil {
					b.Fatal(err)
				}
				l.Release()
			}
			if len(bufs) != 1 || len(bufs[0]) != 8*s.n {
				b.Fatal(fmt.Sprint(len(bufs)))
			}
		})
	}
}
