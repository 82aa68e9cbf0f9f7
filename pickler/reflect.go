package pickler

import (
	"cmp"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"time"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/internal/structfields"
	"github.com/segpickle/segpickle/py"
)

var (
	marshalerType = reflect.TypeFor[Marshaler]()
	timeType      = reflect.TypeFor[time.Time]()
)

// knownTypes are the named types that save's type switch handles itself;
// reached through reflection (as a struct field, say) they go back to it.
var knownTypes = map[reflect.Type]bool{
	timeType:                            true,
	reflect.TypeFor[time.Duration]():    true,
	reflect.TypeFor[big.Int]():          true,
	reflect.TypeFor[*big.Int]():         true,
	reflect.TypeFor[py.Tuple]():         true,
	reflect.TypeFor[py.ByteArray]():     true,
	reflect.TypeFor[py.ByteString]():    true,
	reflect.TypeFor[*py.Dict]():         true,
	reflect.TypeFor[*py.Set]():          true,
	reflect.TypeFor[*py.FrozenSet]():    true,
	reflect.TypeFor[py.Global]():        true,
	reflect.TypeFor[py.Call]():          true,
	reflect.TypeFor[*py.Call]():         true,
	reflect.TypeFor[py.Object]():        true,
	reflect.TypeFor[*py.Object]():       true,
	reflect.TypeFor[py.PersistentID]():  true,
	reflect.TypeFor[py.PickleBuffer]():  true,
	reflect.TypeFor[*py.PickleBuffer](): true,
	reflect.TypeFor[py.OutOfBand]():     true,
}

// saveReflect encodes the Go types that the fast switch in save does not
// name: named types, structs, maps and slices of any element type.
func (e *encoder) saveReflect(v reflect.Value) error {
	if !v.IsValid() {
		e.w1(op.None)
		return nil
	}
	t := v.Type()
	if t.Implements(marshalerType) {
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
			e.w1(op.None)
			return nil
		}
		return e.saveOther(v.Interface().(Marshaler))
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(marshalerType) {
		pv := reflect.New(t)
		pv.Elem().Set(v)
		return e.saveOther(pv.Interface().(Marshaler))
	}
	if knownTypes[t] {
		return e.save(v.Interface())
	}
	switch t.Kind() {
	case reflect.Bool:
		e.saveBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.saveInt(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.saveUint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.saveFloat(v.Float())
	case reflect.Complex64, reflect.Complex128:
		return e.saveComplex(v.Complex())
	case reflect.String:
		return e.saveStr(v.String(), false)
	case reflect.Interface:
		if v.IsNil() {
			e.w1(op.None)
			return nil
		}
		return e.save(v.Elem().Interface())
	case reflect.Pointer:
		if v.IsNil() {
			e.w1(op.None)
			return nil
		}
		if t.Elem().Kind() == reflect.Struct {
			if e.inKey > 0 {
				return e.unhashable(t.String() + " (a dict)")
			}
			k := memoKey{p: v.UnsafePointer(), t: typeID(t)}
			if e.lookup(k) {
				return nil
			}
			return e.saveStruct(v.Elem(), k)
		}
		if err := e.enter(); err != nil {
			return err
		}
		err := e.save(v.Elem().Interface())
		e.depth--
		return err
	case reflect.Struct:
		if e.inKey > 0 {
			return e.unhashable(t.String() + " (a dict)")
		}
		return e.saveStruct(v, memoKey{})
	case reflect.Slice:
		if v.IsNil() {
			e.w1(op.None)
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(marshalerType) {
			return e.saveBytes(v.Bytes())
		}
		if e.inKey > 0 {
			return e.unhashable(t.String() + " (a list)")
		}
		return e.saveReflectList(v, v.Cap() > 0)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(marshalerType) {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return e.saveBytes(b)
		}
		if e.inKey > 0 {
			// Python's hashable equivalent of a fixed-size sequence.
			t := make(py.Tuple, v.Len())
			for i := range t {
				t[i] = v.Index(i).Interface()
			}
			return e.saveTuple(t)
		}
		return e.saveReflectList(v, false)
	case reflect.Map:
		if v.IsNil() {
			e.w1(op.None)
			return nil
		}
		if e.inKey > 0 {
			return e.unhashable(t.String() + " (a dict)")
		}
		return e.saveMap(v)
	default:
		return &UnsupportedTypeError{Type: t}
	}
	return nil
}

func (e *encoder) saveReflectList(v reflect.Value, memo bool) error {
	var k memoKey
	if memo {
		k = memoKey{p: v.UnsafePointer(), n: v.Len(), t: typeID(v.Type())}
	}
	if e.openListMemo(k, memo) {
		return nil
	}
	return e.listItems(v.Len(), func(i int) error { return e.saveReflect(v.Index(i)) })
}

func (e *encoder) saveMap(v reflect.Value) error {
	k := memoKey{p: v.UnsafePointer()}
	if e.lookup(k) {
		return nil
	}
	e.openDict()
	e.rememberPtr(k)
	keys := v.MapKeys()
	if e.cfg.sortKeys {
		sortValues(keys)
	}
	strKeys := v.Type().Key().Kind() == reflect.String
	return e.dictItems(len(keys), func(i int) error {
		key := keys[i]
		var err error
		if strKeys {
			err = e.saveStr(key.String(), true)
		} else {
			e.inKey++
			err = e.saveReflect(key)
			e.inKey--
		}
		if err != nil {
			return withPath(err, "[key "+fmt.Sprint(key.Interface())+"]")
		}
		if err := e.saveReflect(v.MapIndex(key)); err != nil {
			return withPath(err, keyPath(fmt.Sprint(key.Interface())))
		}
		return nil
	})
}

func sortValues(keys []reflect.Value) {
	if len(keys) == 0 {
		return
	}
	switch keys[0].Kind() {
	case reflect.String:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Int(), b.Int()) })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Uint(), b.Uint()) })
	case reflect.Float32, reflect.Float64:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Float(), b.Float()) })
	default:
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			return strings.Compare(fmt.Sprint(a.Interface()), fmt.Sprint(b.Interface()))
		})
	}
}

func (e *encoder) saveStruct(v reflect.Value, k memoKey) error {
	fields := structfields.Of(v.Type()).List
	e.openDict()
	if k.p != nil {
		e.rememberPtr(k)
	} else {
		e.memoPut()
	}
	// Count the fields written, then write them: dictItems needs the count
	// first (CPython's batching depends on it), and no slice is needed.
	present := func(f *structfields.Field) (reflect.Value, bool) {
		fv, ok := structfields.Get(v, f.Index)
		if !ok || (f.OmitEmpty && structfields.IsEmpty(fv)) {
			return reflect.Value{}, false
		}
		return fv, true
	}
	n := 0
	for i := range fields {
		if _, ok := present(&fields[i]); ok {
			n++
		}
	}
	next := 0 // dictItems asks for items in order
	return e.dictItems(n, func(int) error {
		for ; next < len(fields); next++ {
			f := &fields[next]
			fv, ok := present(f)
			if !ok {
				continue
			}
			next++
			if err := e.saveStr(f.Name, true); err != nil {
				return withPath(err, "."+f.Name)
			}
			if err := e.saveReflect(fv); err != nil {
				return withPath(err, "."+f.Name)
			}
			return nil
		}
		return nil
	})
}
