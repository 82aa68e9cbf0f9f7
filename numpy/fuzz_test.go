package numpy_test

import (
	"errors"
	"testing"

	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

// FuzzArray feeds arbitrary pickles (seeded with numpy's golden ones) to
// every entry point: FromValue, typed Unmarshal into numpy.Array, slices
// and scalars, View, Copy, and Marshal of whatever decoded. None may
// panic (the unpickler turns a panic under Unmarshal into ErrInternal,
// which is checked too), and a decoded array re-encodes and decodes to the
// same array.
func FuzzArray(f *testing.F) {
	g := loadGolden(f)
	for _, c := range g.Cases {
		for _, p := range c.pickles(f) {
			f.Add(p.Pickle, len(p.Buffers) > 0)
		}
	}
	bufs := [][]byte{make([]byte, 48), make([]byte, 7), {}}
	f.Fuzz(func(t *testing.T, p []byte, oob bool) {
		var opts []unpickler.Option
		if oob {
			opts = append(opts, unpickler.Buffers(bufs...))
		}
		v, err := unpickler.Load(p, opts...)
		if err != nil {
			return
		}
		a, err := numpy.FromValue(v)
		for _, dst := range []any{new(numpy.Array), new([]float64), new([][]int64), new(complex128), new([]bool), new([2][3]float32), new([][]any), new(map[string]any), new(numpy.Float16)} {
			if err := unpickler.Unmarshal(p, dst, opts...); errors.Is(err, unpickler.ErrInternal) {
				t.Fatalf("Unmarshal into %T: %v", dst, err)
			}
		}
		if err != nil {
			var e *numpy.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("FromValue gave an invalid array: %v", err)
		}
		_ = numpy.Copy[float64](a)
		_ = numpy.Copy[numpy.Float16](a)
		_, _ = numpy.View[uint8](a)
		for _, proto := range []int{2, 5} {
			b, err := pickler.Marshal(a, pickler.Protocol(proto))
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var back numpy.Array
			if err := unpickler.Unmarshal(b, &back); err != nil {
				t.Fatalf("decode of Marshal: %v", err)
			}
			if back.DType != a.DType || back.Len() != a.Len() || string(back.Data) != string(a.Data) {
				t.Fatalf("round trip: %v, want %v", &back, a)
			}
		}
	})
}
