package numpy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"unsafe"

	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// golden is numpy/testdata/golden.json.gz, written by gen_golden.py with
// numpy (see there for what each case holds).
type golden struct {
	Numpy  string
	Python string
	Native string
	Cases  []goldenCase
}

type goldenCase struct {
	Name       string
	Kind       string // array, scalar, dtype, refused
	DType      string
	Shape      []int
	Order      string
	Native     string // hex: the elements in storage order, native byte order
	Contiguous bool
	Pickles    map[string]json.RawMessage
}

// goldenPickle is one pickle of a case: key "2".."5" in band, "5oob" with
// its out-of-band buffers.
type goldenPickle struct {
	Key     string
	Pickle  []byte
	Buffers [][]byte
}

func loadGolden(t testing.TB) golden { return loadGoldenFile(t, "testdata/golden.json.gz") }

func loadGoldenFile(t testing.TB, path string) golden {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.NewDecoder(z).Decode(&g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 200 {
		t.Fatalf("golden has %d cases", len(g.Cases))
	}
	return g
}

func (c goldenCase) pickles(t testing.TB) []goldenPickle {
	t.Helper()
	keys := make([]string, 0, len(c.Pickles))
	for k := range c.Pickles {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []goldenPickle
	for _, k := range keys {
		raw := c.Pickles[k]
		if k == "5oob" {
			var o struct {
				Pickle  string
				Buffers []string
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			gp := goldenPickle{Key: k, Pickle: unhex(t, o.Pickle), Buffers: [][]byte{}}
			for _, b := range o.Buffers {
				gp.Buffers = append(gp.Buffers, unhex(t, b))
			}
			out = append(out, gp)
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, goldenPickle{Key: k, Pickle: unhex(t, s)})
	}
	return out
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (p goldenPickle) opts(extra ...unpickler.Option) []unpickler.Option {
	if p.Buffers != nil {
		extra = append(extra, unpickler.Buffers(p.Buffers...))
	}
	return extra
}

// nativeBytes is Copy into the Go type of the array's dtype, as bytes.
func nativeBytes(t testing.TB, a *numpy.Array) []byte {
	t.Helper()
	var s any
	switch a.DType.Name() {
	case "bool":
		s = numpy.Copy[bool](a)
	case "int8":
		s = numpy.Copy[int8](a)
	case "int16":
		s = numpy.Copy[int16](a)
	case "int32":
		s = numpy.Copy[int32](a)
	case "int64":
		s = numpy.Copy[int64](a)
	case "uint8":
		s = numpy.Copy[uint8](a)
	case "uint16":
		s = numpy.Copy[uint16](a)
	case "uint32":
		s = numpy.Copy[uint32](a)
	case "uint64":
		s = numpy.Copy[uint64](a)
	case "float16":
		s = numpy.Copy[numpy.Float16](a)
	case "float32":
		s = numpy.Copy[float32](a)
	case "float64":
		s = numpy.Copy[float64](a)
	case "complex64":
		s = numpy.Copy[complex64](a)
	case "complex128":
		s = numpy.Copy[complex128](a)
	default:
		t.Fatalf("no Go type for %s", a.DType.Name())
	}
	v := reflect.ValueOf(s)
	if v.IsNil() {
		t.Fatalf("Copy returned nil for %v", a)
	}
	n := v.Len() * int(v.Type().Elem().Size())
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(v.UnsafePointer()), n)
}

// TestGoldenDecode decodes every pickle numpy wrote into a numpy.Array and
// compares dtype, shape, order and elements with what numpy says.
func TestGoldenDecode(t *testing.T) { checkDecode(t, loadGolden(t)) }

// TestLiveNumpy makes the golden cases again with the numpy installed
// (/usr/bin/python3 or NUMPY_PYTHON; numpy 2 writes numpy._core names) and
// decodes them as TestGoldenDecode, TestGoldenIntoSlices and
// TestGoldenRefused do. It skips, saying why, without numpy.
func TestLiveNumpy(t *testing.T) {
	python := os.Getenv("NUMPY_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	if out, err := exec.Command(python, "-c", "import numpy").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import numpy (install python3-numpy, or set NUMPY_PYTHON): %v %s", python, err, out)
	}
	path := filepath.Join(t.TempDir(), "live.json.gz")
	if out, err := exec.Command(python, "testdata/gen_golden.py", path).CombinedOutput(); err != nil {
		t.Fatalf("gen_golden.py: %v\n%s", err, out)
	}
	g := loadGoldenFile(t, path)
	t.Logf("numpy %s, Python %s", g.Numpy, g.Python)
	checkDecode(t, g)
	checkIntoSlices(t, g)
	checkRefused(t, g)
}

func checkDecode(t *testing.T, g golden) {
	if g.Native != map[bool]string{false: "<", true: ">"}[numpy.NativeBigEndian] {
		t.Skipf("golden made on a %s machine", g.Native)
	}
	n := 0
	for _, c := range g.Cases {
		if c.Kind != "array" && c.Kind != "scalar" {
			continue
		}
		for _, p := range c.pickles(t) {
			t.Run(c.Name+"/"+p.Key, func(t *testing.T) {
				var a numpy.Array
				if err := unpickler.Unmarshal(p.Pickle, &a, p.opts()...); err != nil {
					t.Fatal(err)
				}
				checkArray(t, c, &a)
				n++
			})
		}
	}
	if n < 900 {
		t.Fatalf("only %d pickles decoded", n)
	}
}

func checkArray(t *testing.T, c goldenCase, a *numpy.Array) {
	t.Helper()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	want, err := numpy.ParseDType(c.DType)
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != want {
		t.Errorf("dtype %s, want %s", a.DType, want)
	}
	if !reflect.DeepEqual(a.Shape, c.Shape) && !(len(a.Shape) == 0 && len(c.Shape) == 0) {
		t.Errorf("shape %v, want %v", a.Shape, c.Shape)
	}
	if string(rune(a.Order)) != c.Order {
		t.Errorf("order %c, want %s", a.Order, c.Order)
	}
	if got, want := nativeBytes(t, a), unhex(t, c.Native); !bytes.Equal(got, want) {
		t.Errorf("elements\n got %x\nwant %x", got, want)
	}
	// View works exactly when the byte order is native and the data
	// aligned (the decoder's copies of small payloads need not be).
	_, verr := viewAny(a)
	aligned := len(a.Data) == 0 || uintptr(unsafe.Pointer(&a.Data[0]))%uintptr(alignOf(a.DType)) == 0
	if a.DType.Native() && aligned && verr != nil {
		t.Errorf("View: %v", verr)
	}
	if a.DType.Native() && !aligned && !errors.Is(verr, numpy.ErrMisaligned) {
		t.Errorf("View of misaligned data: %v, want ErrMisaligned", verr)
	}
	if !a.DType.Native() && !errors.Is(verr, numpy.ErrByteOrder) {
		t.Errorf("View of %s: %v, want ErrByteOrder", a.DType, verr)
	}
}

func alignOf(d numpy.DType) int {
	if d.Kind == numpy.Complex {
		return d.Size / 2
	}
	return d.Size
}

// viewAny is View into the Go type of the array's dtype.
func viewAny(a *numpy.Array) (any, error) {
	switch a.DType.Name() {
	case "bool":
		return numpy.View[bool](a)
	case "int8":
		return numpy.View[int8](a)
	case "int16":
		return numpy.View[int16](a)
	case "int32":
		return numpy.View[int32](a)
	case "int64":
		return numpy.View[int64](a)
	case "uint8":
		return numpy.View[uint8](a)
	case "uint16":
		return numpy.View[uint16](a)
	case "uint32":
		return numpy.View[uint32](a)
	case "uint64":
		return numpy.View[uint64](a)
	case "float16":
		return numpy.View[numpy.Float16](a)
	case "float32":
		return numpy.View[float32](a)
	case "float64":
		return numpy.View[float64](a)
	case "complex64":
		return numpy.View[complex64](a)
	case "complex128":
		return numpy.View[complex128](a)
	}
	return nil, fmt.Errorf("no Go type for %s", a.DType)
}

// TestGoldenSegmentsAndZeroCopy decodes the protocol-5 pickles through
// 7-byte segments and, with ZeroCopy, checks that the in-band data aliases
// the input (no copy) and that an out-of-band buffer is used in place.
func TestGoldenSegmentsAndZeroCopy(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Cases {
		if c.Kind != "array" {
			continue
		}
		for _, p := range c.pickles(t) {
			if p.Key != "5" && p.Key != "5oob" {
				continue
			}
			t.Run(c.Name+"/"+p.Key, func(t *testing.T) {
				var segs [][]byte
				for i := 0; i < len(p.Pickle); i += 7 {
					segs = append(segs, p.Pickle[i:min(i+7, len(p.Pickle))])
				}
				var a numpy.Array
				if err := unpickler.UnmarshalSegments(segs, &a, p.opts()...); err != nil {
					t.Fatal(err)
				}
				checkArray(t, c, &a)

				in := bytes.Clone(p.Pickle)
				var z numpy.Array
				if err := unpickler.Unmarshal(in, &z, p.opts(unpickler.ZeroCopy(true))...); err != nil {
					t.Fatal(err)
				}
				if len(z.Data) == 0 || isK(c) { // order K may permute into a copy
					return
				}
				var src []byte
				if len(p.Buffers) > 0 {
					src = p.Buffers[0]
				} else {
					src = in
				}
				if !within(z.Data, src) {
					t.Errorf("data was copied (ZeroCopy, %s)", p.Key)
				}
			})
		}
	}
}

func isK(c goldenCase) bool { return len(c.Name) > 7 && c.Name[:7] == "order K" }

func within(b, in []byte) bool {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(in)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(in))
}

// TestGoldenMarshalIdentical marshals each decoded array back at the same
// protocol and compares with numpy's own bytes: identical, out-of-band
// buffers included. (Sources that were not contiguous are left out at
// protocol 5, where numpy falls back to the protocol-4 form.)
func TestGoldenMarshalIdentical(t *testing.T) {
	g := loadGolden(t)
	n := 0
	for _, c := range g.Cases {
		if c.Kind != "array" || isK(c) || len(c.Name) > 6 && c.Name[:6] == "numpy2" {
			continue
		}
		for _, p := range c.pickles(t) {
			proto := int(p.Key[0] - '0')
			if proto == 5 && !c.Contiguous {
				continue
			}
			t.Run(c.Name+"/"+p.Key, func(t *testing.T) {
				var a numpy.Array
				if err := unpickler.Unmarshal(p.Pickle, &a, p.opts()...); err != nil {
					t.Fatal(err)
				}
				var bufs [][]byte
				opts := []pickler.Option{pickler.Protocol(proto)}
				if p.Buffers != nil {
					opts = append(opts, pickler.BufferCallback(func(b py.PickleBuffer) bool {
						bufs = append(bufs, b.Data)
						return false
					}))
				}
				got, err := pickler.Marshal(&a, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, p.Pickle) {
					t.Errorf("pickle differs from numpy's\n got %x\nwant %x", got, p.Pickle)
				}
				if p.Buffers != nil {
					if len(bufs) != len(p.Buffers) || len(bufs) == 1 && !bytes.Equal(bufs[0], p.Buffers[0]) {
						t.Errorf("buffers %x, want %x", bufs, p.Buffers)
					}
					if len(bufs) == 1 && len(bufs[0]) > 0 && &bufs[0][0] != &a.Data[0] {
						t.Errorf("out-of-band buffer is a copy")
					}
				}
				n++
			})
		}
	}
	if n < 500 {
		t.Fatalf("only %d pickles compared", n)
	}
}

// TestGoldenDType decodes pickled dtypes on their own.
func TestGoldenDType(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Cases {
		if c.Kind != "dtype" {
			continue
		}
		for _, p := range c.pickles(t) {
			var d numpy.DType
			if err := unpickler.Unmarshal(p.Pickle, &d); err != nil {
				t.Fatalf("%s/%s: %v", c.Name, p.Key, err)
			}
			if d.String() != c.DType {
				t.Errorf("%s/%s: %s, want %s", c.Name, p.Key, d, c.DType)
			}
		}
	}
}

// TestGoldenRefused: what the package does not represent (object arrays,
// structured dtypes, datetime64, strings, longdouble, subclasses) is a
// typed error into numpy.Array and into []float64, never a panic.
func TestGoldenRefused(t *testing.T) { checkRefused(t, loadGolden(t)) }

func checkRefused(t *testing.T, g golden) {
	n := 0
	for _, c := range g.Cases {
		if c.Kind != "refused" {
			continue
		}
		for _, p := range c.pickles(t) {
			var a numpy.Array
			err := unpickler.Unmarshal(p.Pickle, &a)
			if !errors.Is(err, numpy.ErrUnsupported) && !errors.Is(err, numpy.ErrNotArray) {
				t.Errorf("%s/%s: %v, want ErrUnsupported or ErrNotArray", c.Name, p.Key, err)
			}
			var e *numpy.Error
			if !errors.As(err, &e) {
				t.Errorf("%s/%s: %T is not a *numpy.Error", c.Name, p.Key, err)
			}
			var xs []float64
			if err := unpickler.Unmarshal(p.Pickle, &xs); err == nil {
				t.Errorf("%s/%s: into []float64: no error", c.Name, p.Key)
			}
			n++
		}
	}
	if n < 20 {
		t.Fatalf("only %d refused pickles", n)
	}
}

// TestGoldenReencode: every pickle numpy wrote (refused kinds included)
// decodes into the dynamic model and re-encodes at its protocol to the
// same bytes, out-of-band buffers included — what `segpickle reencode` and
// the echo server do with numpy's pickles.
func TestGoldenReencode(t *testing.T) {
	g := loadGolden(t)
	n := 0
	for _, c := range g.Cases {
		for _, p := range c.pickles(t) {
			v, err := unpickler.Load(p.Pickle, p.opts()...)
			if err != nil {
				t.Fatalf("%s/%s: %v", c.Name, p.Key, err)
			}
			var bufs [][]byte
			opts := []pickler.Option{pickler.Protocol(int(p.Key[0] - '0'))}
			if p.Buffers != nil {
				opts = append(opts, pickler.BufferCallback(func(b py.PickleBuffer) bool {
					bufs = append(bufs, b.Data)
					return false
				}))
			}
			out, err := pickler.Marshal(v, opts...)
			if err != nil {
				t.Fatalf("%s/%s: %v", c.Name, p.Key, err)
			}
			if !bytes.Equal(out, p.Pickle) {
				t.Errorf("%s/%s: re-encoded\n got %x\nwant %x", c.Name, p.Key, out, p.Pickle)
			}
			if len(bufs) != len(p.Buffers) {
				t.Errorf("%s/%s: %d buffers, want %d", c.Name, p.Key, len(bufs), len(p.Buffers))
			}
			n++
		}
	}
	if n < 1000 {
		t.Fatalf("only %d pickles", n)
	}
}
