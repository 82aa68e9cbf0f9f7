package tests

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/segpickle/segpickle/channel"
	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
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

// pyNumpyChannelClient sends numpy arrays of every supported dtype, both
// byte orders, C and Fortran order, 0-d, empty and non-contiguous, to the
// Go service through segpickle.Channel, in band and out of band, and
// checks each reply: float64 arrays come back doubled (Go doubled them in
// place), the others unchanged; same dtype (byte order included), shape
// and memory order, writable, and out-of-band replies 64-byte aligned.
const pyNumpyChannelClient = `
import sys
import numpy as np
from segpickle import Channel

def arrays():
    for ds in ["|b1", "|i1", "|u1"] + [o + t for t in ("i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16") for o in "<>"]:
        dt = np.dtype(ds)
        base = (np.arange(12) % 3 == 1) if dt.kind == "b" else np.arange(12) - (0 if dt.kind == "u" else 5)
        base = base.astype(dt)
        yield base[:0]
        yield base[3:4].reshape(())
        yield base
        yield base.reshape(3, 4)
        yield np.asfortranarray(base.reshape(3, 4))
        yield base.reshape(3, 4)[:, ::2]          # not contiguous: numpy pickles a C copy
        yield np.asfortranarray(base.reshape(2, 3, 2))

n = 0
for oob in (True, False):
    with Channel(sys.argv[1], timeout=60) as ch:
        for a in arrays():
            got = ch.call(a, out_of_band=oob)
            want = a * 2 if a.dtype == np.dtype("<f8") else a
            what = "%s %s %s oob=%s" % (a.dtype.str, a.shape, "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C", oob)
            assert type(got) is np.ndarray, (what, type(got))
            assert got.dtype == a.dtype and got.shape == a.shape, (what, got.dtype, got.shape)
            assert np.array_equal(got, want), (what, got, want)
            assert got.flags.writeable, what
            if a.flags.f_contiguous and not a.flags.c_contiguous:
                assert got.flags.f_contiguous, what
            if oob and got.size and (a.flags.c_contiguous or a.flags.f_contiguous):
                # (numpy pickles a non-contiguous array in band, so its reply is in band too)
                assert got.ctypes.data % 64 == 0, (what, "not 64-byte aligned")
            if got.size:
                got.flat[0] = got.flat[-1]
            n += 1
print("ok", n)
`

// TestNumpyThroughChannel: Python's segpickle.Channel (numpy from
// /usr/bin/python3) and a Go service with channel.Conn and numpy.Array
// exchange arrays in frames, in band and out of band; the Go side views
// float64 data in place (out of band: the received, 64-byte aligned
// buffer itself) and doubles it.
func TestNumpyThroughChannel(t *testing.T) {
	python := numpyPython(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 2)
	serve := func(nc net.Conn) {
		conn, err := channel.New(nc)
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		for {
			f, err := conn.RecvFrame()
			if err == io.EOF {
				served <- nil
				return
			}
			if err != nil {
				served <- err
				return
			}
			if err := echoDoubled(conn, f); err != nil {
				served <- err
				return
			}
		}
	}
	go func() {
		for range 2 { // one Channel out of band, one in band
			nc, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			serve(nc)
		}
	}()
	cmd := exec.Command(python, "-c", pyNumpyChannelClient, ln.Addr().String())
	root, _ := filepath.Abs("..")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "pyext"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	for range 2 {
		if err := <-served; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s arrays round-tripped", strings.TrimSpace(strings.TrimPrefix(string(out), "ok ")))
}

// echoDoubled decodes the array in f, doubles it if it is float64 (in
// place: out of band, in the received frame) and sends it back the way it
// came.
func echoDoubled(conn *channel.Conn, f *frame.Frame) error {
	defer f.Release() // after the reply is written: it may refer to f's memory
	var a numpy.Array
	if err := unpickler.Unmarshal(f.Pickle, &a, unpickler.Buffers(f.Buffers...)); err != nil {
		return err
	}
	if a.DType == numpy.DTypeOf[float64]() {
		xs, err := numpy.View[float64](&a)
		if err != nil {
			return fmt.Errorf("View of %v (%d buffers): %w", &a, len(f.Buffers), err)
		}
		if len(f.Buffers) > 0 && len(xs) > 0 && unsafe.Pointer(&xs[0]) != unsafe.Pointer(&f.Buffers[0][0]) {
			return fmt.Errorf("View of %v is not the received buffer", &a)
		}
		for i := range xs {
			xs[i] *= 2
		}
	}
	var l segments.List
	defer l.Release()
	var bufs [][]byte
	var opts []pickler.Option
	if len(f.Buffers) > 0 {
		opts = append(opts, pickler.BufferCallback(func(b py.PickleBuffer) bool {
			bufs = append(bufs, b.Data)
			return false
		}))
	}
	if err := pickler.EncodeTo(&l, &a, opts...); err != nil {
		return err
	}
	return conn.SendFrame(l.Segments(), bufs)
}
