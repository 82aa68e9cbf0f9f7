package numpy_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

func dtypeCall(typestr, endian string, extra ...any) *py.Call {
	st := py.Tuple{int64(3), endian, nil, nil, nil, int64(-1), int64(-1), int64(0)}
	if len(extra) > 0 {
		st = extra[0].(py.Tuple)
	}
	return &py.Call{Callable: py.Global{Module: "numpy", Name: "dtype"}, Args: py.Tuple{typestr, false, true},
		State: st, HasState: true}
}

func reconstruct(state any) *py.Call {
	return &py.Call{Callable: py.Global{Module: "numpy.core.multiarray", Name: "_reconstruct"},
		Args:  py.Tuple{py.Global{Module: "numpy", Name: "ndarray"}, py.Tuple{int64(0)}, []byte("b")},
		State: state, HasState: state != nil}
}

func frombuffer(args ...any) *py.Call {
	return &py.Call{Callable: py.Global{Module: "numpy._core.numeric", Name: "_frombuffer"}, Args: args}
}

var f8 = dtypeCall("f8", "<")

// TestFromValueErrors: malformed and unsupported pickles are typed errors
// with the cause numpy would give.
func TestFromValueErrors(t *testing.T) {
	eight := make([]byte, 8)
	for _, tc := range []struct {
		name string
		v    any
		want error
	}{
		{"not a call", []any{1}, numpy.ErrNotArray},
		{"dtype a nil call", reconstruct(py.Tuple{int64(1), py.Tuple{}, (*py.Call)(nil), false, eight}), numpy.ErrInvalid},
		{"another function", &py.Call{Callable: py.Global{Module: "builtins", Name: "len"}}, numpy.ErrNotArray},
		{"reconstruct args", &py.Call{Callable: py.Global{Module: "numpy.core.multiarray", Name: "_reconstruct"}}, numpy.ErrInvalid},
		{"subclass", &py.Call{Callable: py.Global{Module: "numpy.core.multiarray", Name: "_reconstruct"},
			Args: py.Tuple{py.Global{Module: "numpy", Name: "matrix"}, py.Tuple{int64(0)}, []byte("b")}}, numpy.ErrUnsupported},
		{"class is not a global", &py.Call{Callable: py.Global{Module: "numpy.core.multiarray", Name: "_reconstruct"},
			Args: py.Tuple{"ndarray", py.Tuple{int64(0)}, []byte("b")}}, numpy.ErrInvalid},
		{"no state", reconstruct(nil), numpy.ErrInvalid},
		{"state not a tuple", reconstruct([]any{}), numpy.ErrInvalid},
		{"state of 3", reconstruct(py.Tuple{1, 2, 3}), numpy.ErrInvalid},
		{"version 2", reconstruct(py.Tuple{int64(2), py.Tuple{int64(1)}, f8, false, eight}), numpy.ErrInvalid},
		{"negative dimension", reconstruct(py.Tuple{int64(1), py.Tuple{int64(-1)}, f8, false, eight}), numpy.ErrInvalid},
		{"dimension not an int", reconstruct(py.Tuple{int64(1), py.Tuple{1.0}, f8, false, eight}), numpy.ErrInvalid},
		{"overflowing shape", reconstruct(py.Tuple{int64(1), py.Tuple{int64(1 << 40), int64(1 << 40)}, f8, false, eight}), numpy.ErrInvalid},
		{"65 dimensions", reconstruct(py.Tuple{int64(1), make(py.Tuple, 65), f8, false, eight}), numpy.ErrInvalid},
		{"shape not a tuple", reconstruct(py.Tuple{int64(1), int64(1), f8, false, eight}), numpy.ErrInvalid},
		{"data too short", reconstruct(py.Tuple{int64(1), py.Tuple{int64(2)}, f8, false, eight}), numpy.ErrInvalid},
		{"data too long", reconstruct(py.Tuple{int64(1), py.Tuple{}, f8, false, make([]byte, 9)}), numpy.ErrInvalid},
		{"object data", reconstruct(py.Tuple{int64(1), py.Tuple{int64(1)}, f8, false, []any{nil}}), numpy.ErrUnsupported},
		{"data not latin-1", reconstruct(py.Tuple{int64(1), py.Tuple{}, f8, false, "ĀĀĀĀ"}), numpy.ErrInvalid},
		{"is_fortran a str", reconstruct(py.Tuple{int64(1), py.Tuple{}, f8, "yes", eight}), numpy.ErrInvalid},
		{"dtype not a call", reconstruct(py.Tuple{int64(1), py.Tuple{}, "f8", false, eight}), numpy.ErrInvalid},
		{"dtype of another class", reconstruct(py.Tuple{int64(1), py.Tuple{}, &py.Call{Callable: py.Global{Module: "x", Name: "dtype"}, Args: py.Tuple{"f8"}}, false, eight}), numpy.ErrInvalid},
		{"dtype f9", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f9", "<"), false, eight}), numpy.ErrUnsupported},
		{"dtype longdouble", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f16", "<"), false, eight}), numpy.ErrUnsupported},
		{"dtype object", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("O8", "|"), false, eight}), numpy.ErrUnsupported},
		{"dtype datetime", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("M8", "<"), false, eight}), numpy.ErrUnsupported},
		{"dtype empty str", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("", "<"), false, eight}), numpy.ErrUnsupported},
		{"dtype endian !", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f8", "!"), false, eight}), numpy.ErrInvalid},
		{"dtype endian <<", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f8", "<<"), false, eight}), numpy.ErrInvalid},
		{"structured", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("V8", "|",
			py.Tuple{int64(3), "|", nil, py.Tuple{"x"}, py.NewDict(0), int64(8), int64(1), int64(0)}), false, eight}), numpy.ErrUnsupported},
		{"dtype state of 4", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f8", "<", py.Tuple{1, 2, 3, 4}), false, eight}), numpy.ErrInvalid},
		{"frombuffer args", frombuffer(eight), numpy.ErrInvalid},
		{"frombuffer not supplied", frombuffer(py.OutOfBand{Index: 0}, f8, py.Tuple{int64(1)}, "C"), numpy.ErrNoBuffer},
		{"frombuffer of a str", frombuffer("x", f8, py.Tuple{int64(1)}, "C"), numpy.ErrInvalid},
		{"frombuffer order Z", frombuffer(py.ByteArray(eight), f8, py.Tuple{int64(1)}, "Z"), numpy.ErrInvalid},
		{"frombuffer order K alone", frombuffer(py.ByteArray(eight), f8, py.Tuple{int64(1)}, "K"), numpy.ErrInvalid},
		{"frombuffer order not a str", frombuffer(py.ByteArray(eight), f8, py.Tuple{int64(1)}, int64(1)), numpy.ErrInvalid},
		{"K duplicate axis", frombuffer(py.ByteArray(make([]byte, 32)), f8, py.Tuple{int64(2), int64(2)}, "K", py.Tuple{int64(0), int64(0)}), numpy.ErrInvalid},
		{"K axis out of range", frombuffer(py.ByteArray(make([]byte, 32)), f8, py.Tuple{int64(2), int64(2)}, "K", py.Tuple{int64(0), int64(2)}), numpy.ErrInvalid},
		{"K axes too few", frombuffer(py.ByteArray(make([]byte, 32)), f8, py.Tuple{int64(2), int64(2)}, "K", py.Tuple{int64(0)}), numpy.ErrInvalid},
		{"K size", frombuffer(py.ByteArray(make([]byte, 24)), f8, py.Tuple{int64(2), int64(2)}, "K", py.Tuple{int64(1), int64(0)}), numpy.ErrInvalid},
		{"scalar of one", &py.Call{Callable: py.Global{Module: "numpy.core.multiarray", Name: "scalar"}, Args: py.Tuple{f8}}, numpy.ErrInvalid},
		{"scalar object", &py.Call{Callable: py.Global{Module: "numpy.core.multiarray", Name: "scalar"}, Args: py.Tuple{dtypeCall("O8", "|")}}, numpy.ErrUnsupported},
		{"scalar size", &py.Call{Callable: py.Global{Module: "numpy._core.multiarray", Name: "scalar"}, Args: py.Tuple{f8, []byte{1}}}, numpy.ErrInvalid},
	} {
		a, err := numpy.FromValue(tc.v)
		if !errors.Is(err, tc.want) || a != nil {
			t.Errorf("%s: %v, %v; want %v", tc.name, a, err, tc.want)
		}
		// The same through a real pickle, into numpy.Array and []float64.
		p, perr := pickler.Marshal(tc.v, pickler.Protocol(5))
		if perr != nil {
			continue
		}
		var arr numpy.Array
		if err := unpickler.Unmarshal(p, &arr); !errors.Is(err, tc.want) {
			t.Errorf("%s: Unmarshal: %v, want %v", tc.name, err, tc.want)
		}
		var xs []float64
		if err := unpickler.Unmarshal(p, &xs); tc.name != "not a call" && (err == nil || errors.Is(err, unpickler.ErrInternal)) {
			t.Errorf("%s: into []float64: %v", tc.name, err)
		}
	}
}

// TestNilArray: a nil *Array and a zero reflect.Value are answers, not
// panics.
func TestNilArray(t *testing.T) {
	var a *numpy.Array
	if a.Len() != 0 || a.String() != "numpy.ndarray <nil>" || a.Validate() == nil {
		t.Fatalf("nil array: %d %q %v", a.Len(), a.String(), a.Validate())
	}
	if b, err := numpy.FromValue((*py.Call)(nil)); !errors.Is(err, numpy.ErrNotArray) || b != nil {
		t.Fatalf("FromValue(nil *py.Call): %v, %v", b, err)
	}
	if _, err := numpy.New([]float64{1}).AssignPickle(reflect.Value{}); !errors.Is(err, numpy.ErrType) {
		t.Fatalf("AssignPickle(zero Value): %v", err)
	}
}

// TestOldForms: version-0 array state, version-0 and version-1 dtype
// states, Python 2 str data and dtype names, byte order '=' and '|'.
func TestOldForms(t *testing.T) {
	le := []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f} // 1.5
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"version-0 state", reconstruct(py.Tuple{py.Tuple{}, f8, false, le})},
		{"version-0 dtype", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f8", "", py.Tuple{"<", nil, nil, int64(-1), int64(-1)}), false, le})},
		{"version-1 dtype", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f8", "", py.Tuple{int64(1), "<", nil, nil, int64(-1), int64(-1)}), false, le})},
		{"version-4 dtype with metadata", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f8", "", py.Tuple{int64(4), "<", nil, nil, nil, int64(-1), int64(-1), int64(0), py.DictOf("unit", "m")}), false, le})},
		{"Python 2 str data", reconstruct(py.Tuple{int64(1), py.Tuple{}, f8, int64(0), py.ByteString(le)})},
		{"latin-1 str data", reconstruct(py.Tuple{int64(1), py.Tuple{}, f8, false, string([]rune{0, 0, 0, 0, 0, 0, 0xf8, 0x3f})})},
		{"Python 2 dtype name", reconstruct(py.Tuple{int64(1), py.Tuple{}, &py.Call{Callable: py.Global{Module: "numpy", Name: "dtype"},
			Args: py.Tuple{py.ByteString("f8"), int64(0), int64(1)}, State: py.Tuple{int64(3), py.ByteString("<"), nil, nil, nil, int64(-1), int64(-1), int64(0)}, HasState: true}, false, le})},
		{"dtype without state", reconstruct(py.Tuple{int64(1), py.Tuple{}, &py.Call{Callable: py.Global{Module: "numpy", Name: "dtype"}, Args: py.Tuple{"f8", false, true}}, false, le})},
		{"byte order |", reconstruct(py.Tuple{int64(1), py.Tuple{}, dtypeCall("f8", "|"), false, le})},
		{"frombuffer A", frombuffer(py.ByteArray(le), f8, py.Tuple{}, "A")},
		{"frombuffer read-only bytes", frombuffer(le, f8, py.Tuple{int64(1)}, "C")},
	} {
		a, err := numpy.FromValue(tc.v)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := numpy.Copy[float64](a); len(got) != 1 || got[0] != 1.5 {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestDTypeStrings(t *testing.T) {
	for _, s := range []string{"<f8", ">f8", "|b1", "|i1", "|u1", "<i2", ">u4", "<i8", ">c16", "<c8", "<f2", ">f4"} {
		d, err := numpy.ParseDType(s)
		if err != nil || d.String() != s {
			t.Errorf("%s: %v %v", s, d, err)
		}
	}
	for _, s := range []string{"", "f", "<f", "<f0", "<x8", "<i3", "<c4", "<b2", "O8", "<M8", "<U3", "|S3", ">f16", "<f99999999999999999999"} {
		if _, err := numpy.ParseDType(s); !errors.Is(err, numpy.ErrUnsupported) {
			t.Errorf("%q: %v, want ErrUnsupported", s, err)
		}
	}
	if d, _ := numpy.ParseDType("f8"); d != numpy.DTypeOf[float64]() {
		t.Errorf("f8 is %v, DTypeOf[float64] %v", d, numpy.DTypeOf[float64]())
	}
	if n := numpy.DTypeOf[complex64]().Name(); n != "complex64" {
		t.Error(n)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    *numpy.Array
		want error
	}{
		{"nil", nil, numpy.ErrInvalid},
		{"size", numpy.New([]float64{1, 2, 3}, 2, 2), numpy.ErrInvalid},
		{"negative", numpy.New([]float64{}, -1), numpy.ErrInvalid},
		{"order", &numpy.Array{DType: numpy.DTypeOf[int8](), Shape: []int{}, Order: 'X', Data: []byte{1}}, numpy.ErrInvalid},
		{"dtype", &numpy.Array{DType: numpy.DType{Kind: 'O', Size: 8}, Order: numpy.C}, numpy.ErrUnsupported},
		{"dims", &numpy.Array{DType: numpy.DTypeOf[int8](), Shape: make([]int, 65), Order: numpy.C}, numpy.ErrInvalid},
		{"overflow", &numpy.Array{DType: numpy.DTypeOf[int64](), Shape: []int{math.MaxInt / 4}, Order: numpy.C}, numpy.ErrInvalid},
	} {
		if err := tc.a.Validate(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
		b, err := pickler.Marshal(tc.a)
		if tc.a == nil {
			if err != nil || string(b) != "\x80\x05N." { // a nil *Array is None
				t.Errorf("nil: %q %v", b, err)
			}
		} else if !errors.Is(err, tc.want) {
			t.Errorf("%s: Marshal: %v, want %v", tc.name, err, tc.want)
		}
		if got := numpy.Copy[float64](tc.a); got != nil {
			t.Errorf("%s: Copy gave %v", tc.name, got)
		}
		if _, err := numpy.View[float64](tc.a); err == nil {
			t.Errorf("%s: View accepted it", tc.name)
		}
	}
}

func TestViewErrors(t *testing.T) {
	a := numpy.New([]float32{1, 2})
	if _, err := numpy.View[float64](a); !errors.Is(err, numpy.ErrType) {
		t.Errorf("float32 as float64: %v", err)
	}
	if _, err := numpy.View[int32](a); !errors.Is(err, numpy.ErrType) {
		t.Errorf("float32 as int32: %v", err)
	}
	mis := &numpy.Array{DType: numpy.DTypeOf[float32](), Shape: []int{1}, Order: numpy.C, Data: make([]byte, 8)[1:5]}
	if _, err := numpy.View[float32](mis); !errors.Is(err, numpy.ErrMisaligned) {
		t.Errorf("misaligned: %v", err)
	}
	if got := numpy.Copy[float32](mis); len(got) != 1 {
		t.Errorf("Copy of misaligned: %v", got)
	}
	b := &numpy.Array{DType: numpy.DTypeOf[bool](), Shape: []int{2}, Order: numpy.C, Data: []byte{1, 2}}
	if _, err := numpy.View[bool](b); !errors.Is(err, numpy.ErrInvalid) {
		t.Errorf("bool 2: %v", err)
	}
	if got := numpy.Copy[bool](b); got[0] != true || got[1] != true {
		t.Errorf("Copy of bool 2: %v", got)
	}
	swapped := numpy.New([]int16{0x0102})
	swapped.DType.BigEndian = !swapped.DType.BigEndian
	if _, err := numpy.View[int16](swapped); !errors.Is(err, numpy.ErrByteOrder) {
		t.Errorf("swapped: %v", err)
	}
	if got := numpy.Copy[int16](swapped); got[0] != 0x0201 {
		t.Errorf("Copy of swapped: %#x", got[0])
	}
	empty, err := numpy.View[float64](numpy.New([]float64{}))
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("empty: %v %v", empty, err)
	}
}

func TestCopyConverts(t *testing.T) {
	a := numpy.New([]float64{-1.5, 0, 2.75, math.Inf(1), math.NaN(), 300})
	if got := numpy.Copy[int8](a); got[0] != -1 || got[2] != 2 || got[5] != 44 {
		t.Errorf("int8: %v", got)
	}
	if got := numpy.Copy[bool](a); got[0] != true || got[1] != false || got[4] != true {
		t.Errorf("bool: %v", got)
	}
	if got := numpy.Copy[complex64](a); real(got[2]) != 2.75 || imag(got[2]) != 0 {
		t.Errorf("complex64: %v", got)
	}
	if got := numpy.Copy[int64](a); got[3] != math.MinInt64 || got[4] != math.MinInt64 {
		t.Errorf("int64 of inf, nan: %v", got)
	}
	c := numpy.New([]complex128{complex(3, 4)})
	if got := numpy.Copy[float32](c); got[0] != 3 {
		t.Errorf("complex to float32: %v", got)
	}
	u := numpy.New([]uint64{math.MaxUint64})
	if got := numpy.Copy[int64](u); got[0] != -1 {
		t.Errorf("uint64 max to int64: %v", got)
	}
	if got := numpy.Copy[float64](u); got[0] != 1<<64 {
		t.Errorf("uint64 max to float64: %v", got)
	}
	type celsius float64 // named types work
	if got := numpy.Copy[celsius](numpy.New([]int32{7})); got[0] != 7 {
		t.Errorf("named: %v", got)
	}
}

// TestFloat16 checks the binary16 conversions at their edges against
// numpy's values.
func TestFloat16(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		bits uint16
	}{
		{0, 0}, {math.Copysign(0, -1), 0x8000}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff},
		{65520, 0x7c00},             // rounds up to inf
		{65519.99, 0x7bff},          // rounds down to max
		{math.Inf(-1), 0xfc00},      //
		{5.960464477539063e-08, 1},  // smallest subnormal
		{2.9802322387695312e-08, 0}, // half of it: tie to even, 0
		{2.98023223876953125e-08 * 1.0000001, 1},
		{6.097555160522461e-05, 0x3ff}, // largest subnormal
		{6.103515625e-05, 0x400},       // smallest normal
		{1.0009765625, 0x3c01},
		{1.00048828125, 0x3c00}, // tie: to even
		{1.00146484375, 0x3c02}, // tie: to even (up)
		{0.1, 0x2e66},
		{1e-10, 0},
		{5e-324, 0},
	} {
		if got := numpy.NewFloat16(tc.f); uint16(got) != tc.bits {
			t.Errorf("NewFloat16(%g) = %#04x, want %#04x", tc.f, got, tc.bits)
		}
	}
	for bits := 0; bits < 1<<16; bits++ {
		h := numpy.Float16(bits)
		f := h.Float64()
		if f != f {
			if uint16(numpy.NewFloat16(f))&0x7c00 != 0x7c00 || uint16(numpy.NewFloat16(f))&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", bits, numpy.NewFloat16(f))
			}
			continue
		}
		if back := numpy.NewFloat16(f); back != h {
			t.Fatalf("%#04x → %g → %#04x", bits, f, back)
		}
	}
}

// TestKOrderCopy: an order-'K' pickle with a general permutation is
// gathered into C order; the reverse permutation stays in place as
// Fortran order.
func TestKOrder(t *testing.T) {
	data := make([]byte, 24)
	for i := range data {
		data[i] = byte(i)
	}
	i1 := dtypeCall("i1", "|")
	a, err := numpy.FromValue(frombuffer(py.ByteArray(data), i1, py.Tuple{int64(2), int64(3), int64(4)}, "K", py.Tuple{int64(2), int64(0), int64(1)}))
	if err != nil {
		t.Fatal(err)
	}
	// b = c.transpose(2, 0, 1): b[i, j, k] = c[j, k, i] = 12j + 4k + i.
	want := make([]byte, 0, 24)
	for i := range 4 {
		for j := range 2 {
			for k := range 3 {
				want = append(want, byte(12*j+4*k+i))
			}
		}
	}
	if a.Order != numpy.C || !bytes.Equal(a.Data, want) || len(a.Shape) != 3 || a.Shape[0] != 4 {
		t.Errorf("got %v %x, want %x", a, a.Data, want)
	}
	r, err := numpy.FromValue(frombuffer(py.ByteArray(data), i1, py.Tuple{int64(2), int64(3), int64(4)}, "K", py.Tuple{int64(2), int64(1), int64(0)}))
	if err != nil || r.Order != numpy.Fortran || &r.Data[0] != &data[0] || r.Shape[0] != 4 || r.Shape[2] != 2 {
		t.Errorf("reversed: %v %v", r, err)
	}
}
