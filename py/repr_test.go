package py_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// reprCases are Python expressions whose repr CPython prints; decoded from
// their pickle, py.Repr must print the same.
var reprCases = []string{
	"None", "True", "False", "0", "-7", "2**100", "-(2**70)",
	"1.5", "0.1", "-0.0", "1e16", "1e-05", "123456789012345.6", "1e300", "float('inf')", "float('-inf')",
	"complex(1, 2)", "complex(0, 1)", "complex(-0.0, -1.5)", "complex(1.5, 0)",
	"''", "'a'", "\"it's\"", "'both \\' and \"'", "'\\n\\t\\r\\\\'", "'é☃😀'", "'\\x00\\x7f\\x85\\xa0\\u2028'", "'a\\ud800b\\udfff'",
	"b''", "b\"it's\"", "b'\\x00\\xff\\n\\\\'", "bytearray(b'ab')", "bytearray()",
	"()", "(1,)", "(1, 'a')", "[]", "[1, [2, (3,)]]",
	"{}", "{'k': 'v', 1: 2.5, (1, 2): None}", "{'a': {'b': [b'c']}}",
	"set()", "{1, 2, 3}", "frozenset()", "frozenset({1})",
	"datetime.datetime(2020, 1, 2, 3, 4, 5)", "datetime.datetime(2020, 1, 2, 3, 4)",
	"datetime.datetime(2020, 1, 2, 3, 4, 5, 6)", "datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc)",
	"datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(seconds=3600)))",
	"datetime.timedelta(0)", "datetime.timedelta(days=-1, seconds=5)", "datetime.timedelta(microseconds=1)",
	"datetime.timedelta(days=3, seconds=7, microseconds=9)",
}

func TestReprMatchesCPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: CPython is the oracle of this test")
	}
	script := `
import base64, datetime, json, pickle, sys
out = []
for expr in json.load(sys.stdin):
    v = eval(expr)
    out.append([expr, base64.b64encode(pickle.dumps(v, 4)).decode(), repr(v)])
json.dump(out, sys.stdout)
`
	cmd := exec.Command(python, "-c", script)
	in, _ := json.Marshal(reprCases)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var rows [][3]string
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		p, _ := base64.StdEncoding.DecodeString(row[1])
		v, err := unpickler.Load(p)
		if err != nil {
			t.Errorf("%s: %v", row[0], err)
			continue
		}
		if got := py.Repr(v); got != row[2] {
			t.Errorf("%s: Repr = %s, CPython repr = %s", row[0], got, row[2])
		}
	}
}

func TestStringAndFormat(t *testing.T) {
	d := py.DictOf("name", "x", "tags", []any{py.Tuple{int64(1)}, py.NewFrozenSet(int64(2))})
	for _, tt := range []struct {
		name string
		got  string
		want string
	}{
		{"%v of *Dict", fmt.Sprintf("%v", d), `{'name': 'x', 'tags': [(1,), frozenset({2})]}`},
		{"%s of *Dict", fmt.Sprintf("%s", d), `{'name': 'x', 'tags': [(1,), frozenset({2})]}`},
		{"*Dict inside a Go map", fmt.Sprint(map[string]any{"d": d}), `map[d:{'name': 'x', 'tags': [(1,), frozenset({2})]}]`},
		{"Tuple", fmt.Sprint(py.Tuple{}), `()`},
		{"Set", fmt.Sprint(py.NewSet()), `set()`},
		{"ByteArray", fmt.Sprint(py.ByteArray("a'b")), `bytearray(b"a'b")`},
		{"ByteString", fmt.Sprint(py.ByteString("\xe9")), `'\xe9'`},
		{"Global", fmt.Sprint(py.Global{Module: "collections", Name: "OrderedDict"}), `collections.OrderedDict`},
		{"Call", fmt.Sprint(&py.Call{Callable: py.Global{Module: "collections", Name: "OrderedDict"},
			DictItems: []py.Item{{Key: "a", Value: int64(1)}}}), `<call collections.OrderedDict() dictitems={'a': 1}>`},
		{"Object", fmt.Sprint(&py.Object{Class: py.Global{Module: "m", Name: "C"}, Args: py.Tuple{int64(1)},
			State: py.DictOf("x", 2.5), HasState: true}), `<object m.C.__new__(1) state={'x': 2.5}>`},
		{"PersistentID", fmt.Sprint(py.PersistentID{ID: "k"}), `<persistent id 'k'>`},
		{"PickleBuffer", fmt.Sprint(py.PickleBuffer{Data: []byte("z"), ReadOnly: true}), `PickleBuffer(b'z')`},
		{"OutOfBand", fmt.Sprint(py.OutOfBand{Index: 2}), `<out-of-band buffer 2>`},
		{"naive datetime", py.Repr(time.Date(2001, 2, 3, 4, 5, 6, 7000, py.Naive)), `datetime.datetime(2001, 2, 3, 4, 5, 6, 7)`},
		{"Go value outside the model", py.Repr(struct{ A int }{1}), `{1}`},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestReprCycles(t *testing.T) {
	l := make([]any, 2)
	l[0] = int64(1)
	l[1] = l // a list that contains itself, as the unpickler builds one
	if got := py.Repr(l); got != "[1, [...]]" {
		t.Errorf("self-containing list: %s", got)
	}
	d := py.NewDict(1)
	d.Set("self", d)
	if got := py.Repr(d); got != "{'self': {...}}" {
		t.Errorf("self-containing dict: %s", got)
	}
	shared := []any{int64(1)}
	if got := py.Repr([]any{shared, shared}); got != "[[1], [1]]" {
		t.Errorf("shared, not cyclic: %s", got)
	}
	deep := any(nil)
	for i := 0; i < 5000; i++ {
		deep = py.Tuple{deep}
	}
	if got := py.Repr(deep); !strings.Contains(got, "...") {
		t.Errorf("deep value printed without a bound")
	}
}
