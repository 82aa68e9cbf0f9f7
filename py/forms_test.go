package py_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/py"
)

// TestFormsRoundTrip builds each reduce form and recognizes it back.
func TestFormsRoundTrip(t *testing.T) {
	reduce := func(c py.Call) any {
		t.Helper()
		g, ok := c.Callable.(py.Global)
		require.True(t, ok)
		v, ok := py.Reduce(g, c.Args)
		require.True(t, ok, "%v%v not recognized", g, c.Args)
		return v
	}
	for _, b := range [][]byte{{}, []byte("abc"), {0, 0x7f, 0x80, 0xff}} {
		require.Equal(t, b, reduce(py.BytesCall(b)))
		require.Equal(t, py.ByteArray(b), reduce(py.BytearrayCall(b)))
	}
	require.Equal(t, complex(1.5, -2), reduce(py.ComplexCall(complex(1.5, -2))))
	for _, d := range []time.Duration{0, time.Microsecond, -time.Microsecond, 49*time.Hour + 3*time.Second, -100 * time.Hour} {
		require.Equal(t, d, reduce(py.TimedeltaCall(d)))
	}
	for _, tm := range []time.Time{
		time.Date(2024, 2, 29, 23, 59, 58, 999999000, py.Naive),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 1, 2, 3, 4000, time.FixedZone("", -5*3600-1800)),
	} {
		c, err := py.DatetimeCall(tm)
		require.NoError(t, err)
		got := reduce(c).(time.Time)
		require.True(t, tm.Equal(got), "%v != %v", tm, got)
		_, off1 := tm.Zone()
		_, off2 := got.Zone()
		require.Equal(t, off1, off2)
		require.Equal(t, tm.Location() == py.Naive, got.Location() == py.Naive)
	}
	_, err := py.DatetimeCall(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	require.True(t, errors.Is(err, py.ErrDatetimeRange))
	s := reduce(py.SetCall([]any{int64(1), "a"}, false)).(*py.Set)
	require.Equal(t, []any{int64(1), "a"}, s.Items())
	f := reduce(py.SetCall([]any{int64(2)}, true)).(*py.FrozenSet)
	require.Equal(t, []any{int64(2)}, f.Items())
}

// TestFormsRefused checks that shapes a form does not rebuild exactly stay
// calls.
func TestFormsRefused(t *testing.T) {
	for name, c := range map[string]py.Call{
		"encode utf-8":     {Callable: py.CodecsEncode, Args: py.Tuple{"é", "utf-8"}},
		"encode above ff":  {Callable: py.CodecsEncode, Args: py.Tuple{"\u0100", "latin1"}},
		"bytes with args":  {Callable: py.BuiltinBytes, Args: py.Tuple{int64(3)}},
		"set of lists":     {Callable: py.BuiltinSet, Args: py.Tuple{[]any{[]any{}}}},
		"complex of ints":  {Callable: py.BuiltinComplex, Args: py.Tuple{int64(1), int64(2)}},
		"timedelta huge":   {Callable: py.DatetimeTimedelta, Args: py.Tuple{int64(999999999), int64(0), int64(0)}},
		"datetime feb 30":  {Callable: py.DatetimeDatetime, Args: py.Tuple{[]byte{7, 232, 2, 30, 0, 0, 0, 0, 0, 0}}},
		"datetime fold":    {Callable: py.DatetimeDatetime, Args: py.Tuple{[]byte{7, 232, 0x82, 3, 0, 0, 0, 0, 0, 0}}},
		"datetime odd tz":  {Callable: py.DatetimeDatetime, Args: py.Tuple{[]byte{7, 232, 2, 3, 0, 0, 0, 0, 0, 0}, "UTC"}},
		"timezone alone":   {Callable: py.DatetimeTimezone, Args: py.Tuple{time.Hour}},
		"not a form":       {Callable: py.Global{Module: "os", Name: "system"}, Args: py.Tuple{"x"}},
		"timezone sub-sec": {Callable: py.DatetimeDatetime, Args: py.Tuple{[]byte{7, 232, 2, 3, 0, 0, 0, 0, 0, 0}, py.TimezoneCall(time.Millisecond)}},
	} {
		_, ok := py.Reduce(c.Callable.(py.Global), c.Args)
		require.False(t, ok, name)
	}
}

func TestLatin1(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	s := py.Latin1String(all)
	require.Equal(t, 256, len([]rune(s)))
	for i, r := range []rune(s) {
		require.Equal(t, rune(i), r)
	}
	b, ok := py.Latin1Bytes(s)
	require.True(t, ok)
	require.Equal(t, all, b)
	_, ok = py.Latin1Bytes("\xc3")
	require.False(t, ok)
}
