package unpickler_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// cloudpickleLambda is cloudpickle 2.2's protocol-5 pickle of
//
//	K = 3
//	def make():
//	    k = 4
//	    return lambda v, off=10: v*k+off+K
//	make()
//
// The function is rebuilt by types.FunctionType(code, globals, ...); its
// defaults, globals and closure come after, from
// _function_setstate(f, state), whose result is popped at once.
const cloudpickleLambda = "8005953e020000000000008c17636c6f75647069636b6c652e636c6f75647069636b6c65948c0e5f6d616b655f66756e6374696f6e9493942868008c0d5f6275696c74696e5f747970659493948c08436f6465547970659485945294284b024b004b004b024b024b134324950197007c0089027a0500007c017a0000007400000000000000000000007a0000005300944e85948c014b9485948c0176948c036f66669486948c083c737472696e673e948c083c6c616d6264613e948c166d616b652e3c6c6f63616c733e2e3c6c616d6264613e944b064313f88000985198719953a0139957a55199598000944300948c016b94859429749452947d94288c0b5f5f7061636b6167655f5f944e8c085f5f6e616d655f5f948c085f5f6d61696e5f5f94754e4e68008c105f6d616b655f656d7074795f63656c6c9493942952948594749452948c1c636c6f75647069636b6c652e636c6f75647069636b6c655f66617374948c125f66756e6374696f6e5f736574737461746594939468217d947d9428681a68108c0c5f5f7175616c6e616d655f5f9468118c0f5f5f616e6e6f746174696f6e735f5f947d948c0e5f5f6b7764656661756c74735f5f944e8c0c5f5f64656661756c74735f5f944b0a85948c0a5f5f6d6f64756c655f5f94681b8c075f5f646f635f5f944e8c0b5f5f636c6f737572655f5f9468008c0a5f6d616b655f63656c6c9493944b048594529485948c175f636c6f75647069636b6c655f7375626d6f64756c6573945d948c0b5f5f676c6f62616c735f5f947d94680a4b03737586948652302e"

func TestCloudpicklePoppedStateSetter(t *testing.T) {
	in := unhex(t, cloudpickleLambda)
	check := func(v any) {
		f, ok := v.(*py.Call)
		require.True(t, ok, "%T", v)
		require.Len(t, f.After, 1)
		set := f.After[0].(*py.Call)
		require.Equal(t, py.Global{Module: "cloudpickle.cloudpickle_fast", Name: "_function_setstate"}, set.Callable)
		require.Same(t, f, set.Args[0].(*py.Call))    // the function itself, through the memo
		state := set.Args[1].(py.Tuple)[1].(*py.Dict) // (__dict__, slot state)
		defaults, ok := state.Get("__defaults__")
		require.True(t, ok)
		require.Equal(t, py.Tuple{int64(10)}, defaults)
	}
	v, err := unpickler.Load(in)
	require.NoError(t, err)
	check(v)
	for proto := 0; proto <= 5; proto++ {
		out, err := pickler.Marshal(v, pickler.Protocol(proto))
		require.NoError(t, err, "protocol %d", proto)
		v2, err := unpickler.Load(out)
		require.NoError(t, err, "protocol %d", proto)
		check(v2)
		// A fixed point: the rebuilt pickle rebuilds itself.
		out2, err := pickler.Marshal(v2, pickler.Protocol(proto))
		require.NoError(t, err)
		require.True(t, bytes.Equal(out, out2), "protocol %d", proto)
	}
}

func TestPoppedValues(t *testing.T) {
	t.Run("plain values are dropped", func(t *testing.T) {
		v, err := unpickler.Load([]byte("I1\n0(I2\nI3\n1]0I4\n."))
		require.NoError(t, err)
		out, err := pickler.Marshal(v, pickler.Protocol(2))
		require.NoError(t, err)
		require.Equal(t, "\x80\x02K\x04.", string(out))
	})
	t.Run("calls after a call, in order, POP_MARK too", func(t *testing.T) {
		in := "cm\nC\n)R" + // the object
			"cm\nf\n(I1\ntR0" + // f(1), popped
			"(cm\ng\n)RI5\ncm\nh\n)R1" + // g() and h() under a mark, POP_MARK
			"cm\nk\n(g0\ntR0" + "." // a value the result holds is not repeated
		v, err := unpickler.Load([]byte("cm\nC\n)Rp0\n" + in[len("cm\nC\n)R"):]))
		require.NoError(t, err)
		c := v.(*py.Call)
		var names []string
		for _, a := range c.After {
			names = append(names, a.(*py.Call).Callable.(py.Global).Name)
		}
		require.Equal(t, []string{"f", "g", "h", "k"}, names)
		out, err := pickler.Marshal(v, pickler.Protocol(0))
		require.NoError(t, err)
		require.Equal(t, "cm\nC\np0\n(tRp1\ncm\nf\np2\n(I1\ntp3\nRp4\n0cm\ng\np5\n(tRp6\n0cm\nh\np7\n(tRp8\n0cm\nk\np9\n(g1\ntp10\nRp11\n0.", string(out))
	})
	t.Run("a tuple that contains itself", func(t *testing.T) {
		// CPython pops the tuple's items (POP_MARK, or POP at protocol 0)
		// and fetches the tuple from the memo: nothing to keep.
		for proto, h := range []string{
			"28286c70300a2867300a7470310a61303067310a2e",
			"285d7100286800747101613168012e",
			"80025d71006800857101613068012e",
			"80035d71006800857101613068012e",
			"8004950b000000000000005d9468008594613068012e",
			"8005950b000000000000005d9468008594613068012e",
		} {
			in := unhex(t, h)
			v, err := unpickler.Load(in)
			require.NoError(t, err)
			out, err := pickler.Marshal(v, pickler.Protocol(proto))
			require.NoError(t, err)
			require.Equal(t, h, hexOf(out), "protocol %d", proto)
		}
	})
	t.Run("nothing to keep it after: refused, not dropped", func(t *testing.T) {
		for _, in := range []string{
			"cbuiltins\nprint\n(S'x'\ntR0I1\n.", // empty stack
			"]cbuiltins\nprint\n(S'x'\ntR0.",    // after a list
		} {
			_, err := unpickler.Load([]byte(in))
			require.ErrorIs(t, err, unpickler.ErrBadType, "%q", in)
			require.ErrorContains(t, err, "discarded call", "%q", in)
		}
	})
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// CPython accepts each of these; what building them did must survive, or
// the pickle is refused rather than changed.
func TestOtherDiscards(t *testing.T) {
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"plain values left under the result", "I1\n(I2\nS'x'\nI3\n.", true},
		{"a call left under the result", "cm\nf\n)RI1\n.", false},
		{"a call under the result, after a call", "cm\nC\n)Rcm\nf\n)R(I1\n.", false},
		{"d[k] set twice, plain", "}(S'a'\nI1\nS'a'\nI2\nu.", true},
		{"d[k] set twice, the first a call", "}(S'a'\ncm\nf\n)RS'a'\nI1\nu.", false},
		{"BUILD with None on a list: nothing, as CPython", "]Nb.", true},
		{"BUILD with None after a state", "cm\nC\n)R}b N b.", true},
		{"a second BUILD", "cm\nC\n)R}b}b.", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := unpickler.Load([]byte(strings.ReplaceAll(c.in, " ", "")))
			if !c.ok {
				require.ErrorIs(t, err, unpickler.ErrBadType)
				return
			}
			require.NoError(t, err)
			_, err = pickler.Marshal(v)
			require.NoError(t, err)
		})
	}
}

// An out-of-band buffer that is discarded still took its place among the
// buffers: the next NEXT_BUFFER is the second one.
func TestDiscardedBuffer(t *testing.T) {
	_, err := unpickler.Load([]byte("\x80\x05\x97\x97."))
	require.ErrorIs(t, err, unpickler.ErrBadType) // nothing to keep it after
	v, err := unpickler.Load([]byte("\x80\x05cm\nC\n)R\x970\x97\x86."))
	require.NoError(t, err)
	out, err := pickler.Marshal(v)
	require.NoError(t, err)
	v2, err := unpickler.Load(out)
	require.NoError(t, err)
	require.Equal(t, py.OutOfBand{Index: 1}, v2.(py.Tuple)[1])
	require.Equal(t, []any{py.OutOfBand{Index: 0}}, v2.(py.Tuple)[0].(*py.Call).After)
}
