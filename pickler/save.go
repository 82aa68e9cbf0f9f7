package pickler

import (
	"errors"
	"math/big"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

// save writes one value: the persistent-ID hook, the frame boundary, then
// the types the value model names (saveKnown), then a Marshaler, then
// reflection for everything else.
func (e *encoder) save(v any) error {
	if e.cfg.persistentID != nil {
		if id, ok := e.cfg.persistentID(v); ok {
			return e.savePersistent(id)
		}
	}
	e.Boundary()
	if ok, err := e.saveKnown(v); ok {
		return err
	}
	if m, ok := v.(Marshaler); ok {
		return e.saveMarshaler(m, reflect.TypeOf(v))
	}
	return e.saveReflect(reflect.ValueOf(v))
}

// saveKnown is the one list of the types the encoder handles by type
// (the mapping table of package py); handled is false for any other type.
// Reflection comes back here for these types (isKnown), so that a
// time.Time in a struct field is a datetime as it is at top level.
func (e *encoder) saveKnown(v any) (handled bool, err error) {
	switch x := v.(type) {
	case nil:
		e.Byte(op.None)
	case bool:
		e.saveBool(x)
	case int:
		e.saveInt(int64(x))
	case int64:
		e.saveInt(x)
	case int32:
		e.saveInt(int64(x))
	case int16:
		e.saveInt(int64(x))
	case int8:
		e.saveInt(int64(x))
	case uint8:
		e.saveInt(int64(x))
	case uint16:
		e.saveInt(int64(x))
	case uint32:
		e.saveInt(int64(x))
	case uint:
		e.saveUint(uint64(x))
	case uint64:
		e.saveUint(x)
	case uintptr:
		e.saveUint(uint64(x))
	case float64:
		e.saveFloat(x)
	case float32:
		e.saveFloat(float64(x))
	case string:
		return true, e.saveStr(x, false)
	case []byte:
		return true, e.saveBytes(x)
	case []any:
		return true, e.saveAnyList(x)
	case map[string]any:
		return true, e.saveStrMap(x)
	case map[string]float64:
		return true, saveStrMapOf(e, x, putFloat)
	case map[string]string:
		return true, saveStrMapOf(e, x, putStr)
	case map[string]int64:
		return true, saveStrMapOf(e, x, putInt64)
	case map[string]int:
		return true, saveStrMapOf(e, x, putInt)
	case map[string]bool:
		return true, saveStrMapOf(e, x, putBool)
	case py.Tuple:
		return true, e.saveTuple(x)
	case *py.Dict:
		if x == nil {
			e.Byte(op.None)
			return true, nil
		}
		return true, e.saveDict(x)
	case []int:
		return true, saveSlice(e, x, intsTypeID, saveIntItem)
	case []int64:
		return true, saveSlice(e, x, int64sTypeID, saveInt64Item)
	case []float64:
		return true, saveSlice(e, x, floatsTypeID, saveFloatItem)
	case []string:
		return true, saveSlice(e, x, stringsTypeID, saveStrElem)
	case *big.Int:
		if x == nil {
			e.Byte(op.None)
			return true, nil
		}
		return true, e.saveBig(x)
	case *py.Set:
		if x == nil {
			e.Byte(op.None)
			return true, nil
		}
		return true, e.saveSet(x, false)
	case *py.FrozenSet:
		if x == nil {
			e.Byte(op.None)
			return true, nil
		}
		return true, e.saveSet(&x.Set, true)
	case *py.Call:
		if x == nil {
			e.Byte(op.None)
			return true, nil
		}
		return true, e.saveCall(x, memoKey{p: unsafe.Pointer(x)})
	case *py.Object:
		if x == nil {
			e.Byte(op.None)
			return true, nil
		}
		return true, e.saveObject(x, memoKey{p: unsafe.Pointer(x)})
	case *py.PickleBuffer:
		if x == nil {
			e.Byte(op.None)
			return true, nil
		}
		return true, e.savePickleBuffer(*x)
	default:
		return e.saveModel(v)
	}
	return true, nil
}

// saveModel is the rest of saveKnown: the value types (structs and
// numbers beyond the common ones), apart so that saveKnown's frame, on the
// path of every nesting level, stays small.
func (e *encoder) saveModel(v any) (handled bool, err error) {
	switch x := v.(type) {
	case big.Int:
		return true, e.saveBig(&x)
	case complex128:
		return true, e.saveComplex(x)
	case complex64:
		return true, e.saveComplex(complex128(x))
	case py.ByteArray:
		return true, e.saveByteArray(x)
	case py.ByteString:
		return true, e.saveByteString(x)
	case py.Global:
		return true, e.saveGlobal(x)
	case py.Call:
		return true, e.saveCall(&x, memoKey{})
	case py.Object:
		return true, e.saveObject(&x, memoKey{})
	case py.PersistentID:
		return true, e.savePersistent(x.ID)
	case py.PickleBuffer:
		return true, e.savePickleBuffer(x)
	case py.OutOfBand:
		return true, e.saveOutOfBand(x)
	case time.Time:
		return true, e.saveTime(x)
	case time.Duration:
		return true, e.saveDuration(x)
	default:
		return false, nil
	}
}

var knownCache sync.Map // reflect.Type → bool

// isKnown reports whether saveKnown handles values of type t, by asking it
// once per type with t's zero value, into a scratch encoder: the list of
// known types is saveKnown's switch and nothing else.
func isKnown(t reflect.Type) bool {
	if k, ok := knownCache.Load(t); ok {
		return k.(bool)
	}
	var l segments.List
	c := newConfig(nil)
	probe := new(encoder)
	probe.Writer.Reset(&l, c.proto, c.frameSize)
	probe.cfg, probe.proto = &c, c.proto
	known, _ := probe.saveKnown(reflect.Zero(t).Interface())
	l.Release()
	knownCache.Store(t, known)
	return known
}

func (e *encoder) enter() error {
	e.depth++
	if e.depth > e.cfg.maxDepth {
		return e.tooDeep()
	}
	return nil
}

// tooDeep is enter's error, apart so that enter is inlined.
func (e *encoder) tooDeep() error {
	return valueErr(ErrTooDeep, "nesting deeper than "+strconv.Itoa(e.cfg.maxDepth))
}

var marshalerType = reflect.TypeFor[Marshaler]()

// saveMarshaler writes what m.MarshalPickle returns in m's place.
func (e *encoder) saveMarshaler(m Marshaler, t reflect.Type) error {
	r, err := marshalFor(m, e.proto)
	if err != nil {
		return &UnsupportedValueError{Reason: "MarshalPickle: " + err.Error(), Err: errors.Join(ErrMarshaler, err)}
	}
	if _, again := r.(Marshaler); again && reflect.TypeOf(r) == t && returnsItself(r, m) {
		// Another value of its type is fine (a wrapper around a wrapper):
		// its nesting is counted as any other's.
		return valueErr(ErrMarshaler, "MarshalPickle returned itself")
	}
	if err := e.enter(); err != nil {
		return err
	}
	err = e.save(r)
	e.depth--
	return err
}

// returnsItself reports whether MarshalPickle returned its receiver m
// (equal, for a comparable type): writing it would only call it again.
func returnsItself(r any, m Marshaler) bool {
	return reflect.ValueOf(r).Comparable() && r == any(m)
}

// saveReflect encodes the Go types that saveKnown does not name: named
// types, structs, maps, pointers and slices of any element type.
func (e *encoder) saveReflect(v reflect.Value) error {
	e.Boundary() // as save (a second call, from save, finds nothing to do)
	if !v.IsValid() {
		e.Byte(op.None)
		return nil
	}
	t := v.Type()
	if t.Implements(marshalerType) {
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
			e.Byte(op.None)
			return nil
		}
		return e.saveMarshaler(v.Interface().(Marshaler), t)
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(marshalerType) {
		pv := reflect.New(t)
		pv.Elem().Set(v)
		return e.saveMarshaler(pv.Interface().(Marshaler), pv.Type())
	}
	if t.Name() != "" && t.PkgPath() != "" || t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		if isKnown(t) {
			_, err := e.saveKnown(v.Interface())
			return err
		}
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
			e.Byte(op.None)
			return nil
		}
		return e.save(v.Elem().Interface())
	case reflect.Pointer:
		if v.IsNil() {
			e.Byte(op.None)
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
			e.Byte(op.None)
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
			e.Byte(op.None)
			return nil
		}
		if e.inKey > 0 {
			return e.unhashable(t.String() + " (a dict)")
		}
		return e.saveGoMap(v)
	default:
		return &UnsupportedTypeError{Type: t}
	}
	return nil
}
