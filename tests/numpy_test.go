package tests

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// numpyPython is the interpreter with numpy: Debian's /usr/bin/python3
// (python3-numpy), or NUMPY_PYTHON. The test skips, saying so, only when
// it lacks numpy.
func numpyPython(t *testing.T) string {
	t.Helper()
	py := os.Getenv("NUMPY_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import numpy").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import numpy (install python3-numpy, or set NUMPY_PYTHON): %v %s", py, err, out)
	}
	return py
}

// numpyCheck loads each pickle with numpy and compares it with the array
// the case describes (its elements in storage order, native byte order):
// dtype, shape, values (NaN equal to NaN), memory order, and that it is
// writable (a write must succeed). It also pickles the expected array with
// numpy at the same protocol and says whether the bytes are the same.
const numpyCheck = `
import io, json, pickle, pickletools, sys
import numpy as np
out = []
for c in json.load(sys.stdin):
    try:
        data = bytes.fromhex(c["pickle"])
        pickletools.dis(data, out=io.StringIO())
        bufs = [bytearray.fromhex(b) for b in c["buffers"]]
        got = pickle.loads(data, buffers=bufs) if c["oob"] else pickle.loads(data)
        dt = np.dtype(c["dtype"])
        want = np.frombuffer(bytes.fromhex(c["native"]), dtype=dt.newbyteorder("=")).reshape(c["shape"], order=c["order"])
        want = want.astype(dt).copy(order=c["order"])
        errs = []
        if type(got) is not np.ndarray:
            errs.append("type %s" % type(got))
        # numpy loads a non-native byte order as native below protocol 5
        if got.dtype.newbyteorder("=") != dt.newbyteorder("="):
            errs.append("dtype %s, want %s" % (got.dtype, dt))
        if c["proto"] == 5 and got.dtype != dt:
            errs.append("dtype %s, want %s" % (got.dtype.str, dt.str))
        if got.shape != want.shape:
            errs.append("shape %s, want %s" % (got.shape, want.shape))
        elif not np.array_equal(got, want, equal_nan=True) and not (dt.kind == "c" and np.array_equal(got.view("f%d" % (dt.itemsize // 2)), want.view("f%d" % (dt.itemsize // 2)), equal_nan=True)):
            errs.append("values %r, want %r" % (got, want))
        if c["order"] == "F" and got.ndim > 1 and got.size > 1 and not got.flags.f_contiguous:
            errs.append("not Fortran-contiguous")
        if not got.flags.writeable:
            errs.append("not writable")
        elif got.size:
            got.flat[0] = got.flat[-1]  # must not raise
        if c["oob"] and got.size and not np.shares_memory(got, np.frombuffer(bufs[0], dtype=np.uint8)):
            errs.append("out-of-band array does not use the buffer")
        theirs = pickle.dumps(want, c["proto"], buffer_callback=(lambda b: False) if c["oob"] else None)
        out.append({"err": "; ".join(errs), "same": theirs == data})
    except Exception as e:
        out.append({"err": "error: %r" % e, "same": False})
json.dump(out, sys.stdout)
`

type numpyCase struct {
	name    string
	Pickle  string   `json:"pickle"`
	Buffers []string `json:"buffers"`
	OOB     bool     `json:"oob"`
	Proto   int      `json:"proto"`
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Order   string   `json:"order"`
	Native  string   `json:"native"`
}

// goArrays builds an array of every supported dtype, byte order, shape
// kind and memory order in Go.
func goArrays() []*numpy.Array {
	var out []*numpy.Array
	add := func(a *numpy.Array) { out = append(out, a) }
	mk := func(a *numpy.Array) {
		base := *a
		for _, shape := range [][]int{{}, {0}, {2, 0}, {6}, {2, 3}, {3, 1, 2}} {
			n := 1
			for _, d := range shape {
				n *= d
			}
			for _, order := range []numpy.Order{numpy.C, numpy.Fortran} {
				if order == numpy.Fortran && len(shape) < 2 {
					continue
				}
				for _, big := range []bool{false, true} {
					if big && base.DType.Size == 1 {
						continue
					}
					b := base
					b.Shape, b.Order = shape, order
					b.Data = append([]byte{}, base.Data[:n*base.DType.Size]...)
					if big != numpy.NativeBigEndian {
						b.DType.BigEndian = big
						swap(b.Data, b.DType)
					}
					add(&b)
				}
			}
		}
	}
	mk(numpy.New([]bool{true, false, true, true, false, true}))
	mk(numpy.New([]int8{0, -1, 127, -128, 5, 6}))
	mk(numpy.New([]uint8{0, 1, 255, 254, 5, 6}))
	mk(numpy.New([]int16{0, -1, 32767, -32768, 5, 6}))
	mk(numpy.New([]uint16{0, 1, 65535, 2, 5, 6}))
	mk(numpy.New([]int32{0, -1, 1 << 30, -1 << 31, 5, 6}))
	mk(numpy.New([]uint32{0, 1, 1<<32 - 1, 2, 5, 6}))
	mk(numpy.New([]int64{0, -1, 1<<63 - 1, -1 << 63, 5, 6}))
	mk(numpy.New([]uint64{0, 1, 1<<64 - 1, 2, 5, 6}))
	mk(numpy.New([]numpy.Float16{numpy.NewFloat16(0), numpy.NewFloat16(-1.5), numpy.NewFloat16(65504), 0x7e00, 0x7c00, numpy.NewFloat16(0.1)}))
	nan := float32(0)
	nan = nan / nan
	mk(numpy.New([]float32{0, -1.5, 3.25e38, nan, 1e-45, 0.1}))
	mk(numpy.New([]float64{0, -1.5, 1e308, float64(nan), 5e-324, 0.1}))
	mk(numpy.New([]complex64{0, complex(1, -2), complex(nan, 1), 3, 4i, 5}))
	mk(numpy.New([]complex128{0, complex(1, -2), complex(float64(nan), 1), 3, 4i, 5}))
	return out
}

func swap(b []byte, d numpy.DType) {
	unit := d.Size
	if d.Kind == numpy.Complex {
		unit /= 2
	}
	for i := 0; i < len(b); i += unit {
		for j, k := i, i+unit-1; j < k; j, k = j+1, k-1 {
			b[j], b[k] = b[k], b[j]
		}
	}
}

// TestNumpyGoToPython marshals arrays made in Go — every supported dtype
// in both byte orders, C and Fortran order, 0-d, empty, 1-D to 3-D — at
// protocols 2 to 5 and out of band at 5, loads them with numpy, and
// compares: equal values, dtype, shape and order, writable; and byte for
// byte what numpy itself writes for the same array.
func TestNumpyGoToPython(t *testing.T) {
	python := numpyPython(t)
	var cases []numpyCase
	for _, a := range goArrays() {
		nb := copyNative(a)
		for _, proto := range []int{2, 3, 4, 5, 6} {
			c := numpyCase{Proto: min(proto, 5), OOB: proto == 6, DType: a.DType.String(), Shape: a.Shape,
				Order: string(rune(a.Order)), Native: hex.EncodeToString(nb), Buffers: []string{}}
			c.name = fmt.Sprintf("%v p%d", a, c.Proto)
			opts := []pickler.Option{pickler.Protocol(c.Proto)}
			if c.OOB {
				c.name += " out of band"
				opts = append(opts, pickler.BufferCallback(func(b py.PickleBuffer) bool {
					c.Buffers = append(c.Buffers, hex.EncodeToString(b.Data))
					return false
				}))
			}
			p, err := pickler.Marshal(a, opts...)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			c.Pickle = hex.EncodeToString(p)
			cases = append(cases, c)
		}
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", numpyCheck)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", python, err)
	}
	var res []struct {
		Err  string
		Same bool
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("%v: %d results for %d cases", err, len(res), len(cases))
	}
	same := 0
	for i, r := range res {
		if r.Err != "" {
			t.Errorf("%s: %s", cases[i].name, r.Err)
		}
		if r.Same {
			same++
		} else {
			t.Errorf("%s: not the bytes numpy writes", cases[i].name)
		}
	}
	t.Logf("%d arrays loaded by numpy, %d byte-identical with numpy's pickles", len(cases), same)
}

// copyNative is the array's data in native byte order (storage order).
func copyNative(a *numpy.Array) []byte {
	b := append([]byte{}, a.Data...)
	if !a.DType.Native() {
		swap(b, a.DType)
	}
	return b
}
