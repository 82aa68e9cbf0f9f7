package py_test

import (
	"strings"
	"testing"

	"github.com/segpickle/segpickle/py"
)

func TestNewDictLike(t *testing.T) {
	like := py.DictOf("a", int64(1), "bc", int64(2), "d", int64(3))
	// Equal strs that do not share their bytes with like's keys.
	fresh := func(s string) any { return strings.Clone(s) }
	items := func(d *py.Dict) []any {
		var r []any
		for _, it := range d.Items() {
			r = append(r, it.Key, it.Value)
		}
		return r
	}
	cases := []struct {
		name string
		like *py.Dict
		kv   []any
		ok   bool
	}{
		{"like's own keys", like, []any{"a", 10, "bc", 20, "d", 30}, true},
		{"equal fresh strs", like, []any{fresh("a"), 10, fresh("bc"), 20, fresh("d"), 30}, true},
		{"like's key interfaces", like, []any{like.Items()[0].Key, nil, like.Items()[1].Key, nil, like.Items()[2].Key, nil}, true},
		{"another order", like, []any{"bc", 10, "a", 20, "d", 30}, false},
		{"a key twice", like, []any{"a", 10, "a", 20, "d", 30}, false},
		{"one key fewer", like, []any{"a", 10, "bc", 20}, false},
		{"one key more", like, []any{"a", 10, "bc", 20, "d", 30, "e", 40}, false},
		{"odd", like, []any{"a", 10, "bc", 20, "d"}, false},
		{"an int key", like, []any{"a", 10, int64(1), 20, "d", 30}, false},
		{"empty", py.NewDict(0), []any{}, false},
		{"nil like", nil, []any{"a", 1}, false},
		{"like has an int key", py.DictOf(int64(1), 2), []any{int64(1), 3}, false},
		{"nine keys", py.DictOf("1", 0, "2", 0, "3", 0, "4", 0, "5", 0, "6", 0, "7", 0, "8", 0, "9", 0),
			[]any{"1", 0, "2", 0, "3", 0, "4", 0, "5", 0, "6", 0, "7", 0, "8", 0, "9", 0}, false},
		{"eight keys", py.DictOf("1", 0, "2", 0, "3", 0, "4", 0, "5", 0, "6", 0, "7", 0, "8", 0),
			[]any{"1", 1, "2", 2, "3", 3, "4", 4, "5", 5, "6", 6, "7", 7, "8", 8}, true},
	}
	for _, c := range cases {
		d := py.NewDictLike(c.like, c.kv)
		if (d != nil) != c.ok {
			t.Errorf("%s: got %v, want ok=%v", c.name, d, c.ok)
			continue
		}
		if d == nil {
			continue
		}
		if got := items(d); len(got) != len(c.kv) {
			t.Errorf("%s: items %v, want %v", c.name, got, c.kv)
			continue
		}
		for i := 0; i < len(c.kv); i += 2 {
			if v, ok := d.Get(c.kv[i]); !ok || v != c.kv[i+1] {
				t.Errorf("%s: d[%v] = %v, %v; want %v", c.name, c.kv[i], v, ok, c.kv[i+1])
			}
		}
	}
	// The new dict is its own: setting a key leaves like unchanged.
	d := py.NewDictLike(like, []any{"a", 10, "bc", 20, "d", 30})
	d.Set("a", 11)
	d.Set("e", 50)
	if v, _ := like.Get("a"); like.Len() != 3 || v != any(int64(1)) {
		t.Fatalf("like changed: %d items, like['a'] = %v", like.Len(), v)
	}
	if v, _ := d.Get("a"); d.Len() != 4 || v != any(11) {
		t.Fatalf("new dict: %d items, d['a'] = %v", d.Len(), v)
	}
}
