package unpickler_test

import (
	"reflect"
	"testing"

	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// An int read into a float64 slot (a struct field matched
// case-insensitively, a []float64 item, a map[string]float64 value) and
// memoized is an int when a GET reads it back into an `any`, as on the
// dynamic path and in CPython; the typed path once memoized the float it
// had stored.
func TestHuntIntMemoizedInFloatSlot(t *testing.T) {
	type fold struct {
		B any `pickle:"b"`
		X float64
	}
	type shapes struct {
		L []float64          `pickle:"l"`
		M map[string]float64 `pickle:"m"`
		B []any              `pickle:"b"`
	}
	for name, c := range map[string]struct {
		data string
		mk   func() any
	}{
		"field":      {"\x80\x04}(\x8c\x01xK\x0c\x94\x8c\x01bh\x00u.", func() any { return new(fold) }},
		"field, q":   {"\x80\x02}q\x00(X\x01\x00\x00\x00xq\x01K\x0cq\x02X\x01\x00\x00\x00bh\x02u.", func() any { return new(fold) }},
		"list item":  {"\x80\x02}(X\x01\x00\x00\x00l](K\x0cq\x00K\x01M\x00\x01eX\x01\x00\x00\x00b](h\x00eu.", func() any { return new(shapes) }},
		"list, DUP":  {"\x80\x02}(X\x01\x00\x00\x00l](K\x0c2q\x00eX\x01\x00\x00\x00b](h\x00eu.", func() any { return new(shapes) }},
		"map value":  {"\x80\x02}(X\x01\x00\x00\x00m}(X\x01\x00\x00\x00kK\x0cq\x00uX\x01\x00\x00\x00b](h\x00eu.", func() any { return new(shapes) }},
		"map, proto": {"(dp0\nS'm'\n(dp1\nS'k'\nI12\np2\nsS'b'\n(lp3\ng2\nas.", func() any { return new(shapes) }},
	} {
		want, got := c.mk(), c.mk()
		errWant := unpickler.RefUnmarshal([]byte(c.data), want)
		errGot := unpickler.Unmarshal([]byte(c.data), got)
		if errWant != nil || errGot != nil {
			t.Errorf("%s: %v / %v", name, errWant, errGot)
			continue
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: typed %#v, dynamic %#v", name, got, want)
		}
	}
}

// A key given twice, the first time with a value the typed path defers
// till STOP (a list, which may still change through the memo): the last
// value wins, as in CPython ({'a': [], 'a': 1} is {'a': 1}); the typed
// map path once stored the list over the 1 at STOP.
func TestHuntDuplicateKeyAfterDeferred(t *testing.T) {
	type st struct {
		B any `pickle:"b"`
		C any `pickle:"c"`
	}
	targets := []func() any{
		func() any { return new(map[string]any) }, func() any { return new([]map[string]any) },
		func() any { return new(st) }, func() any { return new([]st) }, func() any { return new(map[string][]int64) },
		func() any { return new(any) },
	}
	for _, data := range []string{
		"\x80\x04}(\x8c\x01b]\x8c\x01bK\x01u.",                                     // one batch
		"\x80\x04](}(\x8c\x01b]\x8c\x01bK\x01ue.",                                  // in a list
		"\x80\x04}(\x8c\x01b]\x85\x8c\x01bK\x01u.",                                 // a tuple holding a list
		"\x80\x04}(\x8c\x01b]\x94u(\x8c\x01bK\x01u(\x8c\x01ch\x00u.",               // two batches, memo
		"\x80\x04}\x8c\x01b]s\x8c\x01bK\x01s.",                                     // SETITEM
		"\x80\x04}(\x8c\x01b]\x94\x8c\x01b](K\x01eu\x8c\x01ch\x00s.",               // list then list
		"\x80\x04}(\x8c\x01bK\x01\x8c\x01b]\x94u\x8c\x01ch\x00s.",                  // scalar then list: list wins
		"\x80\x04]\x94}(\x8c\x01bh\x00\x8c\x01bK\x02uh\x00(K\x01e\x86.",            // GET of a list, then an int
		"\x80\x04}(\x8c\x01b]\x94\x8c\x01c\x8c\x01x\x8c\x01bh\x00\x8c\x01bK\x03u.", // three times
	} {
		want, err := unpickler.Load([]byte(data))
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		for _, mk := range targets {
			ref, got := mk(), mk()
			errRef := unpickler.RefUnmarshal([]byte(data), ref)
			errGot := unpickler.Unmarshal([]byte(data), got)
			if (errRef == nil) != (errGot == nil) {
				t.Errorf("%q into %T: %v / %v", data, got, errRef, errGot)
				continue
			}
			if errRef == nil && !reflect.DeepEqual(ref, got) {
				t.Errorf("%q into %T (Load: %v): typed %v, dynamic %v", data, got, want, reflect.ValueOf(got).Elem(), reflect.ValueOf(ref).Elem())
			}
		}
	}
}

// A memo entry kept in a run over a list's batch, put again later in the
// batch, then the batch handed back to the machine (an EMPTY_DICT the
// loop does not take): the later value stays and the entry counts once, as
// in CPython. unrunBox once put the run's older value back over it and
// counted the entry one less, so that a later MEMOIZE took an index
// already used and a GET of the next one failed.
func TestHuntRunEntryPutAgain(t *testing.T) {
	for _, c := range []struct {
		data string
		want any // CPython's pickle.loads
	}{
		{"\x80\x04](K\x01e(K\x02q\x01K\x03q\x01}eh\x01\x86.", nil},
		{"\x80\x04](K\x01e(K\x02\x94K\x03q\x00}e\x8c\x01x\x94h\x01h\x00\x87.", py.Tuple{"x", "x", int64(3)}},
		{"\x80\x04](K\x01e(K\x02q\x05K\x03q\x05}eK\x07\x94h\x01\x86.", py.Tuple{int64(7), int64(7)}},
	} {
		v, err := unpickler.Load([]byte(c.data))
		if err != nil {
			t.Errorf("%q: %v", c.data, err)
			continue
		}
		if c.want == nil { // ([1, 2, 3, {}], 3)
			tu, ok := v.(py.Tuple)
			if !ok || len(tu) != 2 || tu[1] != int64(3) {
				t.Errorf("%q: %v, want ([1, 2, 3, {}], 3)", c.data, v)
			}
		} else if d := valueDiff(v, c.want); d != "" {
			t.Errorf("%q: %v, want %v: %s", c.data, v, c.want, d)
		}
		segs := make([][]byte, len(c.data))
		for i := range segs {
			segs[i] = []byte(c.data[i : i+1])
		}
		var v2 any
		err2 := unpickler.UnmarshalSegments(segs, &v2)
		if d := sameOutcome(v, err, v2, err2); d != "" {
			t.Errorf("%q: bytes and one-byte segments: %s", c.data, d)
		}
	}
}
