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
	bigIntType = reflect.TypeFor[big.Int]()
	timeType   = reflect.TypeFor[time.Time]()
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
