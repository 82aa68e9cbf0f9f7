package pickler

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"time"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// Go maps of key and value types that saveKnown does not name, via
// reflection. The items are read with MapRange, key and value together: a
// NaN key cannot be looked up again (NaN != NaN), and MapIndex gave the
// zero Value, written as None, for each of them.

type goMapItem struct{ k, v reflect.Value }

// saveGoMap writes a Go map as a dict, its keys in the total order of
// compareKeys unless SortMapKeys(false).
func (e *encoder) saveGoMap(v reflect.Value) error {
	if e.openDictMemo(memoKey{p: v.UnsafePointer()}) {
		return nil
	}
	items := make([]goMapItem, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		items = append(items, goMapItem{it.Key(), it.Value()})
	}
	if e.cfg.sortKeys {
		sortGoMapItems(items)
	}
	if mayCollide(v.Type().Key()) {
		if err := checkDistinctKeys(items, e.cfg.sortKeys); err != nil {
			return err
		}
	}
	strKeys := v.Type().Key().Kind() == reflect.String
	if err := e.enter(); err != nil {
		return err
	}
	for b := e.batches(len(items), op.Setitem, op.Setitems); b.next(); {
		for _, it := range items[b.start:b.end] {
			var err error
			if strKeys {
				err = e.saveStr(it.k.String(), true)
			} else {
				e.inKey++
				err = e.saveReflect(it.k)
				e.inKey--
			}
			if err != nil {
				return withPath(err, "[key "+cutKey(keyDesc(it.k))+"]")
			}
			if err := e.saveReflect(it.v); err != nil {
				return withPath(err, keyPath(keyDesc(it.k)))
			}
		}
	}
	e.depth--
	return nil
}

// keyDesc is a map key as a path step names it (cut by the caller): a
// str key itself, not a copy.
func keyDesc(k reflect.Value) string {
	for k.Kind() == reflect.Interface && !k.IsNil() {
		k = k.Elem()
	}
	if k.Kind() == reflect.String {
		return k.String()
	}
	return fmt.Sprint(k)
}

// sortGoMapItems orders a map's items by key, totally: compareKeys, then
// the keys' types by name, and for keys still tied (NaNs of the same bits,
// pointers to equal values) their printed forms, then their values as
// compareKeys orders them (NaN keys whose values are equal lists or maps
// stay in Go's order: their bytes differ only if the values do).
// Without the total order, keys that compared equal (1 and "1" printed
// alike; NaNs) came out in Go's random map order: the same map gave other
// bytes from one Marshal to the next.
func sortGoMapItems(items []goMapItem) {
	if len(items) < 2 {
		return
	}
	// Keys of one concrete kind that Go keeps distinct are ordered
	// without reflection's general walk.
	switch items[0].k.Kind() {
	case reflect.String:
		slices.SortFunc(items, func(a, b goMapItem) int { return strings.Compare(a.k.String(), b.k.String()) })
		return
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		slices.SortFunc(items, func(a, b goMapItem) int { return cmp.Compare(a.k.Int(), b.k.Int()) })
		return
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		slices.SortFunc(items, func(a, b goMapItem) int { return cmp.Compare(a.k.Uint(), b.k.Uint()) })
		return
	}
	slices.SortFunc(items, func(a, b goMapItem) int {
		if c := compareKeys(a.k, b.k); c != 0 {
			return c
		}
		if c := strings.Compare(fmt.Sprint(a.k), fmt.Sprint(b.k)); c != 0 {
			return c
		}
		// Not fmt.Sprint of the values: a value may contain itself (fmt
		// recurses without end into a map that holds itself).
		return compareKeys(a.v, b.v)
	})
}

// Key classes, in the order they sort: None, numbers (bool, ints, floats:
// by value across types, as Python compares them; NaN after all others),
// complex, str, arrays (tuples), structs, the rest.
const (
	classNone = iota
	classNumber
	classComplex
	classString
	classArray
	classStruct
	classOther
)

var (
	bigIntType   = reflect.TypeFor[big.Int]()
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	marshalerT   = reflect.TypeFor[Marshaler]()
	protoMarshT  = reflect.TypeFor[ProtocolMarshaler]()
)

// keyCompareBudget bounds the steps (values, pointers followed) of one
// comparison: a Go pointer may point to itself, and a struct whose two
// fields point back to it would take 2^depth steps to compare with another
// such struct. Keys not told apart within it tie, and are ordered by their
// printed forms.
const keyCompareBudget = 256

// keyValue strips interfaces and pointers (nil: the invalid Value, None).
func keyValue(v reflect.Value, budget *int) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && *budget > 0 {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
		*budget--
	}
	return v
}

func keyClass(v reflect.Value) int {
	if !v.IsValid() {
		return classNone
	}
	switch v.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return classNumber
	case reflect.Complex64, reflect.Complex128:
		return classComplex
	case reflect.String:
		return classString
	case reflect.Array:
		return classArray
	case reflect.Struct:
		if v.Type() == bigIntType {
			return classNumber
		}
		return classStruct
	}
	return classOther
}

// compareKeys orders two map keys as the Python values they are written
// as, where it can: numbers by value whatever their Go types, strings by
// their bytes, arrays (tuples) item by item, structs field by field; keys
// of other classes by class. Keys it finds equal are ordered by the caller.
func compareKeys(a, b reflect.Value) int {
	budget := keyCompareBudget
	return compareKeysIn(a, b, &budget)
}

func compareKeysIn(a, b reflect.Value, budget *int) int {
	if *budget--; *budget < 0 {
		return 0
	}
	a, b = keyValue(a, budget), keyValue(b, budget)
	ca, cb := keyClass(a), keyClass(b)
	if ca != cb {
		return cmp.Compare(ca, cb)
	}
	switch ca {
	case classNone:
		return 0
	case classNumber:
		if c := compareNumbers(a, b); c != 0 {
			return c
		}
	case classComplex:
		ac, bc := a.Complex(), b.Complex()
		if c := compareFloats(real(ac), real(bc)); c != 0 {
			return c
		}
		if c := compareFloats(imag(ac), imag(bc)); c != 0 {
			return c
		}
	case classString:
		if c := strings.Compare(a.String(), b.String()); c != 0 {
			return c
		}
	case classArray:
		if c := cmp.Compare(a.Len(), b.Len()); c != 0 {
			return c
		}
		for i := 0; i < a.Len(); i++ {
			if c := compareKeysIn(a.Index(i), b.Index(i), budget); c != 0 {
				return c
			}
		}
	case classStruct:
		if a.Type() == timeType && b.Type() == timeType && a.CanInterface() && b.CanInterface() {
			ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
			if c := ta.Compare(tb); c != 0 {
				return c
			}
			_, oa := ta.Zone()
			_, ob := tb.Zone()
			if c := cmp.Compare(oa, ob); c != 0 {
				return c
			}
		} else if a.Type() == b.Type() {
			for i := 0; i < a.NumField(); i++ {
				if c := compareKeysIn(a.Field(i), b.Field(i), budget); c != 0 {
					return c
				}
			}
		}
	}
	if a.IsValid() && b.IsValid() && a.Type() != b.Type() {
		return strings.Compare(a.Type().String(), b.Type().String())
	}
	return 0
}

// compareFloats is cmp.Compare with the NaNs after every number and
// among themselves by their bits.
func compareFloats(x, y float64) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return cmp.Compare(math.Float64bits(x), math.Float64bits(y))
	case xn:
		return 1
	case yn:
		return -1
	}
	return cmp.Compare(x, y)
}

// compareNumbers compares bools, ints, uints, floats and big.Ints by value
// (exactly, across types: 2^63 as a float and as a uint64 are equal).
func compareNumbers(a, b reflect.Value) int {
	ka, kb := numKind(a), numKind(b)
	switch {
	case ka == 'i' && kb == 'i':
		return cmp.Compare(numInt(a), numInt(b))
	case ka == 'u' && kb == 'u':
		return cmp.Compare(a.Uint(), b.Uint())
	case ka == 'f' && kb == 'f':
		return compareFloats(a.Float(), b.Float())
	case ka == 'f' && math.IsNaN(a.Float()):
		return 1
	case kb == 'f' && math.IsNaN(b.Float()):
		return -1
	}
	return numBig(a).Cmp(numBig(b))
}

// numKind is 'i' (bool and signed ints), 'u', 'f' or 'b' (big.Int).
func numKind(v reflect.Value) byte {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return 'u'
	case reflect.Float32, reflect.Float64:
		return 'f'
	case reflect.Struct:
		return 'b'
	}
	return 'i'
}

func numInt(v reflect.Value) int64 {
	if v.Kind() == reflect.Bool {
		if v.Bool() {
			return 1
		}
		return 0
	}
	return v.Int()
}

// numBig is v exactly as a big.Float (not NaN: compareNumbers sorted those).
func numBig(v reflect.Value) *big.Float {
	f := new(big.Float)
	switch numKind(v) {
	case 'u':
		return f.SetUint64(v.Uint())
	case 'f':
		return f.SetFloat64(v.Float())
	case 'b':
		if v.CanAddr() && v.CanInterface() { // a *big.Int key's pointee
			return f.SetInt(v.Addr().Interface().(*big.Int))
		}
		return f // big.Int itself cannot be a map key
	}
	return f.SetInt64(numInt(v))
}

// Keys Go keeps apart that Python finds equal: 1, 1.0 and true in a
// map[any]any, two pointers to equal values, two times of one instant in
// other zones or a nanosecond apart (a datetime holds microseconds). CPython
// would keep one of them and drop the other values without a word, so the
// map is refused (ErrDuplicateKey) instead.

// mayCollide reports whether two distinct Go keys of type t can be written
// as equal Python keys (an int, str or float key type cannot).
func mayCollide(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Array, reflect.Struct:
		return true
	}
	return t == durationType
}

// checkDistinctKeys refuses items holding two keys equal in Python. Such
// keys sort next to each other (compareKeys orders by Python value, then
// by Go type); items sorted says they are in that order already.
func checkDistinctKeys(items []goMapItem, sorted bool) error {
	if len(items) < 2 {
		return nil
	}
	if !sorted {
		items = slices.Clone(items)
		sortGoMapItems(items)
	}
	for i := 1; i < len(items); i++ {
		budget := keyCompareBudget
		if pyEqualKeys(items[i-1].k, items[i].k, &budget) {
			a, b := cutKey(valueDesc(items[i-1].k)), cutKey(valueDesc(items[i].k))
			return withPath(valueErr(ErrDuplicateKey, "keys "+a+" ("+items[i-1].k.Type().String()+") and "+
				b+" ("+items[i].k.Type().String()+") are one key in Python"), "[key "+b+"]")
		}
	}
	return nil
}

// valueDesc is a key as the error names it: what a pointer points to,
// None for nil.
func valueDesc(k reflect.Value) string {
	budget := keyCompareBudget
	if k = keyValue(k, &budget); !k.IsValid() {
		return "None"
	}
	return keyDesc(k)
}

// pyEqualKeys reports whether keys a and b are written as Python values
// that are equal (so one dict key), as far as it can tell: None, numbers
// across Go types (bool, ints, floats, *big.Int; not NaN, a float that is
// never equal), complex numbers, strs, arrays (tuples) item by item,
// time.Time (datetimes: to the microsecond, aware ones by instant, naive
// ones by wall clock) and time.Duration (timedeltas, to the microsecond).
// Keys written by a Marshaler, and others, are not compared (false).
func pyEqualKeys(a, b reflect.Value, budget *int) bool {
	if *budget--; *budget < 0 {
		return false
	}
	a, b = keyValue(a, budget), keyValue(b, budget)
	if !a.IsValid() || !b.IsValid() {
		return !a.IsValid() && !b.IsValid()
	}
	for _, v := range []reflect.Value{a, b} {
		if v.Type().Implements(marshalerT) || v.Type().Implements(protoMarshT) {
			return false
		}
	}
	if (a.Type() == durationType) != (b.Type() == durationType) {
		return false // a timedelta is no number
	}
	if a.Type() == durationType {
		return time.Duration(a.Int())/time.Microsecond == time.Duration(b.Int())/time.Microsecond
	}
	ca, cb := keyClass(a), keyClass(b)
	if ca == classComplex || cb == classComplex {
		if ca != classComplex { // 1 == 1+0j
			a, b, ca, cb = b, a, cb, ca
		}
		c := a.Complex()
		switch cb {
		case classComplex:
			return c == b.Complex()
		case classNumber:
			return imag(c) == 0 && !math.IsNaN(real(c)) && compareNumbers(reflect.ValueOf(real(c)), b) == 0
		}
		return false
	}
	if ca != cb {
		return false
	}
	switch ca {
	case classNumber:
		if (numKind(a) == 'f' && math.IsNaN(a.Float())) || (numKind(b) == 'f' && math.IsNaN(b.Float())) {
			return false
		}
		return compareNumbers(a, b) == 0
	case classString:
		return a.String() == b.String()
	case classArray:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !pyEqualKeys(a.Index(i), b.Index(i), budget) {
				return false
			}
		}
		return true
	case classStruct:
		if a.Type() != timeType || b.Type() != timeType || !a.CanInterface() || !b.CanInterface() {
			return false
		}
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		na, nb := ta.Location() == py.Naive, tb.Location() == py.Naive
		if na != nb {
			return false // a naive datetime never equals an aware one
		}
		return ta.Truncate(time.Microsecond).Equal(tb.Truncate(time.Microsecond))
	}
	return false
}
