package pickler_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// TestKeysEqualInPythonAreRefused: Go map keys that Go keeps apart but
// Python finds equal would collapse into one dict entry when CPython loads
// the pickle, silently dropping values ({1, 1.0, true, int8(1)} gave
// {True: 'int8'}): ErrDuplicateKey naming both, sorted or not. Keys that
// only look alike (1 and "1", two NaNs, 5 and 5ns, naive and aware times of
// one wall clock, times a microsecond apart) are written, and CPython loads
// every entry.
func TestKeysEqualInPythonAreRefused(t *testing.T) {
	a, b := 1, 1
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	refused := map[string]any{
		"numbers":               map[any]any{1: "int", 1.0: "float", true: "bool", int8(1): "int8"},
		"uint and float":        map[any]string{uint64(1 << 63): "u", float64(1 << 63): "f"},
		"complex and int":       map[any]int{complex(2, 0): 1, 2: 2},
		"named string":          map[any]int{"x": 1, named("x"): 2},
		"pointers":              map[*int]string{&a: "a", &b: "b"},
		"times of one instant":  map[time.Time]int{t0: 1, t0.In(time.FixedZone("x", 3600)): 2},
		"times 1ns apart":       map[time.Time]int{t0: 1, t0.Add(time.Nanosecond): 2},
		"naive times 1ns apart": map[time.Time]int{t0.In(py.Naive): 1, t0.In(py.Naive).Add(time.Nanosecond): 2},
		"durations 1ns apart":   map[time.Duration]int{time.Second: 1, time.Second + 1: 2},
		"tuples":                map[any]int{[2]any{1, "a"}: 1, [2]any{1.0, "a"}: 2},
		"nil and nil pointer":   map[any]int{nil: 1, (*int)(nil): 2},
		"in a struct field":     struct{ M map[any]int }{map[any]int{0: 1, false: 2}},
	}
	for name, v := range refused {
		for _, sorted := range []bool{true, false} {
			_, err := pickler.Marshal(v, pickler.SortMapKeys(sorted))
			require.ErrorIs(t, err, pickler.ErrDuplicateKey, "%s (sorted %v)", name, sorted)
			var ve *pickler.UnsupportedValueError
			require.True(t, errors.As(err, &ve), name)
			require.Contains(t, ve.Path, "[key ", name)
		}
	}
	nan := math.NaN()
	written := map[string]any{
		"1 and \"1\"":           map[any]int{1: 1, "1": 2},
		"two NaNs":              map[float64]int{nan: 1, math.Float64frombits(math.Float64bits(nan) + 1): 2},
		"NaN keys in any":       map[any]int{nan: 1, math.NaN(): 2, 0: 3},
		"int and duration":      map[any]int{5: 1, 5 * time.Nanosecond: 2, time.Duration(5000): 3},
		"naive and aware":       map[time.Time]int{t0: 1, time.Date(2024, 3, 1, 12, 0, 0, 0, py.Naive): 2},
		"times 1µs apart":       map[time.Time]int{t0: 1, t0.Add(time.Microsecond): 2},
		"durations 1µs apart":   map[time.Duration]int{time.Second: 1, time.Second + time.Microsecond: 2},
		"tuples":                map[any]int{[2]any{1, "a"}: 1, [2]any{2, "a"}: 2, [1]any{1}: 3},
		"complex":               map[any]int{complex(2, 1): 1, 2: 2},
		"pointers to 1 and 2":   map[*int]int{&a: 1, new(int): 2},
		"-0.0 and 0 (one key)":  map[float64]int{math.Copysign(0, -1): 1},
		"int keys":              map[int]string{1: "a", 2: "b"},
		"str keys":              map[string]int{"a": 1, "b": 2},
		"bool and 2":            map[any]int{true: 1, 2: 2, false: 3, -1: 4},
		"big ints and floats":   map[any]int{uint64(1<<63 + 1): 1, float64(1 << 63): 2},
		"nil once":              map[any]int{nil: 1, 0: 2},
		"empty and 0-len tuple": map[any]int{"": 1, [0]int{}: 2},
	}
	type pyc struct {
		Name   string `json:"name"`
		Pickle string `json:"pickle"`
		N      int    `json:"n"`
	}
	var cases []pyc
	for name, v := range written {
		for _, sorted := range []bool{true, false} {
			out, err := pickler.Marshal(v, pickler.SortMapKeys(sorted))
			require.NoError(t, err, name)
			cases = append(cases, pyc{name, base64.StdEncoding.EncodeToString(out), mapLen(v)})
		}
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH: the written maps were not loaded")
	}
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	cmd := exec.Command("python3", "-c", `
import base64, json, pickle, sys
for c in json.load(sys.stdin):
    d = pickle.loads(base64.b64decode(c["pickle"]))
    if len(d) != c["n"]:
        print("%s: %d entries, want %d: %r" % (c["name"], len(d), c["n"], d))
`)
	cmd.Stdin = bytes.NewReader(in)
	res, err := cmd.CombinedOutput()
	require.NoError(t, err, string(res))
	require.Empty(t, strings.TrimSpace(string(res)), "entries CPython merged")
}

type named string

func mapLen(v any) int { return reflect.ValueOf(v).Len() }

// TestNonASCIIGlobalAtProtocol3: protocol 3 writes a global's names as
// UTF-8, byte for byte as CPython (pickle.dumps of class Ç of module
// módulo); protocols 0-2 refuse them, as CPython does.
func TestNonASCIIGlobalAtProtocol3(t *testing.T) {
	g := py.Global{Module: "módulo", Name: "Ç"}
	out, err := pickler.Marshal(g, pickler.Protocol(3))
	require.NoError(t, err)
	require.Equal(t, []byte("\x80\x03cm\xc3\xb3dulo\n\xc3\x87\nq\x00."), out)
	back, err := unpickler.Load(out)
	require.NoError(t, err)
	require.Equal(t, g, back)
	for p := 0; p < 3; p++ {
		_, err := pickler.Marshal(g, pickler.Protocol(p))
		require.ErrorIs(t, err, pickler.ErrProtocol, "protocol %d", p)
	}
	_, err = pickler.Marshal(py.Global{Module: "m\xff", Name: "x"}, pickler.Protocol(3))
	require.ErrorIs(t, err, pickler.ErrInvalidString)
}

// TestNilOutputs: a nil list or writer is an error, not a panic.
func TestNilOutputs(t *testing.T) {
	require.ErrorIs(t, pickler.EncodeTo(nil, 1), pickler.ErrNilOutput)
	require.ErrorIs(t, pickler.EncodeTo(nil, 1, pickler.RefThreshold(1024)), pickler.ErrNilOutput)
	require.ErrorIs(t, pickler.NewEncoder(nil).Encode(1), pickler.ErrNilOutput)
	require.ErrorIs(t, pickler.NewEncoder(nil, pickler.RefThreshold(1024)).Encode([]byte("x")), pickler.ErrNilOutput)
}
