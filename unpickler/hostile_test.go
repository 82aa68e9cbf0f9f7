package unpickler_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

func le8(n uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, n); return b }
func le4(n uint32) []byte { b := make([]byte, 4); binary.LittleEndian.PutUint32(b, n); return b }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestHostileInputs(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		cause  error
		offset int64
	}{
		{"empty", nil, unpickler.ErrNoStop, 0},
		{"no stop", []byte("N"), unpickler.ErrNoStop, 1},
		{"unknown opcode 0xff", []byte{0xff}, unpickler.ErrUnknownOpcode, 0},
		{"empty LONG1", []byte{0x8a}, unpickler.ErrTruncated, 0},
		{"BINBYTES8 claims 2^62", cat([]byte{0x80, 5, 0x8e}, le8(1<<62)), unpickler.ErrLimit, 2},
		{"BINBYTES8 claims 2^40", cat([]byte{0x80, 5, 0x8e}, le8(1<<40)), unpickler.ErrLimit, 2},
		{"BINBYTES8 claims 1 MiB of 3 bytes", cat([]byte{0x80, 5, 0x8e}, le8(1<<20), []byte("abc")), unpickler.ErrTruncated, 2},
		{"BINUNICODE8 claims 2^62", cat([]byte{0x8d}, le8(1<<62)), unpickler.ErrLimit, 0},
		{"FRAME claims 2^40", cat([]byte{0x80, 4, 0x95}, le8(1<<40), []byte("N.")), unpickler.ErrTruncated, 2},
		{"LONG4 claims 2^31-1", cat([]byte{0x8b}, le4(1<<31-1)), unpickler.ErrTruncated, 0},
		{"LONG4 negative", cat([]byte{0x8b}, le4(0xffffffff)), unpickler.ErrBadArgument, 0},
		{"BINSTRING negative", cat([]byte{'T'}, le4(0x80000000)), unpickler.ErrBadArgument, 0},
		{"memo get missing", []byte("h\x05."), unpickler.ErrMissingMemo, 0},
		{"LONG_BINGET 2^32-1", cat([]byte("j"), le4(0xffffffff), []byte(".")), unpickler.ErrMissingMemo, 0},
		{"stack underflow", []byte("a."), unpickler.ErrStackUnderflow, 0},
		{"APPENDS without mark", []byte("]e."), unpickler.ErrNoMark, 1},
		{"SETITEM on int", []byte("K\x01K\x02K\x03s."), unpickler.ErrBadType, 6},
		{"unhashable key", []byte("}]K\x01s."), unpickler.ErrUnhashable, 4},
		{"REDUCE with non-tuple", []byte("cbuiltins\nint\nNR."), unpickler.ErrBadType, 15},
		{"EXT1 unregistered", []byte("\x82\x01."), unpickler.ErrExtension, 0},
		{"STACK_GLOBAL of ints", []byte("K\x01K\x02\x93."), unpickler.ErrBadType, 4},
		{"bad protocol", []byte("\x80\x09N."), unpickler.ErrBadArgument, 0},
		{"NEXT_BUFFER with too few buffers", []byte("\x80\x05\x97."), unpickler.ErrNoBuffer, 2},
		{"mark left at STOP", []byte("N(."), unpickler.ErrStackUnderflow, 2},
		{"bad INT", []byte("I12x\n."), unpickler.ErrBadArgument, 0},
		{"line without newline", []byte("I12"), unpickler.ErrTruncated, 0},
		{"LONG over 4300 digits", []byte("L" + strings.Repeat("7", 4301) + "L\n."), unpickler.ErrBadArgument, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []unpickler.Option
			if c.name == "NEXT_BUFFER with too few buffers" {
				opts = append(opts, unpickler.Buffers())
			}
			_, err := unpickler.Load(c.data, opts...)
			require.Error(t, err)
			var ue *unpickler.Error
			require.True(t, errors.As(err, &ue), "%T %v", err, err)
			require.ErrorIs(t, err, c.cause, err.Error())
			require.Equal(t, c.offset, ue.Offset, err.Error())
			require.Contains(t, err.Error(), "offset")
		})
	}
}

func TestHugeMemoIndexIsSparse(t *testing.T) {
	// LONG_BINPUT 2^32-1 must not allocate a 4-G-entry table.
	data := cat([]byte("K\x07r"), le4(0xffffffff), []byte("0j"), le4(0xffffffff), []byte("."))
	v, err := unpickler.Load(data)
	require.NoError(t, err)
	require.Equal(t, int64(7), v)
}

func TestLimits(t *testing.T) {
	deep := bytes.Repeat([]byte("("), 200)
	_, err := unpickler.Load(deep, unpickler.MaxDepth(100))
	require.ErrorIs(t, err, unpickler.ErrLimit)

	big := cat([]byte{0x80, 5, 0x8e}, le8(1000), bytes.Repeat([]byte("x"), 1000), []byte("."))
	_, err = unpickler.Load(big, unpickler.MaxLength(999))
	require.ErrorIs(t, err, unpickler.ErrLimit)
	_, err = unpickler.Load(big, unpickler.MaxAlloc(999))
	require.ErrorIs(t, err, unpickler.ErrLimit)
	// A negative MaxLength is a limit of 0 for binary and text lengths
	// alike (it used to lift the binary one).
	_, err = unpickler.Load(big, unpickler.MaxLength(-1))
	require.ErrorIs(t, err, unpickler.ErrLimit)
	v, err := unpickler.Load(big)
	require.NoError(t, err)
	require.Len(t, v, 1000)

	_, err = unpickler.Load(append([]byte("V"), bytes.Repeat([]byte("x"), 5000)...), unpickler.MaxLength(1000))
	require.ErrorIs(t, err, unpickler.ErrLimit, "a text line longer than MaxLength")

	memo := []byte("(")
	for i := 0; i < 10; i++ {
		memo = append(memo, []byte("N\x94")...)
	}
	_, err = unpickler.Load(append(memo, []byte("t.")...), unpickler.MaxMemo(5))
	require.ErrorIs(t, err, unpickler.ErrLimit)
}

func deepList(depth int) []byte {
	data := append([]byte{0x80, 4}, bytes.Repeat([]byte("]"), depth)...)
	data = append(data, bytes.Repeat([]byte("a"), depth-1)...)
	return append(data, '.')
}

// A 3-million-deep list (built by APPEND, no MARK) decodes without
// recursion, and re-encoding it fails cleanly at the pickler's depth limit
// instead of overflowing the Go stack.
// (Memory and stack measured in deepListMeasured.)
func TestDeepList(t *testing.T) {
	v := deepListMeasured(t, 3_000_000)
	_, err := pickler.Marshal(v)
	var ve *pickler.UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	// Within the limits it round-trips.
	v, err = unpickler.Load(deepList(9000))
	require.NoError(t, err)
	_, err = pickler.Marshal(v)
	require.NoError(t, err)
}

// slowReader returns at most n bytes per Read.
type slowReader struct {
	r io.Reader
	n int
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(p) > s.n {
		p = p[:s.n]
	}
	return s.r.Read(p)
}

func TestDecoderStreamBackToBack(t *testing.T) {
	var stream bytes.Buffer
	vals := []any{int64(1), "two", []any{int64(3), py.Tuple{"x"}}, bytes.Repeat([]byte("b"), 70000), nil}
	for i, v := range vals {
		b, err := pickler.Marshal(v, pickler.Protocol(i%6))
		require.NoError(t, err)
		stream.Write(b)
	}
	dec := unpickler.NewDecoder(&slowReader{r: &stream, n: 3})
	for i := range vals {
		var got any
		require.NoError(t, dec.Decode(&got), "value %d", i)
		want, _ := pickler.Marshal(vals[i], pickler.Protocol(5))
		again, _ := pickler.Marshal(got, pickler.Protocol(5))
		require.Equal(t, want, again, "value %d", i)
	}
	var extra any
	require.ErrorIs(t, dec.Decode(&extra), io.EOF)
}

func TestReaderDoesNotTrustLengths(t *testing.T) {
	// A reader that claims 2^40 bytes and then ends: fails as truncated,
	// having allocated only what arrived.
	data := cat([]byte{0x80, 5, 0x8e}, le8(1<<33), bytes.Repeat([]byte("x"), 100))
	dec := unpickler.NewDecoder(bytes.NewReader(data), unpickler.MaxLength(1<<34))
	var v any
	err := dec.Decode(&v)
	require.ErrorIs(t, err, unpickler.ErrTruncated)
}

func TestOutOfBandBuffers(t *testing.T) {
	payload := []byte("out-of-band")
	var sent [][]byte
	data, err := pickler.Marshal([]any{py.PickleBuffer{Data: payload, ReadOnly: true}},
		pickler.BufferCallback(func(b py.PickleBuffer) bool { sent = append(sent, b.Data); return false }))
	require.NoError(t, err)
	v, err := unpickler.Load(data, unpickler.Buffers(sent...))
	require.NoError(t, err)
	pb := v.([]any)[0].(py.PickleBuffer)
	require.True(t, pb.ReadOnly)
	require.Equal(t, payload, pb.Data)
	// Without buffers: a placeholder that re-encodes as NEXT_BUFFER.
	v, err = unpickler.Load(data)
	require.NoError(t, err)
	require.Equal(t, py.OutOfBand{Index: 0, ReadOnly: true}, v.([]any)[0])
	again, err := pickler.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, data, again)
}

func TestZeroCopyAliasesInput(t *testing.T) {
	data, _ := pickler.Marshal(bytes.Repeat([]byte("z"), 5000))
	v, err := unpickler.Load(data, unpickler.ZeroCopy(true))
	require.NoError(t, err)
	b := v.([]byte)
	data[len(data)-3] = 'Q' // last payload byte, before MEMOIZE and STOP
	require.Equal(t, byte('Q'), b[len(b)-1], "with ZeroCopy the bytes alias the input")
	v, err = unpickler.Load(data)
	require.NoError(t, err)
	data[len(data)-3] = 'R'
	require.Equal(t, byte('Q'), v.([]byte)[len(b)-1], "without it they are a copy")
}

func TestPersistentLoad(t *testing.T) {
	data := []byte("\x80\x02X\x02\x00\x00\x00k1Q.")
	v, err := unpickler.Load(data)
	require.NoError(t, err)
	require.Equal(t, py.PersistentID{ID: "k1"}, v)
	v, err = unpickler.Load(data, unpickler.PersistentLoad(func(id any) (any, error) { return "resolved " + id.(string), nil }))
	require.NoError(t, err)
	require.Equal(t, "resolved k1", v)
	_, err = unpickler.Load(data, unpickler.PersistentLoad(func(id any) (any, error) { return nil, errors.New("no") }))
	require.ErrorIs(t, err, unpickler.ErrPersistent)

	// Called once per id, as in Python, also into a typed target whose
	// pickle fails after the id (the typed path used to run it again).
	calls := 0
	count := unpickler.PersistentLoad(func(any) (any, error) { calls++; return int64(7), nil })
	list := []byte("\x80\x02](X\x01\x00\x00\x00xQK\x01e.")
	for _, segs := range [][][]byte{{list}, {list[:len(list)-1]}, {list[:9], list[9:]}} {
		calls = 0
		var xs []int64
		err := unpickler.UnmarshalSegments(segs, &xs, count)
		require.Equal(t, 1, calls, "%v", err)
	}
	var xs []int64
	calls = 0
	require.NoError(t, unpickler.Unmarshal(list, &xs, count))
	require.Equal(t, []int64{7, 1}, xs)
	require.Equal(t, 1, calls)
}

func TestExtensions(t *testing.T) {
	v, err := unpickler.Load([]byte("\x80\x02\x82\x07)R."), unpickler.Extensions(map[int32]py.Global{7: {Module: "m", Name: "f"}}))
	require.NoError(t, err)
	c := v.(*py.Call)
	require.Equal(t, py.Global{Module: "m", Name: "f"}, c.Callable)
}

func TestDatetimeDecodes(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2020, 1, 2, 3, 4, 5, 6000, py.Naive),
		time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)),
	} {
		for proto := 0; proto <= 5; proto++ {
			data, err := pickler.Marshal(tm, pickler.Protocol(proto))
			require.NoError(t, err)
			v, err := unpickler.Load(data)
			require.NoError(t, err)
			got := v.(time.Time)
			require.True(t, tm.Equal(got), "%v vs %v", tm, got)
			_, off1 := tm.Zone()
			_, off2 := got.Zone()
			require.Equal(t, off1, off2)
		}
	}
}

// Lists inside the parts of calls and objects (state, APPENDS and SETITEMS
// items, arguments, the callable) come out as []any, never as the decoder's
// internal box.
func TestListsInsideCallsAndObjects(t *testing.T) {
	g := py.Global{Module: "m", Name: "C"}
	v := []any{
		&py.Object{Class: g, Args: py.Tuple{[]any{int64(1)}}, State: []any{int64(2)}, HasState: true,
			ListItems: []any{[]any{int64(3)}}, DictItems: []py.Item{{Key: "k", Value: []any{int64(4)}}}},
		&py.Call{Callable: g, Args: py.Tuple{[]any{int64(5)}}, State: py.DictOf("s", []any{int64(6)}), HasState: true,
			ListItems: []any{[]any{}}, DictItems: []py.Item{{Key: int64(1), Value: []any{int64(7)}}}},
	}
	for proto := 0; proto <= 5; proto++ {
		data, err := pickler.Marshal(v, pickler.Protocol(proto))
		require.NoError(t, err)
		got, err := unpickler.Load(data)
		require.NoError(t, err)
		l := got.([]any)
		o := l[0].(*py.Object)
		require.Equal(t, []any{int64(1)}, o.Args[0])
		require.Equal(t, []any{int64(2)}, o.State)
		require.Equal(t, []any{int64(3)}, o.ListItems[0])
		require.Equal(t, []any{int64(4)}, o.DictItems[0].Value)
		c := l[1].(*py.Call)
		require.Equal(t, []any{int64(5)}, c.Args[0])
		s, _ := c.State.(*py.Dict).Get("s")
		require.Equal(t, []any{int64(6)}, s)
		require.IsType(t, []any{}, c.ListItems[0])
		require.Equal(t, []any{int64(7)}, c.DictItems[0].Value)
		again, err := pickler.Marshal(got, pickler.Protocol(proto))
		require.NoError(t, err)
		require.Equal(t, data, again, "protocol %d", proto)
	}
}

// A large payload read from a stream lands in one private slice, and a
// stream that stops short fails as truncated.
func TestDecoderLargePayloads(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 300000) // 4.8 MB
	var stream bytes.Buffer
	for proto := 0; proto <= 5; proto++ {
		b, err := pickler.Marshal([]any{payload, "tail"}, pickler.Protocol(proto))
		require.NoError(t, err)
		stream.Write(b)
	}
	whole := append([]byte(nil), stream.Bytes()...)
	dec := unpickler.NewDecoder(&slowReader{r: &stream, n: 100000})
	for proto := 0; proto <= 5; proto++ {
		var v []any
		require.NoError(t, dec.Decode(&v), "protocol %d", proto)
		require.Equal(t, payload, v[0], "protocol %d", proto)
		require.Equal(t, "tail", v[1])
	}
	cut := unpickler.NewDecoder(bytes.NewReader(whole[:len(whole)/12]))
	var v any
	require.ErrorIs(t, cut.Decode(&v), unpickler.ErrTruncated)
}
