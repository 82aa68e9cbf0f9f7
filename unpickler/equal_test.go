package unpickler_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// valueDiff compares two decoded values of the value model, with Python's
// equality where Go's differs (a NaN equals a NaN of the same sign, -0.0
// differs from 0.0, a time compares its instant and offset) and object
// identity: a list, tuple, dict, set, call or object that is shared in one
// value must be shared in the same places in the other (a one-to-one map
// between the two), so cycles terminate too. It returns "" when equal, else
// the path of the first difference.
func valueDiff(a, b any) string {
	c := comparer{ab: map[ident]ident{}, ba: map[ident]ident{}, oobAB: map[int]int{}, oobBA: map[int]int{}}
	return c.diff(a, b, "")
}

type ident struct {
	typ reflect.Type
	ptr unsafe.Pointer
	n   int
}

type comparer struct {
	ab, ba       map[ident]ident
	oobAB, oobBA map[int]int
}

// same records that a and b stand for the same object; it reports whether
// they were seen before (then nothing more is to compare) and whether the
// pairing contradicts an earlier one.
func (c *comparer) same(a, b ident) (seen, ok bool) {
	if a.ptr == nil || b.ptr == nil {
		return false, a.ptr == b.ptr || a.n == 0 && b.n == 0
	}
	xb, okA := c.ab[a]
	xa, okB := c.ba[b]
	switch {
	case okA && okB:
		return true, xb == b && xa == a
	case okA || okB:
		return true, false
	}
	c.ab[a], c.ba[b] = b, a
	return false, true
}

func sliceID[T any](s []T) ident {
	if len(s) == 0 {
		return ident{}
	}
	return ident{reflect.TypeOf(s), unsafe.Pointer(unsafe.SliceData(s)), len(s)}
}

func ptrID[T any](p *T) ident { return ident{reflect.TypeOf(p), unsafe.Pointer(p), 1} }

func floatSame(x, y float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	return x == y && math.Signbit(x) == math.Signbit(y)
}

func (c *comparer) diff(a, b any, path string) string {
	if path == "" {
		path = "."
	}
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return fmt.Sprintf("%s: %T vs %T", path, a, b)
	}
	bad := func() string { return fmt.Sprintf("%s: %#v vs %#v", path, a, b) }
	switch x := a.(type) {
	case nil:
		return ""
	case float64:
		if !floatSame(x, b.(float64)) {
			return bad()
		}
	case complex128:
		y := b.(complex128)
		if !floatSame(real(x), real(y)) || !floatSame(imag(x), imag(y)) {
			return bad()
		}
	case *big.Int:
		if x.Cmp(b.(*big.Int)) != 0 {
			return bad()
		}
	case time.Time:
		y := b.(time.Time)
		_, ox := x.Zone()
		_, oy := y.Zone()
		if !x.Equal(y) || ox != oy || (x.Location() == py.Naive) != (y.Location() == py.Naive) {
			return bad()
		}
	case []byte:
		return c.bytes(sliceID(x), sliceID(b.([]byte)), string(x) == string(b.([]byte)), path)
	case py.ByteArray:
		return c.bytes(sliceID(x), sliceID(b.(py.ByteArray)), string(x) == string(b.(py.ByteArray)), path)
	case py.ByteString:
		return c.bytes(sliceID(x), sliceID(b.(py.ByteString)), string(x) == string(b.(py.ByteString)), path)
	case []any:
		return c.list(sliceID(x), sliceID(b.([]any)), x, b.([]any), path)
	case py.Tuple:
		return c.list(sliceID(x), sliceID(b.(py.Tuple)), x, b.(py.Tuple), path)
	case *py.Dict:
		y := b.(*py.Dict)
		if seen, ok := c.same(ptrID(x), ptrID(y)); seen || !ok {
			return c.report(ok, path)
		}
		return c.items(x.Items(), y.Items(), path)
	case *py.Set:
		y := b.(*py.Set)
		if seen, ok := c.same(ptrID(x), ptrID(y)); seen || !ok {
			return c.report(ok, path)
		}
		return c.list(ident{}, ident{}, x.Items(), y.Items(), path+"(set)")
	case *py.FrozenSet:
		y := b.(*py.FrozenSet)
		if seen, ok := c.same(ptrID(x), ptrID(y)); seen || !ok {
			return c.report(ok, path)
		}
		return c.list(ident{}, ident{}, x.Items(), y.Items(), path+"(frozenset)")
	case *py.Call:
		y := b.(*py.Call)
		if seen, ok := c.same(ptrID(x), ptrID(y)); seen || !ok {
			return c.report(ok, path)
		}
		return c.first(
			func() string { return c.diff(x.Callable, y.Callable, path+"(callable)") },
			func() string { return c.diff(x.Args, y.Args, path+"(args)") },
			func() string { return c.diff(listOrNil(x.ListItems), listOrNil(y.ListItems), path+"(listitems)") },
			func() string { return c.items(x.DictItems, y.DictItems, path+"(dictitems)") },
			func() string { return c.state(x.HasState, y.HasState, x.State, y.State, path) })
	case *py.Object:
		y := b.(*py.Object)
		if seen, ok := c.same(ptrID(x), ptrID(y)); seen || !ok {
			return c.report(ok, path)
		}
		return c.first(
			func() string { return c.diff(x.Class, y.Class, path+"(class)") },
			func() string { return c.diff(x.Args, y.Args, path+"(args)") },
			func() string {
				if (x.Kwargs == nil) != (y.Kwargs == nil) {
					return path + "(kwargs): nil vs not"
				}
				if x.Kwargs == nil {
					return ""
				}
				return c.diff(x.Kwargs, y.Kwargs, path+"(kwargs)")
			},
			func() string { return c.diff(listOrNil(x.ListItems), listOrNil(y.ListItems), path+"(listitems)") },
			func() string { return c.items(x.DictItems, y.DictItems, path+"(dictitems)") },
			func() string { return c.state(x.HasState, y.HasState, x.State, y.State, path) })
	case py.PersistentID:
		return c.diff(x.ID, b.(py.PersistentID).ID, path+"(persid)")
	case py.PickleBuffer:
		y := b.(py.PickleBuffer)
		if x.ReadOnly != y.ReadOnly || string(x.Data) != string(y.Data) {
			return bad()
		}
	case py.OutOfBand:
		// The index is the placeholder's position among the pickle's
		// buffers, which re-encoding renumbers when some were dropped
		// (popped from the stack): compare read-only-ness, and that the
		// numbering maps one to one.
		y := b.(py.OutOfBand)
		if x.ReadOnly != y.ReadOnly {
			return bad()
		}
		xb, okA := c.oobAB[x.Index]
		xa, okB := c.oobBA[y.Index]
		if okA != okB || okA && (xb != y.Index || xa != x.Index) {
			return path + ": out-of-band indexes do not map one to one"
		}
		c.oobAB[x.Index], c.oobBA[y.Index] = y.Index, x.Index
	case bool, int64, string, time.Duration, py.Global:
		if a != b {
			return bad()
		}
	default:
		if !reflect.DeepEqual(a, b) {
			return bad()
		}
	}
	return ""
}

func listOrNil(l []any) any {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (c *comparer) report(ok bool, path string) string {
	if ok {
		return ""
	}
	return path + ": shared in one value, not in the other"
}

func (c *comparer) first(fs ...func() string) string {
	for _, f := range fs {
		if d := f(); d != "" {
			return d
		}
	}
	return ""
}

func (c *comparer) bytes(ia, ib ident, eq bool, path string) string {
	if !eq {
		return path + ": bytes differ"
	}
	if _, ok := c.same(ia, ib); !ok {
		return c.report(false, path)
	}
	return ""
}

func (c *comparer) list(ia, ib ident, x, y []any, path string) string {
	if seen, ok := c.same(ia, ib); seen || !ok {
		return c.report(ok, path)
	}
	if len(x) != len(y) {
		return fmt.Sprintf("%s: length %d vs %d", path, len(x), len(y))
	}
	for i := range x {
		if d := c.diff(x[i], y[i], fmt.Sprintf("%s[%d]", strings.TrimSuffix(path, "."), i)); d != "" {
			return d
		}
	}
	return ""
}

func (c *comparer) items(x, y []py.Item, path string) string {
	if len(x) != len(y) {
		return fmt.Sprintf("%s: %d items vs %d", path, len(x), len(y))
	}
	for i := range x {
		p := fmt.Sprintf("%s{%d}", strings.TrimSuffix(path, "."), i)
		if d := c.diff(x[i].Key, y[i].Key, p+"key"); d != "" {
			return d
		}
		if d := c.diff(x[i].Value, y[i].Value, p); d != "" {
			return d
		}
	}
	return ""
}

func (c *comparer) state(hx, hy bool, x, y any, path string) string {
	if hx != hy {
		return path + "(state): set in one only"
	}
	return c.diff(x, y, path+"(state)")
}

// internalError reports whether err says a panic was recovered (the
// decoder's or the pickler's ErrInternal) or is not one of
// the typed errors the packages promise.
func internalError(err error) string {
	if err == nil {
		return ""
	}
	var ue *unpickler.Error
	var te *unpickler.UnmarshalTypeError
	var pv *pickler.UnsupportedValueError
	var pt *pickler.UnsupportedTypeError
	switch {
	case errors.Is(err, unpickler.ErrInternal):
		return "recovered panic: " + err.Error()
	case errors.Is(err, pickler.ErrInternal), errors.As(err, &pv) && strings.Contains(pv.Reason, "internal error"):
		return "recovered panic: " + err.Error()
	case errors.As(err, &ue), errors.As(err, &te), errors.As(err, &pv), errors.As(err, &pt):
		return ""
	}
	return fmt.Sprintf("untyped error %T: %v", err, err)
}

// TestValueDiff: the comparer the fuzz targets rely on tells values apart,
// sharing included.
func TestValueDiff(t *testing.T) {
	shared := []any{int64(1)}
	self := []any{nil}
	self[0] = self
	self2 := []any{nil}
	self2[0] = self2
	nan := math.NaN()
	for _, c := range []struct {
		name string
		a, b any
		same bool
	}{
		{"ints", int64(1), int64(1), true},
		{"int vs float", int64(1), 1.0, false},
		{"nan", nan, -(-nan), true},
		{"zero sign", 0.0, math.Copysign(0, -1), false},
		{"shared vs copies", []any{shared, shared}, []any{[]any{int64(1)}, []any{int64(1)}}, false},
		{"shared both", []any{shared, shared}, func() any { s := []any{int64(1)}; return []any{s, s} }(), true},
		{"cycles", self, self2, true},
		{"dict order", py.DictOf("a", int64(1), "b", int64(2)), py.DictOf("b", int64(2), "a", int64(1)), false},
		{"dict", py.DictOf("a", []any{}), py.DictOf("a", []any{}), true},
		{"bytes", []byte("x"), []byte("y"), false},
		{"buffers renumbered", []any{py.OutOfBand{Index: 1}}, []any{py.OutOfBand{Index: 0}}, true},
		{"buffers swapped", []any{py.OutOfBand{Index: 0}, py.OutOfBand{Index: 0}}, []any{py.OutOfBand{Index: 0}, py.OutOfBand{Index: 1}}, false},
		{"call state", &py.Call{Callable: py.Global{Module: "m", Name: "f"}, HasState: true},
			&py.Call{Callable: py.Global{Module: "m", Name: "f"}}, false},
	} {
		if got := valueDiff(c.a, c.b) == ""; got != c.same {
			t.Errorf("%s: equal = %v, want %v (%s)", c.name, got, c.same, valueDiff(c.a, c.b))
		}
	}
}
