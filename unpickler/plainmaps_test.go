package unpickler_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

func mustMarshal(t *testing.T, v any, opts ...pickler.Option) []byte {
	t.Helper()
	data, err := pickler.Marshal(v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sameMap(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Kind() == reflect.Map && vb.Kind() == reflect.Map && va.Pointer() == vb.Pointer()
}

// PlainMaps: str-keyed dicts become map[string]any, dicts with other plain
// keys map[any]any, the rest stay *py.Dict with their values converted,
// wherever they are (lists, tuples, object state).
func TestPlainMapsShapes(t *testing.T) {
	inner := py.DictOf("c", int64(2))
	v := py.DictOf(
		"a", int64(1),
		"b", []any{inner, py.Tuple{py.DictOf(int64(1), "x", nil, 2.5)}},
		"t", py.DictOf(py.Tuple{int64(1), int64(2)}, py.DictOf("k", "v")),
		"o", &py.Object{Class: py.Global{Module: "m", Name: "C"}, Args: py.Tuple{}, State: py.DictOf("x", int64(3)), HasState: true},
		"e", py.NewDict(0),
	)
	data := mustMarshal(t, v)
	plain, err := unpickler.Load(data, unpickler.PlainMaps(true))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := plain.(map[string]any)
	if !ok {
		t.Fatalf("got %T, want map[string]any", plain)
	}
	want := map[string]any{
		"a": int64(1),
		"b": []any{map[string]any{"c": int64(2)}, py.Tuple{map[any]any{int64(1): "x", nil: 2.5}}},
		"e": map[string]any{},
	}
	for k, w := range want {
		if !reflect.DeepEqual(m[k], w) {
			t.Errorf("%s: got %#v, want %#v", k, m[k], w)
		}
	}
	td, ok := m["t"].(*py.Dict)
	if !ok || td.Len() != 1 {
		t.Fatalf("a tuple-keyed dict: got %#v, want a *py.Dict", m["t"])
	}
	if got := td.Items()[0].Value; !reflect.DeepEqual(got, map[string]any{"k": "v"}) {
		t.Errorf("the tuple-keyed dict's value: %#v", got)
	}
	o, ok := m["o"].(*py.Object)
	if !ok || !reflect.DeepEqual(o.State, map[string]any{"x": int64(3)}) {
		t.Errorf("object state: %#v", m["o"])
	}
	// Without the option, nothing changes.
	dflt, err := unpickler.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dflt.(*py.Dict); !ok {
		t.Fatalf("default decode gave %T", dflt)
	}
}

// A dict the pickle shares is one Go map, a dict that contains itself
// contains its own map, and a list that contains itself keeps doing so.
func TestPlainMapsSharing(t *testing.T) {
	d := py.DictOf("x", int64(1))
	self := py.DictOf("n", int64(0))
	self.Set("self", self)
	l := []any{d, nil}
	l[1] = l
	data := mustMarshal(t, py.Tuple{d, d, self, l})
	v, err := unpickler.Load(data, unpickler.PlainMaps(true))
	if err != nil {
		t.Fatal(err)
	}
	tu := v.(py.Tuple)
	if !sameMap(tu[0], tu[1]) {
		t.Fatal("a shared dict became two maps")
	}
	s := tu[2].(map[string]any)
	if !sameMap(s["self"], s) {
		t.Fatal("a dict containing itself: its map does not contain itself")
	}
	gl := tu[3].([]any)
	if !sameMap(gl[0], tu[0]) {
		t.Fatal("the list's dict is not the shared map")
	}
	if inner := gl[1].([]any); &inner[0] != &gl[0] {
		t.Fatal("a list containing itself no longer does")
	}

	// The same through typed targets: one map for every any slot, and a
	// typed slot reading the same dict is not disturbed.
	var st struct {
		A, B any
		M    map[string]int64
	}
	data = mustMarshal(t, py.DictOf("A", d, "B", []any{d}, "M", d))
	if err := unpickler.Unmarshal(data, &st, unpickler.PlainMaps(true)); err != nil {
		t.Fatal(err)
	}
	if !sameMap(st.A, st.B.([]any)[0]) || st.M["x"] != 1 {
		t.Fatalf("typed target: %#v", st)
	}
	var mt map[string]any
	if err := unpickler.Unmarshal(data, &mt, unpickler.PlainMaps(true)); err != nil {
		t.Fatal(err)
	}
	if !sameMap(mt["A"], mt["M"]) {
		t.Fatalf("map[string]any target: %#v", mt)
	}
}

// Every entry point honors the option, and Python 2 str keys count as str
// (read with Encoding) unless Encoding is "bytes", as in CPython.
func TestPlainMapsEntryPointsAndPython2Keys(t *testing.T) {
	data := mustMarshal(t, py.DictOf("k", py.DictOf(py.ByteString("p"), int64(1))), pickler.Protocol(2))
	want := map[string]any{"k": map[string]any{"p": int64(1)}}
	var fromSegs, fromDecoder any
	if err := unpickler.UnmarshalSegments([][]byte{data[:5], data[5:]}, &fromSegs, unpickler.PlainMaps(true)); err != nil {
		t.Fatal(err)
	}
	if err := unpickler.NewDecoder(bytes.NewReader(data), unpickler.PlainMaps(true)).Decode(&fromDecoder); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]any{"segments": fromSegs, "decoder": fromDecoder} {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v", name, got)
		}
	}
	v, err := unpickler.Load(data, unpickler.PlainMaps(true), unpickler.Encoding("bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(map[string]any)["k"].(*py.Dict); !ok {
		t.Fatalf("under Encoding(\"bytes\") a Python 2 str key is bytes: got %#v", v)
	}
}

// On every golden pickle and opcode sample, PlainMaps decodes what the
// default decodes (the same error, or a value), leaves no *py.Dict with
// only str keys in a list, tuple or dict value.
func TestPlainMapsEverySample(t *testing.T) {
	var inputs [][]byte
	for _, c := range goldenPickles(t).Cases {
		for _, p := range c.Pickles {
			if data := goldenBytes(t, p); data != nil {
				inputs = append(inputs, data)
			}
		}
	}
	for _, s := range opcodeSamples {
		inputs = append(inputs, []byte(s.data))
	}
	maps := 0
	for _, data := range inputs {
		_, err1 := unpickler.Load(data)
		v2, err2 := unpickler.Load(data, unpickler.PlainMaps(true))
		if msg := internalError(err2); msg != "" {
			t.Fatalf("%q: %s", data, msg)
		}
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%q: errors %v vs %v", data, err1, err2)
		}
		if err1 != nil {
			continue
		}
		seen := map[any]bool{}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case *py.Dict:
				if seen[x] {
					return
				}
				seen[x] = true
				allStr := true
				for _, it := range x.Items() {
					_, isStr := it.Key.(string)
					allStr = allStr && isStr
					walk(it.Value)
				}
				if allStr {
					t.Fatalf("%q: a str-keyed dict left as *py.Dict", data)
				}
			case map[string]any:
				maps++
				if seen[reflect.ValueOf(x).Pointer()] {
					return
				}
				seen[reflect.ValueOf(x).Pointer()] = true
				for _, e := range x {
					walk(e)
				}
			case map[any]any:
				if seen[reflect.ValueOf(x).Pointer()] {
					return
				}
				seen[reflect.ValueOf(x).Pointer()] = true
				for _, e := range x {
					walk(e)
				}
			case []any:
				if len(x) == 0 || seen[&x[0]] {
					return
				}
				seen[&x[0]] = true
				for _, e := range x {
					walk(e)
				}
			case py.Tuple:
				if len(x) == 0 || seen[&x[0]] {
					return
				}
				seen[&x[0]] = true
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(v2)
	}
	if maps == 0 {
		t.Fatal("no sample decoded into a map[string]any")
	}
	t.Logf("%d inputs, %d map[string]any reached", len(inputs), maps)
}
