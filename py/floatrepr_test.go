package py

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// reprByFormat is the plain statement of Python's float repr that
// AppendFloatRepr computes without allocating: the shortest round-trip
// digits, exponent form for exponents below -4 or from 16, ".0" on
// integral values.
func reprByFormat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func TestAppendFloatRepr(t *testing.T) {
	// CPython 3.11's repr of each.
	for f, want := range map[float64]string{
		0: "0.0", math.Copysign(0, -1): "-0.0", 1: "1.0", -1.5: "-1.5", 0.1: "0.1", 1e16: "1e+16",
		1e15: "1000000000000000.0", 1e-4: "0.0001", 1e-5: "1e-05", 1.5e300: "1.5e+300",
		123456789.125: "123456789.125", math.MaxFloat64: "1.7976931348623157e+308",
		5e-324: "5e-324", math.Inf(1): "inf", math.Inf(-1): "-inf", math.NaN(): "nan",
	} {
		if got := string(AppendFloatRepr([]byte("x"), f))[1:]; got != want {
			t.Errorf("%v: got %q, want %q", f, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		f := math.Float64frombits(r.Uint64())
		if r.IntN(2) == 0 {
			f = float64(r.Int64N(1<<20)) / float64(int64(1)<<r.IntN(40))
		}
		if got, want := string(AppendFloatRepr(nil, f)), reprByFormat(f); got != want {
			t.Fatalf("%b: got %q, want %q", math.Float64bits(f), got, want)
		}
	}
}
