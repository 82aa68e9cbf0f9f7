package pyjson_test

import (
	"bytes"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/py"
)

// Integers follow CPython's int_max_str_digits (4300): json.loads refuses
// longer ones, and so do we (the conversion would be quadratic).
func TestIntDigitLimit(t *testing.T) {
	ok := strings.Repeat("9", pyjson.MaxIntDigits)
	v, err := pyjson.Number(ok)
	require.NoError(t, err)
	require.IsType(t, &big.Int{}, v)
	_, err = pyjson.Number("-" + ok)
	require.NoError(t, err)
	_, err = pyjson.Number(ok + "9")
	require.ErrorContains(t, err, "exceeds the limit (4300 digits)")
	_, err = pyjson.Decode(strings.NewReader(strings.Repeat("1", 100_000)), false)
	require.ErrorContains(t, err, "100000 digits")

	// Writing: an int over 4300 digits is refused, as json.dumps does.
	var out bytes.Buffer
	big4300, _ := new(big.Int).SetString(ok, 10)
	require.NoError(t, pyjson.Encode(&out, big4300))
	require.Equal(t, ok+"\n", out.String())
	huge := new(big.Int).Lsh(big.NewInt(1), 1<<20)
	require.ErrorContains(t, pyjson.Encode(io.Discard, []any{huge}), "exceeds the limit")
	over, _ := new(big.Int).SetString(ok+"0", 10)
	require.ErrorContains(t, pyjson.Encode(io.Discard, over), "4301 digits")
}

// Deep JSON fails at the depth limit with one clear line, not a stack
// overflow.
func TestDecodeDepthLimit(t *testing.T) {
	for _, n := range []int{10001, 1_000_000} { // 5,000,000 in the hostile suite
		doc := strings.Repeat("[", n) + strings.Repeat("]", n)
		_, err := pyjson.Decode(strings.NewReader(doc), false)
		require.ErrorContains(t, err, "nesting deeper than 10000")
	}
	doc := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	_, err := pyjson.Decode(strings.NewReader(doc), true)
	require.NoError(t, err)
}

// countWriter records the largest single write and the total.
type countWriter struct{ n, maxWrite int }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.maxWrite = max(w.maxWrite, len(p))
	return len(p), nil
}

// Output is bounded in bytes and streamed in pieces.
func TestEncodeLimited(t *testing.T) {
	s := strings.Repeat("x", 2048)
	list := make([]any, 20_000)
	for i := range list {
		list[i] = s // one value shared, as a memoized pickle gives it
	}
	var w countWriter
	err := pyjson.EncodeLimited(&w, list, 1<<20)
	var le *pyjson.OutputLimitError
	require.True(t, errors.As(err, &le), "%v", err)
	require.Equal(t, int64(1<<20), le.Limit)
	require.Equal(t, 1<<20, w.n, "exactly the limit is written")
	require.Less(t, w.maxWrite, 64<<10, "written in pieces, not buffered whole")

	w = countWriter{}
	require.NoError(t, pyjson.EncodeLimited(&w, list, 0))
	require.Equal(t, 20_000*2051+2, w.n)
	require.Less(t, w.maxWrite, 64<<10)
}

// TestRecursiveFailsAtOnce: a container inside itself (a list holding
// itself, a dict its own value, through a tuple) has no JSON form; the
// error comes when it is reached again, before anything is written (it
// came 10,000 levels down, after 10,000 '[' were written). A structure
// shared without a cycle is written at each place.
func TestRecursiveFailsAtOnce(t *testing.T) {
	l := []any{int64(1), nil}
	l[1] = l
	d := py.NewDict(0)
	d.Set("self", py.Tuple{d})
	shared := []any{int64(7)}
	for name, v := range map[string]any{"list": l, "dict through a tuple": d, "nested": []any{[]any{l}}} {
		var out bytes.Buffer
		err := pyjson.Encode(&out, v)
		if !errors.Is(err, pyjson.ErrRecursive) {
			t.Fatalf("%s: %v", name, err)
		}
		if out.Len() != 0 {
			t.Fatalf("%s: %d bytes written before the error", name, out.Len())
		}
	}
	var out bytes.Buffer
	if err := pyjson.Encode(&out, []any{shared, shared, py.Tuple{shared}}); err != nil || out.String() != "[[7],[7],{\"$tuple\":[[7]]}]\n" {
		t.Fatalf("shared: %q %v", out.String(), err)
	}
}
