package numpy_test

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// goType is the Go element type every dtype of a kind converts to safely.
func goType(d numpy.DType) reflect.Type {
	switch d.Kind {
	case numpy.Bool:
		return reflect.TypeFor[bool]()
	case numpy.Int:
		return reflect.TypeFor[int64]()
	case numpy.Uint:
		return reflect.TypeFor[uint64]()
	case numpy.Float:
		return reflect.TypeFor[float64]()
	}
	return reflect.TypeFor[complex128]()
}

// TestGoldenIntoSlices unmarshals every golden array straight into nested
// Go slices ([]T for 1-D, [][]T for 2-D, [][][]T for 3-D, T for 0-d) and
// checks each element against the array decoded into numpy.Array,
// indexed as numpy indexes it whatever the storage order.
func TestGoldenIntoSlices(t *testing.T) { checkIntoSlices(t, loadGolden(t)) }

func checkIntoSlices(t *testing.T, g golden) {
	n := 0
	for _, c := range g.Cases {
		if c.Kind != "array" && c.Kind != "scalar" {
			continue
		}
		for _, p := range c.pickles(t) {
			var a numpy.Array
			if err := unpickler.Unmarshal(p.Pickle, &a, p.opts()...); err != nil {
				t.Fatal(err)
			}
			leaf := goType(a.DType)
			typ := leaf
			for range a.Shape {
				typ = reflect.SliceOf(typ)
			}
			dst := reflect.New(typ)
			if err := unpickler.Unmarshal(p.Pickle, dst.Interface(), p.opts()...); err != nil {
				t.Errorf("%s/%s into %s: %v", c.Name, p.Key, typ, err)
				continue
			}
			flat := reflect.ValueOf(copyAs(t, &a, leaf))
			checkNested(t, c.Name+"/"+p.Key, dst.Elem(), flat, a.Shape, a.Order)
			n++
		}
	}
	if n < 900 {
		t.Fatalf("only %d checked", n)
	}
}

// copyAs is numpy.Copy into leaf (one of goType's).
func copyAs(t *testing.T, a *numpy.Array, leaf reflect.Type) any {
	switch leaf.Kind() {
	case reflect.Bool:
		return numpy.Copy[bool](a)
	case reflect.Int64:
		return numpy.Copy[int64](a)
	case reflect.Uint64:
		return numpy.Copy[uint64](a)
	case reflect.Float64:
		return numpy.Copy[float64](a)
	case reflect.Complex128:
		return numpy.Copy[complex128](a)
	}
	t.Fatalf("no copy for %s", leaf)
	return nil
}

// checkNested compares v[i][j]... with the flat storage-order elements.
func checkNested(t *testing.T, name string, v, flat reflect.Value, shape []int, order numpy.Order) {
	t.Helper()
	n := flat.Len()
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		// k is the C-order position; find its storage position.
		rem := k
		for i := len(shape) - 1; i >= 0; i-- {
			idx[i] = rem % shape[i]
			rem /= shape[i]
		}
		pos, stride := 0, 1
		if order == numpy.Fortran {
			for i := 0; i < len(shape); i++ {
				pos += idx[i] * stride
				stride *= shape[i]
			}
		} else {
			for i := len(shape) - 1; i >= 0; i-- {
				pos += idx[i] * stride
				stride *= shape[i]
			}
		}
		e := v
		for _, i := range idx {
			if i >= e.Len() {
				t.Fatalf("%s: index %v out of range", name, idx)
			}
			e = e.Index(i)
		}
		if got, want := e.Interface(), flat.Index(pos).Interface(); !sameValue(got, want) {
			t.Errorf("%s: element %v = %v, want %v", name, idx, got, want)
		}
	}
	if len(shape) > 0 && v.Len() != shape[0] {
		t.Errorf("%s: length %d, want %d", name, v.Len(), shape[0])
	}
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y := b.(float64)
		return x == y || x != x && y != y
	case complex128:
		y := b.(complex128)
		return math.Float64bits(real(x)) == math.Float64bits(real(y)) && math.Float64bits(imag(x)) == math.Float64bits(imag(y))
	}
	return a == b
}

// pickle5 is numpy's protocol-5 pickle of an array made in Go.
func pickle5(t *testing.T, a *numpy.Array) []byte {
	t.Helper()
	b, err := pickler.Marshal(a, pickler.Protocol(5))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIntoTargets(t *testing.T) {
	m := numpy.New([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	p := pickle5(t, m)

	var rows [][]float64
	if err := unpickler.Unmarshal(p, &rows); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, [][]float64{{1, 2, 3}, {4, 5, 6}}) {
		t.Errorf("[][]float64: %v", rows)
	}
	var arr [2][3]float64
	if err := unpickler.Unmarshal(p, &arr); err != nil || arr != [2][3]float64{{1, 2, 3}, {4, 5, 6}} {
		t.Errorf("[2][3]float64: %v %v", arr, err)
	}
	var cplx [][]complex64
	if err := unpickler.Unmarshal(pickle5(t, numpy.New([]int8{1, -2}, 1, 2)), &cplx); err != nil || cplx[0][1] != -2 {
		t.Errorf("int8 into complex64: %v %v", cplx, err)
	}
	var s struct {
		Weights []float64 `pickle:"w"`
		Bias    float32
	}
	doc := py.DictOf("w", numpy.New([]float32{0.5, 1.5}), "Bias", numpy.New([]float32{2}, []int{}...))
	b, err := pickler.Marshal(doc, pickler.Protocol(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := unpickler.Unmarshal(b, &s); err != nil || !reflect.DeepEqual(s.Weights, []float64{0.5, 1.5}) || s.Bias != 2 {
		t.Errorf("struct: %+v %v", s, err)
	}
	var list [][]int32 // a list of 1-D arrays
	b, _ = pickler.Marshal([]any{numpy.New([]int16{1, 2}), numpy.New([]int16{3})}, pickler.Protocol(4))
	if err := unpickler.Unmarshal(b, &list); err != nil || !reflect.DeepEqual(list, [][]int32{{1, 2}, {3}}) {
		t.Errorf("list of arrays: %v %v", list, err)
	}
	var anys [][]any // as numpy's tolist()
	if err := unpickler.Unmarshal(p, &anys); err != nil || !reflect.DeepEqual(anys, [][]any{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}) {
		t.Errorf("[][]any: %v %v", anys, err)
	}
	b, _ = pickler.Marshal([]any{numpy.New([]uint16{7}, []int{}...)}, pickler.Protocol(2))
	var ones []any
	if err := unpickler.Unmarshal(b, &ones); err != nil {
		t.Fatal(err)
	}
	if _, isCall := ones[0].(*py.Call); !isCall { // []any elements are interfaces: the dynamic value
		t.Errorf("[]any element: %T", ones[0])
	}
	var f16 []numpy.Float16
	if err := unpickler.Unmarshal(pickle5(t, numpy.New([]uint8{3})), &f16); err != nil || f16[0].Float64() != 3 {
		t.Errorf("uint8 into Float16: %v %v", f16, err)
	}
}

func TestIntoTargetErrors(t *testing.T) {
	m := pickle5(t, numpy.New([]float64{1, 2, 3, 4, 5, 6}, 2, 3))
	for _, tc := range []struct {
		name string
		p    []byte
		dst  any
		want string
	}{
		{"2-D into 1-D", m, new([]float64), "numpy.ndarray float64 of shape (2, 3) (2 dimensions; []float64 has 1) into Go []float64 at top level"},
		{"2-D into scalar", m, new(float64), "2 dimensions; float64 has 0"},
		{"float64 into float32", m, new([][]float32), "float64 does not convert to float32 without loss"},
		{"int64 into int32", pickle5(t, numpy.New([]int64{1})), new([]int32), "without loss"},
		{"uint64 into int64", pickle5(t, numpy.New([]uint64{1})), new([]int64), "without loss"},
		{"complex into float", pickle5(t, numpy.New([]complex64{1})), new([]float64), "without loss"},
		{"float into bool", pickle5(t, numpy.New([]float32{1})), new([]bool), "without loss"},
		{"wrong array length", m, new([3][3]float64), "dimension 0 has 2 elements"},
		{"into a string", m, new(string), "string is not a bool or number type"},
		{"into strings", m, new([][]string), "string is not a bool or number type"},
		{"into a struct", m, new([][]struct{}), "is not a bool or number type"},
		{"into errors", m, new([][]error), "its elements are float64, not assignable to error"},
		{"in a struct", m, &struct{ X []float32 }{}, "at .X"},
	} {
		wrapped := tc.dst
		if strings.HasPrefix(tc.name, "in a struct") {
			b, _ := pickler.Marshal(py.DictOf("X", numpy.New([]float64{1})), pickler.Protocol(5))
			tc.p = b
		}
		err := unpickler.Unmarshal(tc.p, wrapped)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		var te *unpickler.UnmarshalTypeError
		if err != nil && !errors.As(err, &te) {
			t.Errorf("%s: %T, want *unpickler.UnmarshalTypeError", tc.name, err)
		}
	}
}

// TestIntoSliceAliasing: in-band data is the decoder's own copy, and the
// slice shares it; with ZeroCopy it aliases the input; an out-of-band
// buffer the caller supplied is copied (use View to share it).
func TestIntoSliceAliasing(t *testing.T) {
	data := make([]float64, 512)
	for i := range data {
		data[i] = float64(i)
	}
	a := numpy.New(data)

	// Place the pickle so that its BYTEARRAY8 payload is 8-byte aligned.
	p, _ := pickler.Marshal(a, pickler.Protocol(5))
	var probe numpy.Array
	if err := unpickler.Unmarshal(p, &probe, unpickler.ZeroCopy(true)); err != nil {
		t.Fatal(err)
	}
	off := int(uintptr(unsafe.Pointer(&probe.Data[0])) - uintptr(unsafe.Pointer(&p[0])))
	backing := make([]byte, len(p)+8) // 8-aligned, as every Go allocation of this size
	shift := (8 - off%8) % 8
	in := backing[shift : shift+len(p)]
	copy(in, p)
	var xs []float64
	if err := unpickler.Unmarshal(in, &xs, unpickler.ZeroCopy(true)); err != nil {
		t.Fatal(err)
	}
	if unsafe.Pointer(&xs[0]) != unsafe.Pointer(&in[off]) {
		t.Error("ZeroCopy, aligned: []float64 does not alias the input")
	}
	// Without ZeroCopy the input is not touched by writes to the slice.
	if err := unpickler.Unmarshal(in, &xs); err != nil {
		t.Fatal(err)
	}
	xs[0] = 42
	if in[off] != 0 {
		t.Error("without ZeroCopy the slice aliases the input")
	}

	var bufs [][]byte
	oob, _ := pickler.Marshal(a, pickler.BufferCallback(func(b py.PickleBuffer) bool {
		bufs = append(bufs, b.Data)
		return false
	}))
	if len(bufs) != 1 || &bufs[0][0] != (*byte)(unsafe.Pointer(&data[0])) {
		t.Fatal("out-of-band buffer is not the Go slice")
	}
	xs = nil
	if err := unpickler.Unmarshal(oob, &xs, unpickler.Buffers(bufs...)); err != nil {
		t.Fatal(err)
	}
	xs[1] = -1
	if data[1] != 1 {
		t.Error("Unmarshal into []float64 wrote into the caller's out-of-band buffer")
	}
	var arr numpy.Array
	if err := unpickler.Unmarshal(oob, &arr, unpickler.Buffers(bufs...)); err != nil {
		t.Fatal(err)
	}
	v, err := numpy.View[float64](&arr)
	if err != nil {
		t.Fatal(err)
	}
	v[2] = -2
	if data[2] != -2 {
		t.Error("View of an out-of-band array is not the buffer")
	}
}

// TestHugeEmptyShape: a shape of (2^40, 0) holds no data; into [][]T it
// would need 2^40 empty rows, so it is refused instead of allocated.
func TestHugeEmptyShape(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("a dimension of 2^40 needs 64-bit ints")
	}
	var huge64 int64 = 1 << 40
	huge := int(huge64) // not a constant: it would not compile where int has 32 bits
	a := &numpy.Array{DType: numpy.DTypeOf[float64](), Shape: []int{huge, 0}, Order: numpy.C}
	p, err := pickler.Marshal(a, pickler.Protocol(5))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	if err := unpickler.Unmarshal(p, &rows); err == nil || !strings.Contains(err.Error(), "empty rows") {
		t.Errorf("got %v", err)
	}
	var b numpy.Array
	if err := unpickler.Unmarshal(p, &b); err != nil || b.Len() != 0 {
		t.Errorf("as numpy.Array: %v, %d elements", err, b.Len())
	}
}

// TestIntoMapsAndScalars: arrays as map values, scalars into Go scalars.
func TestIntoMapsAndScalars(t *testing.T) {
	doc := py.DictOf("a", numpy.New([]int32{1, 2}), "b", numpy.New([]int32{3}))
	p, err := pickler.Marshal(doc, pickler.Protocol(4))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string][]float64
	if err := unpickler.Unmarshal(p, &m); err != nil || !reflect.DeepEqual(m, map[string][]float64{"a": {1, 2}, "b": {3}}) {
		t.Errorf("map: %v %v", m, err)
	}
	var c complex64
	if err := unpickler.Unmarshal(pickle5(t, numpy.New([]int16{-4}, []int{}...)), &c); err != nil || c != -4 {
		t.Errorf("0-d int16 into complex64: %v %v", c, err)
	}
	var ms map[string]float32
	p, _ = pickler.Marshal(py.DictOf("x", numpy.New([]uint8{200}, []int{}...)), pickler.Protocol(3))
	if err := unpickler.Unmarshal(p, &ms); err != nil || ms["x"] != 200 {
		t.Errorf("map of scalars: %v %v", ms, err)
	}
	var none numpy.Array
	if err := unpickler.Unmarshal([]byte("\x80\x04N."), &none); err != nil || none.Data != nil {
		t.Errorf("None: %v %v", none, err)
	}
}
