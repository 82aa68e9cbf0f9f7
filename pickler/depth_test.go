package pickler_test

import (
	"errors"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

type chainNode struct{ Next *chainNode }
type mapNode struct{ M map[string]any }
type marshalNode struct{ inner any }

func (m marshalNode) MarshalPickle() (any, error) { return m.inner, nil }

// deepValues builds one value per recursive shape, n levels deep.
func deepValues(n int) map[string]any {
	var c *chainNode
	var l, tu, m, ms, call, mar any = nil, 1, nil, nil, nil, nil
	for i := 0; i < n; i++ {
		c = &chainNode{Next: c}
		l = []any{l}
		tu = py.Tuple{tu}
		m = map[string]any{"a": m}
		ms = mapNode{M: map[string]any{"a": ms}}
		call = &py.Call{Callable: call, Args: py.Tuple{}}
		mar = marshalNode{inner: []any{mar}}
	}
	return map[string]any{"pointer chain": c, "list": l, "tuple": tu, "map": m, "struct of map": ms, "call": call, "marshaler": mar}
}

// TestDepthCapIsSafe checks that HardMaxDepth levels fit in Go's default
// 1 GiB stack on every recursive path: 10,000 levels of each shape must fit
// in a tenth of the stack that 100,000 would be allowed.
func TestDepthCapIsSafe(t *testing.T) {
	const n = 10_000
	budget := (1 << 30) / (pickler.HardMaxDepth / n)
	defer debug.SetMaxStack(debug.SetMaxStack(budget))
	for name, v := range deepValues(n) {
		_, err := pickler.Marshal(v, pickler.MaxDepth(pickler.HardMaxDepth), pickler.Protocol(2))
		require.NoError(t, err, name)
	}
}

// TestDepthCapAtLimit runs a pointer chain past the cap itself: a clean
// ErrTooDeep, not a fatal stack overflow (the old cap of 1,000,000 was
// one), and the path it prints is a line, not the whole chain.
func TestDepthCapAtLimit(t *testing.T) {
	var c *chainNode
	for i := 0; i < pickler.HardMaxDepth+10; i++ {
		c = &chainNode{Next: c}
	}
	start := time.Now()
	_, err := pickler.Marshal(c, pickler.MaxDepth(pickler.HardMaxDepth))
	require.ErrorIs(t, err, pickler.ErrTooDeep)
	var ve *pickler.UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, pickler.HardMaxDepth, strings.Count(ve.Path, ".Next"))
	require.Equal(t, strings.Repeat(".Next", strings.Count(ve.Path, ".Next")), ve.Path)
	require.Less(t, len(err.Error()), 300, err.Error())
	require.Contains(t, err.Error(), ".Next.Next…(")
	t.Logf("%v in %v", err, time.Since(start))
}

func TestInvalidOptionsAreTyped(t *testing.T) {
	for _, c := range []struct {
		opt  pickler.Option
		name string
	}{
		{pickler.Protocol(9), "Protocol"},
		{pickler.Protocol(-1), "Protocol"},
		{pickler.MaxDepth(1_000_000), "MaxDepth"},
		{pickler.MaxDepth(0), "MaxDepth"},
		{pickler.FrameSize(1), "FrameSize"},
		{pickler.RefThreshold(-5), "RefThreshold"},
	} {
		_, err := pickler.Marshal(1, c.opt)
		var oe *pickler.InvalidOptionError
		require.True(t, errors.As(err, &oe), "%v", err)
		require.Equal(t, c.name, oe.Option)
		require.Contains(t, err.Error(), "range is [")
		require.Error(t, pickler.NewEncoder(&strings.Builder{}, c.opt).Encode(1))
	}
}

// TestLongErrorPath: an error 50,000 levels down is found and reported
// in linear time with its full Path, and printed shortened.
func TestLongErrorPath(t *testing.T) {
	var v any = []any{1, make(chan int)}
	for i := 0; i < 50_000; i++ {
		v = []any{v}
	}
	_, err := pickler.Marshal(v, pickler.MaxDepth(pickler.HardMaxDepth))
	var te *pickler.UnsupportedTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, strings.Repeat("[0]", 50_000)+"[1]", te.Path)
	msg := err.Error()
	require.Less(t, len(msg), 200, msg)
	require.True(t, strings.HasSuffix(msg, "[0][0][0][0][0][0][0][1]"), msg)
	require.Contains(t, msg, "…(49985 steps)…")
}
