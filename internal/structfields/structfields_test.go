package structfields

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	A int
	B int `pickle:"bee" json:"bee"`
}

type Exported struct{ E int }

type Twin1 struct{ T int }
type Twin2 struct{ T int }

type shadow struct {
	inner
	A string // shallower: wins over inner.A
}

type tagWins struct {
	Twin1
	X struct{} `pickle:"-" json:"-"`
	Y int      `pickle:"T" json:"T"` // tagged and shallower
}

type ambiguous struct {
	Twin1
	Twin2 // T at equal depth, both untagged: neither
	Z     int
}

type withPtr struct {
	*Exported
	*inner
	Q     int `pickle:"q,omitempty" json:"q,omitempty"`
	hid   int
	Skip  int `pickle:"-" json:"-"`
	Order int
}

type recursive struct {
	*recursive
	V int
}

// TestNamesAsJSON checks the resolver against encoding/json: the same
// fields, under the same names, in the same order, for each shape of
// embedding and tagging (the "pickle" and "json" tags agree in these types).
func TestNamesAsJSON(t *testing.T) {
	values := map[string]any{
		"inner":     inner{1, 2},
		"shadow":    shadow{inner: inner{1, 2}, A: "x"},
		"tagWins":   tagWins{Twin1: Twin1{1}, Y: 2},
		"ambiguous": ambiguous{Z: 3},
		"withPtr":   withPtr{Exported: &Exported{1}, inner: &inner{2, 3}, Q: 4, hid: 5, Order: 6},
		"recursive": recursive{V: 1},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			js, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			// Top-level key order from json's output.
			dec := json.NewDecoder(strings.NewReader(string(js)))
			var want []string
			if _, err := dec.Token(); err != nil {
				t.Fatal(err)
			}
			for dec.More() {
				k, _ := dec.Token()
				want = append(want, k.(string))
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			rv := reflect.ValueOf(v)
			for _, f := range Of(rv.Type()).List {
				fv, ok := Get(rv, f.Index)
				if !ok || (f.OmitEmpty && IsEmpty(fv)) {
					continue
				}
				got = append(got, f.Name)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("names %q, encoding/json %q", got, want)
			}
		})
	}
}

func TestByNameAndSettable(t *testing.T) {
	fs := Of(reflect.TypeFor[withPtr]())
	if f := fs.ByName("ORDER"); f == nil || f.GoName != "Order" {
		t.Fatalf("case-insensitive lookup: %+v", f)
	}
	if f := fs.ByName("q"); f == nil || !f.OmitEmpty || !f.Tagged {
		t.Fatalf("tagged lookup: %+v", f)
	}
	if fs.ByName("Skip") != nil || fs.ByName("hid") != nil {
		t.Fatal("skipped or unexported field found")
	}
	var w withPtr
	f := fs.ByName("E")
	fv, ok := Settable(reflect.ValueOf(&w).Elem(), f.Index)
	if !ok {
		t.Fatal("exported embedded pointer not allocated")
	}
	fv.SetInt(7)
	if w.Exported == nil || w.E != 7 {
		t.Fatalf("got %+v", w.Exported)
	}
	// inner is unexported: its nil pointer cannot be allocated.
	if _, ok := Settable(reflect.ValueOf(&w).Elem(), fs.ByName("bee").Index); ok {
		t.Fatal("nil unexported embedded pointer reported settable")
	}
	if _, ok := Get(reflect.ValueOf(w), fs.ByName("bee").Index); ok {
		t.Fatal("field behind a nil pointer reported present")
	}
}

func TestIsEmpty(t *testing.T) {
	for _, c := range []struct {
		v     any
		empty bool
	}{{0, true}, {1, false}, {"", true}, {[]int{}, true}, {[1]int{}, false}, {time.Time{}, true}, {time.Now(), false}, {struct{}{}, false}} {
		if got := IsEmpty(reflect.ValueOf(c.v)); got != c.empty {
			t.Errorf("IsEmpty(%#v) = %v", c.v, got)
		}
	}
}
