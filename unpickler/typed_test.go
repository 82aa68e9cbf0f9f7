package unpickler

import (
	"bytes"
	"reflect"
	"strconv"
	"testing"

	"github.com/segpickle/segpickle/internal/golden"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

type tInner struct {
	A int64
	B string `pickle:"b"`
}

type tOuter struct {
	ID    int64             `pickle:"id"`
	Name  string            `pickle:"name"`
	Tags  []string          `pickle:"tags"`
	Score float64           `pickle:"score"`
	OK    bool              `pickle:"ok"`
	Pos   [2]int64          `pickle:"pos"`
	In    tInner            `pickle:"in"`
	M     map[string]int    `pickle:"m"`
	L     [][]int64         `pickle:"l"`
	Any   any               `pickle:"any"`
	P     *int64            `pickle:"p"`
	Sub   map[string]tInner `pickle:"sub"`
}

// reference decodes dynamically and converts with the general path: what
// the typed path must equal.
func reference(data []byte, v any) error {
	val, err := Load(data)
	if err != nil {
		return err
	}
	c := newConfig(nil)
	return assign(val, v, &c)
}

func mustPickle(t *testing.T, v any, proto int) []byte {
	t.Helper()
	b, err := pickler.Marshal(v, pickler.Protocol(proto))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func outerValue(i int) any {
	return py.DictOf("id", int64(i), "name", "n"+strconv.Itoa(i), "tags", []any{"red", "blue"},
		"score", float64(i)/7, "ok", i%2 == 0, "pos", py.Tuple{int64(i), int64(-i)},
		"in", py.DictOf("A", int64(i), "b", "x"), "m", py.DictOf("k", int64(i)),
		"l", []any{[]any{int64(1), int64(2)}, []any{}}, "any", []any{int64(1), "z"},
		"p", nil, "sub", py.DictOf("s", py.DictOf("a", int64(3))), "unknown", int64(5))
}

// TestTypedMatchesGeneral: for each value and target, at every protocol,
// the typed path gives exactly what the general path gives, and takes the
// shapes CPython writes without starting again.
func TestTypedMatchesGeneral(t *testing.T) {
	ints := make([]any, 3000)
	strs := make([]any, 3000)
	for i := range ints {
		ints[i] = int64(i * 1000)
		strs[i] = "s" + strconv.Itoa(i)
	}
	bigDict := py.NewDict(0)
	for i := 0; i < 2500; i++ {
		bigDict.Set("k"+strconv.Itoa(i), float64(i)/3)
	}
	outers := []any{outerValue(1), outerValue(2), outerValue(3)}
	cases := []struct {
		name   string
		val    any
		target func() any
		noFall bool // the typed path must not give way
	}{
		{"ints", ints, func() any { return new([]int64) }, true},
		{"ints as int", ints, func() any { return new([]int) }, true},
		{"ints as float", ints, func() any { return new([]float64) }, true},
		{"strs", strs, func() any { return new([]string) }, true},
		{"dict", bigDict, func() any { return new(map[string]float64) }, true},
		{"dict into any", bigDict, func() any { return new(map[string]any) }, true},
		{"structs", outers, func() any { return new([]tOuter) }, true},
		{"struct", outerValue(7), func() any { return new(tOuter) }, true},
		{"empty list", []any{}, func() any { return new([]int64) }, true},
		{"bools", []any{true, false, true}, func() any { return new([]bool) }, true},
		{"nested", []any{[]any{int64(1)}, []any{}, []any{int64(2), int64(3)}}, func() any { return new([][]int64) }, true},
		{"map of lists", py.DictOf("a", []any{"x"}, "b", []any{}), func() any { return new(map[string][]string) }, true},
		{"none in list", []any{nil, int64(1)}, func() any { return new([]*int64) }, false},
		{"type mismatch", []any{"x"}, func() any { return new([]int64) }, false},
		{"struct mismatch", []any{int64(1)}, func() any { return new([]tInner) }, false},
		{"tuple into slice", py.Tuple{int64(1), int64(2)}, func() any { return new([]int64) }, false},
	}
	for _, c := range cases {
		for proto := 0; proto <= 5; proto++ {
			data := mustPickle(t, c.val, proto)
			want, got := c.target(), c.target()
			errWant := reference(data, want)
			before := typedFallbacks.Load()
			errGot := Unmarshal(data, got)
			if (errWant == nil) != (errGot == nil) || (errWant != nil && errWant.Error() != errGot.Error()) {
				t.Fatalf("%s p%d: errors differ: %v / %v", c.name, proto, errWant, errGot)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s p%d:\n general %#v\n typed   %#v", c.name, proto, want, got)
			}
			if c.noFall && proto >= 1 && typedFallbacks.Load() != before {
				t.Fatalf("%s p%d: the typed path gave way", c.name, proto)
			}
		}
	}
}

// TestTypedSharing: a list the pickle shares through the memo is one
// slice; a list that contains itself or grows after it was stored falls
// back and decodes as the general path does.
func TestTypedSharing(t *testing.T) {
	// [[1, 2], <the same list>]
	shared := []byte("\x80\x04]\x94(]\x94(K\x01K\x02eh\x01e.")
	var got [][]int64
	if err := Unmarshal(shared, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || &got[0][0] != &got[1][0] {
		t.Fatalf("not shared: %v", got)
	}
	type Node []Node
	// l = []; l.append(l)
	self := []byte("\x80\x04]\x94h\x00a.")
	var n, want Node
	errGot, errWant := Unmarshal(self, &n), reference(self, &want)
	if (errGot == nil) != (errWant == nil) || !reflect.DeepEqual(n, want) {
		t.Fatalf("self-containing list: %v %v / %v %v", n, errGot, want, errWant)
	}
	// A stored list appended to afterwards: [x, x] then x.append(3).
	late := []byte("\x80\x04]\x94(]\x94h\x01eh\x01K\x03a0.")
	var a, b [][]int64
	errGot, errWant = Unmarshal(late, &a), reference(late, &b)
	if (errGot == nil) != (errWant == nil) || !reflect.DeepEqual(a, b) {
		t.Fatalf("late append: %v %v / %v %v", a, errGot, b, errWant)
	}
}

// TestTypedGolden: every CPython pickle of the golden corpus into a few
// typed targets agrees with the general path (values and errors).
func TestTypedGolden(t *testing.T) {
	g, err := golden.Load()
	if err != nil {
		t.Fatal(err)
	}
	targets := []func() any{
		func() any { return new([]int64) }, func() any { return new([]string) }, func() any { return new([]any) },
		func() any { return new(map[string]any) }, func() any { return new(map[string]int64) },
		func() any { return new(tOuter) }, func() any { return new([]tInner) }, func() any { return new([][]any) },
	}
	for _, c := range g.Cases {
		for p, pk := range c.Pickles {
			if pk.Zlib != "" && p != "5" {
				// The large pickles (batches, frames) once, at protocol
				// 5: all of them take 30 times longer under -race.
				continue
			}
			data, err := pk.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			for i, mk := range targets {
				want, got := mk(), mk()
				errWant, errGot := reference(data, want), Unmarshal(data, got)
				if (errWant == nil) != (errGot == nil) || !reflect.DeepEqual(want, got) {
					t.Fatalf("%s p%s target %d: %v %v / %v %v", c.Name, p, i, want, errWant, got, errGot)
				}
			}
		}
	}
}

// FuzzTypedAgrees: on any input, the typed path and the general path give
// the same value or both an error.
func FuzzTypedAgrees(f *testing.F) {
	f.Add(mustPickleF(outerValue(1)))
	f.Add([]byte("\x80\x04]\x94(]\x94(K\x01K\x02eh\x01e."))
	f.Add(mustPickleF([]any{"a", "b", int64(3)}))
	f.Add(mustPickleF(msgList(3)))
	f.Add(mustPickleF(msgList(2), 2))
	// keys by GET, one of them PUT over (TestInlineKeyOverwritten)
	f.Add([]byte("\x80\x04]q\x00(}q\x03(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00xX\x01\x00\x00\x00bq\x02X\x01\x00\x00\x00yu" +
		"}q\x04(h\x01X\x01\x00\x00\x00bq\x01u}q\x05(h\x01X\x01\x00\x00\x00zue."))
	// strs memoized in []string fields read back by GETs (TestInlineTagStrs)
	f.Add([]byte("\x80\x04\x95g\x00\x00\x00\x00\x00\x00\x00]\x94(}\x94\x8c\x04tags\x94]\x94(\x8c\x02t0\x94\x8c\x02u0\x94es}\x94h\x02]\x94(\x8c\x02t1\x94\x8c\x02u1\x94h\x04h\x05es}\x94(h\x02]\x94(h\th\x08e\x8c\x04name\x94\x8c\x02t2\x94u}\x94(h\x02]\x94\x8c\x02u2\x94ah\x0ch\x10u}\x94h\x0ch\tse."))
	// CPython's layouts: messages that repeat a memo pattern (counted,
	// inline.go) and leave it; a str→float dict at protocol 5
	// (fastKeyFloats' own loop, past its first 64 pairs)
	f.Add(cpyMessages(40, false))
	kf := []byte("\x80\x05}\x94(")
	for i := range 100 {
		kf = append(kf, shortStr("k"+strconv.Itoa(i))+"\x94G\x3f\xf0\x00\x00\x00\x00\x00\x00"...)
	}
	f.Add(append(kf, "u."...))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mk := range []func() any{
			func() any { return new([]int64) }, func() any { return new([]string) },
			func() any { return new(map[string]float64) }, func() any { return new([]tOuter) },
			func() any { return new([][]int64) }, func() any { return new([]tMsg) },
		} {
			want, got := mk(), mk()
			errWant, errGot := reference(data, want), Unmarshal(data, got)
			if (errWant == nil) != (errGot == nil) {
				t.Fatalf("errors differ: %v / %v", errWant, errGot)
			}
			if errWant == nil && !reflect.DeepEqual(want, got) {
				t.Fatalf("values differ:\n %#v\n %#v", want, got)
			}
			// A Decoder over short reads, twice over: the typed path over
			// a reader, its replay, and the next pickle after it, against
			// a Decoder's dynamic path (what Decode did for typed targets
			// before it had the typed path).
			twice := append(append([]byte{}, data...), data...)
			dec := NewDecoder(&chunkReader{bytes.NewReader(twice), 3})
			ref := NewDecoder(&chunkReader{bytes.NewReader(twice), 3})
			for i := range 2 {
				want2, got2 := mk(), mk()
				errWant2, errGot2 := ref.decode(want2, false), dec.Decode(got2)
				if (errWant2 == nil) != (errGot2 == nil) || (errWant2 != nil && errWant2.Error() != errGot2.Error()) {
					t.Fatalf("Decoder #%d: errors differ: %v / %v", i, errWant2, errGot2)
				}
				if errWant2 != nil {
					break // (a target the typed path began to fill may differ)
				}
				if !reflect.DeepEqual(want2, got2) {
					t.Fatalf("Decoder #%d: values differ:\n %#v\n %#v", i, want2, got2)
				}
			}
		}
	})
}

func mustPickleF(v any, proto ...int) []byte {
	var opts []pickler.Option
	for _, p := range proto {
		opts = append(opts, pickler.Protocol(p))
	}
	b, err := pickler.Marshal(v, opts...)
	if err != nil {
		panic(err)
	}
	return b
}

// A struct key left pending on the stack by the in-place loop is the
// input's str, not the field's name: DUP can make it a value.
func TestTypedPendingKeyIsInputStr(t *testing.T) {
	type caseStruct struct{ Name string }
	for name, data := range map[string][]byte{
		// memo 0 = "NAME" (matches Name case-insensitively); {memo[0]: memo[0]} via DUP
		"memoized": []byte("\x80\x04\x8c\x04NAME\x94\x30}\x94(h\x00\x32u."),
		"inline":   []byte("\x80\x04}\x94(\x8c\x04Name\x32u."),
	} {
		var want, got caseStruct
		if err := reference(data, &want); err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		if err := Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s: typed %+v, dynamic %+v", name, got, want)
		}
	}
}

// Keys of a typed map memoized in runs over a slab of strs (fastMap) read
// back by later GETs, and a memo entry in such a run overwritten by PUT.
func TestTypedMapKeyRuns(t *testing.T) {
	var shared []map[string]float64
	for j := range 3 {
		m := map[string]float64{}
		for i := range 1500 {
			m["k"+strconv.Itoa(i)] = float64(i*j) / 3
		}
		shared = append(shared, m)
	}
	data, err := pickler.Marshal(shared)
	if err != nil {
		t.Fatal(err)
	}
	overwrite := []byte("\x80\x04]\x94(}\x94(\x8c\x01a\x94G\x3f\xf0\x00\x00\x00\x00\x00\x00u" +
		"\x8c\x01zq\x020}\x94(h\x02G\x40\x00\x00\x00\x00\x00\x00\x00ue.")
	for name, data := range map[string][]byte{"shared keys": data, "overwritten": overwrite} {
		var want, got []map[string]float64
		if err := reference(data, &want); err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		if err := Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: typed and dynamic differ", name)
		}
	}
	var got []map[string]float64
	if err := Unmarshal(overwrite, &got); err != nil || len(got) != 2 || got[1]["z"] != 2 || got[0]["a"] != 1 {
		t.Errorf("overwritten: %v, %v", got, err)
	}
}

// TestTypedMapKeysAcrossChunks: a typed map whose keys fill several arena
// chunks (fastKeyFloats takes a fresh chunk itself and starts a new run
// over it), and a second map whose keys are GETs of all of them, read back
// from every run; a map with an int value in the middle, where the loop
// hands one pair to the general one and resumes.
func TestTypedMapKeysAcrossChunks(t *testing.T) {
	a, b := map[string]float64{}, map[string]float64{}
	for i := range 12000 {
		k := "key-" + strconv.Itoa(i*7919)
		a[k], b[k] = float64(i)/3, float64(-i)
	}
	shared, err := pickler.Marshal([]any{a, b})
	if err != nil {
		t.Fatal(err)
	}
	d := py.NewDict(0)
	for i := range 9000 {
		var v any = float64(i) / 7
		if i == 4500 {
			v = int64(i)
		}
		d.Set("k"+strconv.Itoa(i), v)
	}
	mixed, err := pickler.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var gotShared, wantShared []map[string]float64
	if err := reference(shared, &wantShared); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(shared, &gotShared); err != nil {
		t.Fatal(err)
	}
	if len(gotShared) != 2 || !reflect.DeepEqual(gotShared[0], a) || !reflect.DeepEqual(gotShared[1], b) || !reflect.DeepEqual(gotShared, wantShared) {
		t.Fatalf("shared keys: %d maps", len(gotShared))
	}
	var gotMixed, wantMixed map[string]float64
	if err := reference(mixed, &wantMixed); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(mixed, &gotMixed); err != nil {
		t.Fatal(err)
	}
	if len(gotMixed) != 9000 || gotMixed["k4500"] != 4500 || gotMixed["k8999"] != float64(8999)/7 || !reflect.DeepEqual(gotMixed, wantMixed) {
		t.Fatalf("mixed: %d keys", len(gotMixed))
	}
}

// TestTypedMapKeysDenseMemo: keys memoized by MEMOIZE into a typed map
// while the dense memo holds an entry past the count (LONG_BINPUT 300
// first): the key that lands on 300 overwrites it, as in CPython, and the
// keys after it reuse that index; GETs after the map read what CPython
// reads (['k1199', 'k294', 'k0']).
func TestTypedMapKeysDenseMemo(t *testing.T) {
	type out struct {
		M map[string]float64 `pickle:"m"`
		G []any              `pickle:"g"`
		X int64              `pickle:"x"`
	}
	p := []byte("\x80\x04}\x94(\x8c\x01x\x94K\x07r\x2c\x01\x00\x00\x8c\x01m\x94}\x94(")
	for i := range 1200 {
		k := "k" + strconv.Itoa(i)
		p = append(p, shortStr(k)+"\x94G\x3f\xf0\x00\x00\x00\x00\x00\x00"...)
	}
	p = append(p, "u\x8c\x01g](j\x2c\x01\x00\x00j\x2b\x01\x00\x00h\x05eu."...)
	var want, got out
	if err := reference(p, &want); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(p, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) || len(got.M) != 1200 || got.X != 7 || !reflect.DeepEqual(got.G, []any{"k1199", "k294", "k0"}) {
		t.Fatalf("general %v %q %d, typed %d keys %q %d", len(want.M), want.G, want.X, len(got.M), got.G, got.X)
	}
}
