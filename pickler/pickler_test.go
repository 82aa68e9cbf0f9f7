package pickler_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	gp "github.com/nlpodyssey/gopickle/pickle"
	gpt "github.com/nlpodyssey/gopickle/types"
	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

type inner struct {
	Ch chan int
}

type withBadField struct {
	Items []any
}

func TestUnsupportedTypeNamesPath(t *testing.T) {
	v := withBadField{Items: []any{1, 2, 3, inner{Ch: make(chan int)}}}
	_, err := pickler.Marshal(v)
	var te *pickler.UnsupportedTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, ".Items[3].Ch", te.Path)
	require.Contains(t, err.Error(), "chan int")

	_, err = pickler.Marshal(map[string]any{"f": func() {}})
	require.ErrorAs(t, err, &te)
	require.Equal(t, "[f]", te.Path)

	_, err = pickler.Marshal(unsafe.Pointer(nil))
	require.ErrorAs(t, err, &te)
}

func TestInvalidUTF8NamesPath(t *testing.T) {
	_, err := pickler.Marshal([]any{"ok", py.Tuple{"\xff"}})
	var ve *pickler.UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "[1][0]", ve.Path)
	require.Contains(t, err.Error(), "UTF-8")
}

func TestBadProtocolOption(t *testing.T) {
	_, err := pickler.Marshal(1, pickler.Protocol(6))
	require.Error(t, err)
	_, err = pickler.Marshal(1, pickler.Protocol(-1))
	require.Error(t, err)
}

type node struct {
	Name string
	Next *node
}

func TestCyclesThroughPointersTerminate(t *testing.T) {
	a := &node{Name: "a"}
	b := &node{Name: "b", Next: a}
	a.Next = b
	out, err := pickler.Marshal(a, pickler.Protocol(2))
	require.NoError(t, err)
	// The second visit of a is a memo GET ('h' + index 0).
	require.Contains(t, string(out), "h\x00")

	l := []any{nil}
	l[0] = l
	_, err = pickler.Marshal(l)
	require.NoError(t, err)

	d := py.NewDict(1)
	d.Set("self", d)
	_, err = pickler.Marshal(d)
	require.NoError(t, err)
}

func TestTupleSelfCycleIsAnError(t *testing.T) {
	tp := py.Tuple{nil}
	tp[0] = tp
	_, err := pickler.Marshal(tp)
	var ve *pickler.UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, ve.Reason, "tuple contains itself")
}

func TestDepthLimit(t *testing.T) {
	var v any = 1
	for i := 0; i < 200; i++ {
		v = []any{v}
	}
	_, err := pickler.Marshal(v, pickler.MaxDepth(100))
	var ve *pickler.UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	_, err = pickler.Marshal(v)
	require.NoError(t, err)
}

func TestSharedStructureWrittenOnce(t *testing.T) {
	shared := []any{1, 2}
	out, err := pickler.Marshal([]any{shared, shared}, pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(out), "K\x01K\x02"), "shared list pickled twice: %q", out)
	// Empty slices share Go's zero-size base address; they must stay distinct.
	out, err = pickler.Marshal([]any{[]int{}, []int{}}, pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(string(out), "]"), "outer list and two inner ones: %q", out)
}

type tagged struct {
	ID      int    `pickle:"id"`
	Skip    string `pickle:"-"`
	Opt     string `pickle:"opt,omitempty"`
	Name    string
	private int
	embedded
}

type embedded struct {
	Extra bool `pickle:"extra"`
}

func TestStructFieldsAndTags(t *testing.T) {
	v := tagged{ID: 7, Skip: "x", Name: "n", private: 1, embedded: embedded{Extra: true}}
	got := gopickleLoad(t, v, 5)
	d := got.(*gpt.Dict)
	require.Equal(t, 3, d.Len())
	for _, k := range []string{"id", "Name", "extra"} {
		_, ok := d.Get(k)
		require.True(t, ok, k)
	}
	_, ok := d.Get("opt")
	require.False(t, ok)
}

type point struct{ X, Y int }

func (p point) MarshalPickle() (any, error) {
	return &py.Call{Callable: py.Global{Module: "collections", Name: "namedtuple_point"}, Args: py.Tuple{p.X, p.Y}}, nil
}

func TestMarshaler(t *testing.T) {
	out, err := pickler.Marshal([]any{point{1, 2}}, pickler.Protocol(2))
	require.NoError(t, err)
	require.Contains(t, string(out), "ccollections\nnamedtuple_point\n")
}

func TestPersistentIDHook(t *testing.T) {
	type ref struct{ Key string }
	hook := func(v any) (any, bool) {
		if r, ok := v.(ref); ok {
			return r.Key, true
		}
		return nil, false
	}
	out, err := pickler.Marshal([]any{ref{"k1"}}, pickler.Protocol(0), pickler.PersistentID(hook))
	require.NoError(t, err)
	require.Contains(t, string(out), "Pk1\n")
	out, err = pickler.Marshal([]any{ref{"k1"}}, pickler.Protocol(2), pickler.PersistentID(hook))
	require.NoError(t, err)
	require.Contains(t, string(out), "X\x02\x00\x00\x00k1q\x01Q")
}

func TestBufferCallbackOutOfBand(t *testing.T) {
	data := bytes.Repeat([]byte("d"), 100)
	var got []py.PickleBuffer
	out, err := pickler.Marshal([]any{py.PickleBuffer{Data: data, ReadOnly: true}, py.PickleBuffer{Data: data}},
		pickler.BufferCallback(func(b py.PickleBuffer) bool { got = append(got, b); return false }))
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Contains(t, string(out), "\x97\x98")
	require.NotContains(t, string(out), "ddd")
	// Without a callback the buffer is in band.
	out, err = pickler.Marshal(py.PickleBuffer{Data: []byte("ab")})
	require.NoError(t, err)
	require.Contains(t, string(out), "\x96\x02\x00\x00\x00\x00\x00\x00\x00ab")
}

func TestLargePayloadIsNeverCopied(t *testing.T) {
	for _, size := range []int{4096, 1 << 16, 1 << 20} {
		payload := bytes.Repeat([]byte("p"), size)
		for proto := 3; proto <= 5; proto++ {
			var l segments.List
			require.NoError(t, pickler.EncodeTo(&l, []any{payload, "x"}, pickler.Protocol(proto)))
			found := false
			for _, s := range l.Segments() {
				if len(s) > 0 && unsafe.SliceData(s) == unsafe.SliceData(payload) {
					found = true
				}
			}
			require.True(t, found, "size %d proto %d: payload was copied", size, proto)
			l.Release()
		}
	}
	s := strings.Repeat("s", 1<<20)
	var l segments.List
	require.NoError(t, pickler.EncodeTo(&l, s))
	require.Equal(t, 1, l.RefCount(), "a large str is referenced too")
}

func TestEncoderWritesToConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	enc := pickler.NewEncoder(a)
	payload := bytes.Repeat([]byte("z"), 1<<17)
	errc := make(chan error, 1)
	go func() { errc <- enc.Encode(payload); a.Close() }()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(b)
	require.NoError(t, <-errc)
	want, _ := pickler.Marshal(payload)
	require.Equal(t, want, buf.Bytes())
}

func TestTimeAndDuration(t *testing.T) {
	tm := time.Date(2020, 1, 2, 3, 4, 5, 6000, py.Naive)
	out, err := pickler.Marshal(tm, pickler.Protocol(5))
	require.NoError(t, err)
	// Exactly CPython's pickle.dumps(datetime.datetime(2020,1,2,3,4,5,6), 5).
	require.Equal(t, "\x80\x05\x95*\x00\x00\x00\x00\x00\x00\x00\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\n\x07\xe4\x01\x02\x03\x04\x05\x00\x00\x06\x94\x85\x94R\x94.", string(out))
	out, err = pickler.Marshal(26*time.Hour+3*time.Second+4*time.Microsecond, pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, "\x80\x02cdatetime\ntimedelta\nq\x00K\x01M#\x1cK\x04\x87q\x01Rq\x02.", string(out))
}

// gopickleLoad decodes our output with gopickle, an independent decoder.
func gopickleLoad(t *testing.T, v any, proto int) any {
	t.Helper()
	out, err := pickler.Marshal(v, pickler.Protocol(proto))
	require.NoError(t, err)
	got, err := gp.Loads(string(out))
	require.NoError(t, err, "gopickle cannot read %q", out)
	return got
}

func TestGopickleReadsOurOutput(t *testing.T) {
	v := []any{int64(1), "two", 3.5, nil, true, py.Tuple{int64(1), "t"}, map[string]any{"k": int64(9)},
		big.NewInt(0).Lsh(big.NewInt(1), 100), []int{1, 2, 3}}
	for proto := 0; proto <= 5; proto++ {
		got := gopickleLoad(t, v, proto)
		l, ok := got.(*gpt.List)
		require.True(t, ok, "proto %d: %T", proto, got)
		require.Equal(t, len(v), l.Len())
		require.Equal(t, int(1), l.Get(0))
		require.Equal(t, "two", l.Get(1))
		require.Equal(t, 3.5, l.Get(2))
		require.Nil(t, l.Get(3))
		require.Equal(t, true, l.Get(4))
		want := new(big.Int).Lsh(big.NewInt(1), 100)
		require.Zero(t, want.Cmp(l.Get(7).(*big.Int)))
	}
}

func TestNilAndPointers(t *testing.T) {
	var p *int
	x := 5
	var m map[string]int
	var s []int
	out, err := pickler.Marshal([]any{p, &x, m, s}, pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, "\x80\x02]q\x00(NK\x05NNe.", string(out))
}

// TestMapKeysSortedByDefault: equal Go maps give equal bytes without any
// option (as encoding/json), in sorted key order — the bytes CPython
// writes for the dict built in that order; SortMapKeys(false) skips it.
func TestMapKeysSortedByDefault(t *testing.T) {
	m := map[string]int{}
	ma := map[string]any{}
	mi := map[int]string{}
	d := py.NewDict(50)
	for i := 0; i < 50; i++ {
		k := string(rune('a'+i%26)) + string(rune('a'+i/26))
		m[k], ma[k], mi[i*7919%50] = i, i, k
	}
	keys := make([]string, 0, 50)
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.Set(k, m[k])
	}
	want, err := pickler.Marshal(d)
	require.NoError(t, err)
	wantStr := want
	for i := 0; i < 20; i++ {
		for _, v := range []any{m, ma} {
			again, err := pickler.Marshal(v)
			require.NoError(t, err)
			require.Equal(t, want, again)
		}
	}
	di := py.NewDict(50)
	for i := 0; i < 50; i++ {
		di.Set(i, mi[i])
	}
	want, err = pickler.Marshal(di)
	require.NoError(t, err)
	got, err := pickler.Marshal(mi)
	require.NoError(t, err)
	require.Equal(t, want, got)
	// Maps of one size but other keys, nested maps of the same shape: the
	// key order kept from the last map is checked, never trusted.
	var sortedDict func(m map[string]any) *py.Dict
	sortedDict = func(m map[string]any) *py.Dict {
		ks := slices.Sorted(maps.Keys(m))
		d := py.NewDict(len(ks))
		for _, k := range ks {
			v := m[k]
			if mm, ok := v.(map[string]any); ok {
				v = sortedDict(mm)
			}
			d.Set(k, v)
		}
		return d
	}
	recs := []any{
		map[string]any{"b": 1, "a": 2},
		map[string]any{"a": 3, "c": 4},
		map[string]any{"c": 5, "b": map[string]any{"y": 1, "x": 2}},
		map[string]any{"b": map[string]any{"x": 1, "z": 2}, "a": map[string]any{"z": 1, "x": 2}},
	}
	var wantRecs []any
	for _, r := range recs {
		wantRecs = append(wantRecs, sortedDict(r.(map[string]any)))
	}
	want, err = pickler.Marshal(wantRecs)
	require.NoError(t, err)
	got, err = pickler.Marshal(recs)
	require.NoError(t, err)
	require.Equal(t, want, got)
	// Unsorted: the same items, in some order.
	un, err := pickler.Marshal(ma, pickler.SortMapKeys(false))
	require.NoError(t, err)
	require.Equal(t, len(wantStr), len(un))
}

func TestUint64AndBig(t *testing.T) {
	out, err := pickler.Marshal(uint64(1<<63), pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, "\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00.", string(out))
	out, err = pickler.Marshal(uint64(1<<63), pickler.Protocol(0))
	require.NoError(t, err)
	require.Equal(t, "L9223372036854775808L\n.", string(out))
}

func TestErrorsAreTyped(t *testing.T) {
	_, err := pickler.Marshal(py.OutOfBand{}, pickler.Protocol(4))
	var ve *pickler.UnsupportedValueError
	require.True(t, errors.As(err, &ve))
}

type panicky struct{}

func (panicky) MarshalPickle() (any, error) { panic("boom") }

func TestPanicInMarshalerIsAnError(t *testing.T) {
	_, err := pickler.Marshal([]any{panicky{}})
	var ve *pickler.UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), "boom")
}

// CPython neither writes nor reads decimal ints over 4300 digits
// (int_max_str_digits), which is what protocols 0 and 1 would need.
func TestHugeIntAtTextProtocols(t *testing.T) {
	huge := new(big.Int).Exp(big.NewInt(10), big.NewInt(5000), nil)
	for _, proto := range []int{0, 1} {
		_, err := pickler.Marshal(huge, pickler.Protocol(proto))
		var ve *pickler.UnsupportedValueError
		require.ErrorAs(t, err, &ve, "protocol %d", proto)
		require.Contains(t, err.Error(), "4300")
	}
	_, err := pickler.Marshal(huge, pickler.Protocol(2))
	require.NoError(t, err)
	ok := new(big.Int).Exp(big.NewInt(10), big.NewInt(4299), nil) // 4300 digits
	_, err = pickler.Marshal(ok, pickler.Protocol(0))
	require.NoError(t, err)
}

// TestRecordsOfOneShape: maps of one key set written one after another
// (records) take their key order from the map before, each key's place
// guessed from the one before it. The keys may be the same strings or
// other strings of the same bytes, inserted in any order; a map of as many
// keys but another set is sorted afresh. Each must come out as the sorted
// py.Dict of its items would.
func TestRecordsOfOneShape(t *testing.T) {
	names := []string{"id", "name", "tags", "score", "ok", "parent", "pos"}
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []any
	var want []any
	for i := 0; i < 300; i++ {
		ks := slices.Clone(names)
		switch i % 5 {
		case 1: // the same bytes at other addresses
			for j := range ks {
				ks[j] = strings.Clone(ks[j])
			}
		case 2: // another insertion order
			rng.Shuffle(len(ks), func(a, b int) { ks[a], ks[b] = ks[b], ks[a] })
		case 3: // as many keys, one of them another
			ks[rng.IntN(len(ks))] = fmt.Sprintf("k%d", i)
		case 4: // a key of the same length and first byte
			ks[0] = "iX"
		}
		m := map[string]any{}
		d := py.NewDict(len(ks))
		for j, k := range ks {
			m[k] = int64(i*10 + j)
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			d.Set(k, m[k])
		}
		recs, want = append(recs, m), append(want, d)
	}
	w, err := pickler.Marshal(want)
	require.NoError(t, err)
	got, err := pickler.Marshal(recs)
	require.NoError(t, err)
	require.Equal(t, w, got)
}
