package pickler_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

type oddTagged struct {
	NL     int    `pickle:"a\nb"`
	BS     int    `pickle:"\\"`
	Empty  int    `pickle:""`
	Dash   int    `pickle:"-,"`
	hidden int    //nolint:unused // unexported: not written
	Uni    int    `pickle:"é"`
	Omit   int    `pickle:"x,omitempty"`
	NUL    int    `pickle:"\x00"`
	Bad    string `pickle:"\xff"`
}

type withUnexported struct {
	A int
	b []any
	c chan int
	F func()
}

type garbageMarshaler struct{ v any }

func (g garbageMarshaler) MarshalPickle() (any, error) { return g.v, nil }

type nilErrMarshaler struct{}

func (*nilErrMarshaler) MarshalPickle() (any, error) { return nil, nil }

// badInputs are values a careless or hostile caller may hand the pickler.
func badInputs() map[string]any {
	var nilPtr *int
	var nilMap map[string]any
	var nilFunc func()
	var nilSlice []any
	var nilIface any
	var nilDict *py.Dict
	var nilBig *big.Int
	x := 1
	invalid := "a\xffb"
	long := strings.Repeat("x", 300)
	bigKeys := map[string]float64{}
	for i := 0; i < 100; i++ {
		bigKeys[fmt.Sprint("k", i)] = float64(i)
	}
	bigKeys["k50\xff"] = 1
	bigAny := map[string]any{}
	for i := 0; i < 100; i++ {
		bigAny[fmt.Sprint("k", i)] = i
	}
	bigAny["\xfe"+long] = 1
	return map[string]any{
		"nil":                 nil,
		"typed nil pointer":   nilPtr,
		"nil map":             nilMap,
		"nil func":            nilFunc,
		"func":                func() {},
		"nil slice":           nilSlice,
		"nil interface ptr":   &nilIface,
		"nil *py.Dict":        nilDict,
		"nil *big.Int":        nilBig,
		"chan":                make(chan int),
		"unsafe.Pointer":      unsafe.Pointer(&x),
		"uintptr":             uintptr(7),
		"complex":             complex(math.Inf(1), math.NaN()),
		"complex64":           complex64(1 + 2i),
		"huge big.Int":        new(big.Int).Lsh(big.NewInt(1), 20000),
		"negative big.Int":    new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(3), 200)),
		"big.Int value":       *big.NewInt(-5),
		"floats":              []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64},
		"float32 NaN":         float32(math.NaN()),
		"invalid UTF-8":       invalid,
		"invalid long":        long + invalid,
		"invalid shared":      []string{long + invalid},
		"invalid in []any":    []any{1, invalid},
		"invalid key":         map[string]int{invalid: 1},
		"invalid key any":     map[string]any{invalid: 1},
		"invalid large key":   bigKeys,
		"invalid large key2":  bigAny,
		"invalid value":       map[string]string{"k": invalid},
		"invalid field name":  oddTagged{},
		"lone surrogate":      "caf\xed\xb3\xa9",
		"text escapes":        "a\nb\rc\\d\x00e\x1a\u0085\u2028\U0010FFFF'\"",
		"text escapes bytes":  []byte("a\nb\rc\\d\x00e'\""),
		"text escapes py2":    py.ByteString("a\nb\rc\\d\x00e'\"\xff"),
		"text bytearray":      py.ByteArray("a\nb\\\x00"),
		"odd tags":            oddTagged{NL: 1, BS: 2, Empty: 3, Dash: 4, Uni: 5, NUL: 6},
		"unexported fields":   withUnexported{A: 1, b: []any{make(chan int)}, c: make(chan int)},
		"func field":          withUnexported{A: 1, F: func() {}},
		"marshaler chan":      garbageMarshaler{make(chan int)},
		"marshaler unsafe":    []any{garbageMarshaler{unsafe.Pointer(&x)}},
		"marshaler nil":       garbageMarshaler{nil},
		"marshaler nil recv":  (*nilErrMarshaler)(nil),
		"marshaler recursive": garbageMarshaler{garbageMarshaler{garbageMarshaler{[]any{1}}}},
		"global newline":      py.Global{Module: "os", Name: "sys\ntem"},
		"persistent id":       py.PersistentID{ID: "a\nb"},
		"oob":                 py.OutOfBand{},
		"empty containers":    []any{py.Tuple{}, []any{}, map[string]any{}, py.NewDict(0), py.NewSet(), py.NewFrozenSet(), []byte{}, "", py.ByteArray{}},
	}
}

// TestBadInputsAreTypedErrorsOrLoad: every bad input, at every protocol,
// through Marshal, EncodeTo and an Encoder, is either a pickle CPython
// loads (and the three agree byte for byte) or a typed error
// (*UnsupportedTypeError or *UnsupportedValueError) that is not
// ErrInternal (a recovered panic), and every invalid UTF-8 str is refused.
func TestBadInputsAreTypedErrorsOrLoad(t *testing.T) {
	type pyc struct {
		Name   string `json:"name"`
		Pickle string `json:"pickle"`
	}
	var cases []pyc
	for name, v := range badInputs() {
		for p := 0; p <= 5; p++ {
			label := fmt.Sprintf("%s, protocol %d", name, p)
			out, err := pickler.Marshal(v, pickler.Protocol(p))
			var l segments.List
			err2 := pickler.EncodeTo(&l, v, pickler.Protocol(p))
			var buf bytes.Buffer
			err3 := pickler.NewEncoder(&buf, pickler.Protocol(p)).Encode(v)
			if err != nil {
				var te *pickler.UnsupportedTypeError
				var ve *pickler.UnsupportedValueError
				require.True(t, errors.As(err, &te) || errors.As(err, &ve), "%s: untyped error %T %v", label, err, err)
				require.NotErrorIs(t, err, pickler.ErrInternal, label)
				require.Error(t, err2, label)
				require.Error(t, err3, label)
				require.Equal(t, err.Error(), err2.Error(), label)
				require.Equal(t, err.Error(), err3.Error(), label)
				require.NotContains(t, err.Error(), "\n", "%s: error message of several lines", label)
				continue
			}
			require.NoError(t, err2, label)
			require.NoError(t, err3, label)
			require.Equal(t, out, l.Bytes(), label)
			require.Equal(t, out, buf.Bytes(), label)
			require.False(t, strings.HasPrefix(name, "invalid"), "%s: invalid UTF-8 written", label)
			cases = append(cases, pyc{label, base64.StdEncoding.EncodeToString(out)})
			l.Release()
		}
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH")
	}
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	cmd := exec.Command("python3", "-c", `
import base64, json, pickle, sys
class U(pickle.Unpickler):
    def persistent_load(self, pid): return pid
    def find_class(self, module, name):
        if module == "os": return (module, name)  # names that do not exist there
        return super().find_class(module, name)
import io
bad = []
for c in json.load(sys.stdin):
    try:
        U(io.BytesIO(base64.b64decode(c["pickle"])), buffers=[b"x"], encoding="latin1").load()
    except Exception as e:
        bad.append("%s: %r" % (c["name"], e))
print("\n".join(bad))
`)
	cmd.Stdin = bytes.NewReader(in)
	res, err := cmd.CombinedOutput()
	require.NoError(t, err, string(res))
	require.Empty(t, strings.TrimSpace(string(res)), "pickles CPython rejects")
}

// TestTimeZoneOutOfPythonRange: Go's FixedZone takes any offset, Python's
// timezone only those strictly within 24 hours: a time.Time 24 hours or
// more from UTC is a typed error (py.ErrTimezoneRange), not a pickle that
// pickle.loads refuses ("offset must be a timedelta strictly between
// -timedelta(hours=24) and timedelta(hours=24)"); just inside, it is
// written.
func TestTimeZoneOutOfPythonRange(t *testing.T) {
	for _, off := range []int{86400, -86400, 86400 * 3, -86405} {
		tm := time.Date(2020, 1, 1, 0, 0, 0, 0, time.FixedZone("x", off))
		for p := 0; p <= 5; p++ {
			_, err := pickler.Marshal(tm, pickler.Protocol(p))
			require.ErrorIs(t, err, py.ErrTimezoneRange, "offset %d protocol %d", off, p)
			var ve *pickler.UnsupportedValueError
			require.ErrorAs(t, err, &ve)
		}
	}
	for _, off := range []int{86399, -86399, 0, 37} {
		_, err := pickler.Marshal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.FixedZone("x", off)))
		require.NoError(t, err, "offset %d", off)
	}
}
