package unpickler

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/segpickle/segpickle/internal/structfields"
	"github.com/segpickle/segpickle/py"
)

// Unmarshaler is implemented by Go types that decode themselves from the
// dynamic value (see package py) that the pickle held.
type Unmarshaler interface {
	UnmarshalPickle(v any) error
}

// ErrNotPointer is returned when Unmarshal is not given a non-nil pointer.
var ErrNotPointer = errors.New("unpickler: Unmarshal needs a non-nil pointer")

var (
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
	durationType    = reflect.TypeFor[time.Duration]()
	bigIntType      = reflect.TypeFor[big.Int]()
	bigFloatType    = reflect.TypeFor[big.Float]()
	bigRatType      = reflect.TypeFor[big.Rat]()
	tupleType       = reflect.TypeFor[py.Tuple]()
	byteArrayType   = reflect.TypeFor[py.ByteArray]()
	byteStringType  = reflect.TypeFor[py.ByteString]()
	decimalType     = reflect.TypeFor[Decimal]()
)

func assign(val any, v any, c *config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Err: ErrInternal, Detail: fmt.Sprintf("Unmarshal: %v", r)}
		}
	}()
	var plain *plainer
	if c.plainMaps {
		plain = newPlainer(c)
	}
	if p, ok := v.(*any); ok && p != nil {
		if plain != nil {
			val = plain.value(val)
		}
		*p = val
		return nil
	}
	if plain == nil {
		if ok, err := assignFast(val, v); ok {
			return err
		}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return ErrNotPointer
	}
	a := assigner{cfg: c, plain: plain}
	return a.assign(val, rv.Elem(), "", 0)
}

// under prefixes the path of a child's error as it unwinds, so that the
// success path builds no path strings.
func under(err error, elem string) error {
	if te, ok := err.(*UnmarshalTypeError); ok {
		te.Path = elem + te.Path
	}
	return err
}

type assigner struct {
	cfg *config
	// shared holds the Go slices and maps made from lists, tuples and
	// dicts the pickle reaches more than once: reached again, the same Go
	// value is stored (Python shares them too), so a DAG of tuples decodes
	// in its own size, not in the size of its expansion.
	shared map[sharedKey]reflect.Value
	// plain converts the dicts of a value stored into an empty
	// interface (PlainMaps), one plainer for the whole Unmarshal.
	plain *plainer
}

type sharedKey struct {
	p unsafe.Pointer
	n int
	t reflect.Type
}

// sharedOf returns the identity of a list, tuple or dict value; ok is
// false for other values and empty ones.
func sharedOf(val any, t reflect.Type) (sharedKey, bool) {
	switch x := val.(type) {
	case []any:
		if len(x) > 0 {
			return sharedKey{unsafe.Pointer(&x[0]), len(x), t}, true
		}
	case py.Tuple:
		if len(x) > 0 {
			return sharedKey{unsafe.Pointer(&x[0]), len(x), t}, true
		}
	case *py.Dict:
		return sharedKey{unsafe.Pointer(x), 0, t}, true
	}
	return sharedKey{}, false
}

func (a *assigner) typeErr(val any, t reflect.Type, path string) error {
	return &UnmarshalTypeError{Value: typeName(val), Type: t.String(), Path: path}
}

// rangeErr is typeErr for a number that does not fit: it names the value
// ("int 300"), as encoding/json's "number 300".
func (a *assigner) rangeErr(val any, t reflect.Type, path string) error {
	return &UnmarshalTypeError{Value: valueText(val), Type: t.String(), Path: path}
}

// valueText is the Python type of val and, for a number, the number.
func valueText(val any) string {
	var s string
	switch x := val.(type) {
	case int64:
		s = strconv.FormatInt(x, 10)
	case *big.Int:
		s = x.String()
		if len(s) > 40 {
			s = s[:20] + "…" + s[len(s)-8:] + " (" + strconv.Itoa(len(s)) + " characters)"
		}
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return typeName(val)
	}
	return typeName(val) + " " + s
}

func (a *assigner) assign(val any, dst reflect.Value, path string, depth int) error {
	if depth > a.cfg.maxDepth {
		return &Error{Err: ErrLimit, Detail: "nesting too deep for Unmarshal at " + path}
	}
	t := dst.Type()
	if dst.CanAddr() && t.Kind() != reflect.Pointer && isUnmarshaler(t) {
		return dst.Addr().Interface().(Unmarshaler).UnmarshalPickle(val)
	}
	if t.Kind() == reflect.Interface {
		if val == nil {
			dst.SetZero()
			return nil
		}
		if a.plain != nil && t.NumMethod() == 0 {
			val = a.plain.value(val)
		}
		rv := reflect.ValueOf(val)
		if !rv.Type().AssignableTo(t) {
			return a.typeErr(val, t, path)
		}
		dst.Set(rv)
		return nil
	}
	if t.Kind() == reflect.Pointer {
		if val == nil {
			dst.SetZero()
			return nil
		}
		if dst.IsNil() {
			dst.Set(reflect.New(t.Elem()))
		}
		return a.assign(val, dst.Elem(), path, depth+1)
	}
	// Registered classes become plain values first (a few rounds: e.g.
	// copyreg._reconstructor yields an object of another registered class).
	for range 4 {
		switch val.(type) {
		case *py.Call, *py.Object:
		default:
			goto plain
		}
		out, ok, err := construct(a.cfg.registry, val)
		if err != nil {
			return &UnmarshalTypeError{Value: err.Error(), Type: t.String(), Path: path}
		}
		if !ok {
			break
		}
		val = out
		if done, err := assignSelf(val, dst, path); done { // see hooks.go
			return err
		}
	}
plain:
	if val == nil {
		dst.SetZero() // None leaves the zero value, as JSON null does
		return nil
	}
	if k := t.Kind(); k != reflect.Slice && k != reflect.Map {
		// Same type: store as is (string, int64, time.Time, …). A cheap
		// comparison of type words, not reflect's assignability rules.
		if vt := reflect.TypeOf(val); vt == t {
			dst.Set(reflect.ValueOf(val))
			return nil
		}
	}
	switch t {
	case timeType:
		if tm, ok := val.(time.Time); ok {
			dst.Set(reflect.ValueOf(tm))
			return nil
		}
		return a.typeErr(val, t, path)
	case bigIntType:
		if b, ok := toBig(val); ok {
			dst.Set(reflect.ValueOf(*new(big.Int).Set(b)))
			return nil
		}
		return a.typeErr(val, t, path)
	case bigFloatType:
		var f big.Float
		switch x := val.(type) {
		case float64:
			f.SetFloat64(x)
		case int64:
			f.SetInt64(x)
		case *big.Int:
			f.SetInt(x)
		case Decimal:
			if _, ok := f.SetString(string(x)); !ok {
				return a.typeErr(val, t, path)
			}
		default:
			return a.typeErr(val, t, path)
		}
		dst.Set(reflect.ValueOf(f))
		return nil
	case bigRatType:
		if r, ok := val.(*big.Rat); ok {
			dst.Set(reflect.ValueOf(*new(big.Rat).Set(r)))
			return nil
		}
		if b, ok := toBig(val); ok {
			dst.Set(reflect.ValueOf(*new(big.Rat).SetInt(b)))
			return nil
		}
		return a.typeErr(val, t, path)
	}
	switch t.Kind() {
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			return a.typeErr(val, t, path)
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if d, ok := val.(time.Duration); ok && t == durationType {
			dst.SetInt(int64(d))
			return nil
		}
		i, ok := val.(int64)
		if !ok {
			if _, isBig := val.(*big.Int); !isBig {
				return a.typeErr(val, t, path)
			}
			return a.rangeErr(val, t, path)
		}
		if dst.OverflowInt(i) {
			return a.rangeErr(val, t, path)
		}
		dst.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		switch x := val.(type) {
		case int64:
			if x < 0 {
				return a.rangeErr(val, t, path)
			}
			u = uint64(x)
		case *big.Int:
			if x.Sign() < 0 || !x.IsUint64() {
				return a.rangeErr(val, t, path)
			}
			u = x.Uint64()
		default:
			return a.typeErr(val, t, path)
		}
		if dst.OverflowUint(u) {
			return a.rangeErr(val, t, path)
		}
		dst.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := val.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		case *big.Int:
			f, _ = new(big.Float).SetInt(x).Float64()
		case Decimal:
			p, err := strconv.ParseFloat(string(x), 64)
			if err != nil && !strings.Contains(err.Error(), "range") {
				if f, ok := parseFloat(strings.ToLower(string(x))); ok {
					p = f
				} else {
					return a.typeErr(val, t, path)
				}
			}
			f = p
		case *big.Rat:
			f, _ = x.Float64()
		default:
			return a.typeErr(val, t, path)
		}
		if t.Kind() == reflect.Float32 && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
			return a.rangeErr(val, t, path)
		}
		dst.SetFloat(f)
	case reflect.Complex64, reflect.Complex128:
		switch x := val.(type) {
		case complex128:
			dst.SetComplex(x)
		case float64:
			dst.SetComplex(complex(x, 0))
		case int64:
			dst.SetComplex(complex(float64(x), 0))
		default:
			return a.typeErr(val, t, path)
		}
	case reflect.String:
		switch x := val.(type) {
		case string:
			dst.SetString(x)
		case Decimal:
			dst.SetString(string(x))
		case py.ByteString:
			s, err := a.py2str(x)
			if err != nil {
				return &UnmarshalTypeError{Value: "str (Python 2): " + err.Error(), Type: t.String(), Path: path}
			}
			dst.SetString(s)
		case [16]byte: // uuid.UUID
			dst.SetString(uuidString(x))
		default:
			return a.typeErr(val, t, path)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(unmarshalerType) {
			var b []byte
			switch x := val.(type) {
			case []byte:
				b = x
			case py.ByteArray:
				b = x
			case py.ByteString:
				b = x
			case py.PickleBuffer:
				b = x.Data
			case [16]byte:
				b = x[:]
			default:
				if _, ok := val.([]any); !ok {
					return a.typeErr(val, t, path)
				}
			}
			if b != nil || val == nil {
				nb := reflect.MakeSlice(t, len(b), len(b))
				reflect.Copy(nb, reflect.ValueOf(b))
				dst.Set(nb)
				return nil
			}
		}
		items, ok := seqItems(val)
		if !ok {
			return a.typeErr(val, t, path)
		}
		sk, canShare := sharedOf(val, t)
		if canShare {
			if s, ok := a.shared[sk]; ok {
				dst.Set(s)
				return nil
			}
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		if canShare {
			if a.shared == nil {
				a.shared = make(map[sharedKey]reflect.Value)
			}
			a.shared[sk] = s // before the items: a list inside itself stays finite
		}
		for i, it := range items {
			if err := a.assign(it, s.Index(i), "", depth+1); err != nil {
				return under(err, path+"["+strconv.Itoa(i)+"]")
			}
		}
		dst.Set(s)
	case reflect.Array:
		if u, ok := val.([16]byte); ok && t.Len() == 16 && t.Elem().Kind() == reflect.Uint8 {
			reflect.Copy(dst, reflect.ValueOf(u[:]))
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			if b, ok := val.([]byte); ok {
				if len(b) != t.Len() {
					return a.typeErr(val, t, path)
				}
				reflect.Copy(dst, reflect.ValueOf(b))
				return nil
			}
		}
		items, ok := seqItems(val)
		if !ok || len(items) > t.Len() {
			return a.typeErr(val, t, path)
		}
		for i, it := range items {
			if err := a.assign(it, dst.Index(i), "", depth+1); err != nil {
				return under(err, path+"["+strconv.Itoa(i)+"]")
			}
		}
	case reflect.Map:
		d := dictOf(val)
		if d == nil {
			if s, ok := val.(*py.Set); ok && t.Elem().Kind() == reflect.Struct && t.Elem().NumField() == 0 {
				return a.setToMap(s.Items(), dst, path, depth)
			}
			return a.typeErr(val, t, path)
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(t, d.Len()))
		}
		for _, it := range d.Items() {
			k := reflect.New(t.Key()).Elem()
			key, err := a.mapKey(it.Key, t, path)
			if err != nil {
				return err
			}
			if err := a.assign(key, k, "", depth+1); err != nil {
				return under(err, path+"["+keyText(it.Key)+"]")
			}
			if !k.Comparable() {
				return a.typeErr(it.Key, t.Key(), path+"["+keyText(it.Key)+"]")
			}
			v := reflect.New(t.Elem()).Elem()
			if err := a.assign(it.Value, v, "", depth+1); err != nil {
				return under(err, path+"["+keyText(it.Key)+"]")
			}
			dst.SetMapIndex(k, v)
		}
	case reflect.Struct:
		if items, ok := seqItems(val); ok {
			// A tuple or list fills the fields in order.
			fields := visibleFields(t)
			if len(items) > len(fields) {
				return a.typeErr(val, t, path)
			}
			for i, it := range items {
				f := fields[i]
				if err := a.assign(it, dst.FieldByIndex(f.index), "", depth+1); err != nil {
					return under(err, path+"."+f.goName)
				}
			}
			return nil
		}
		d := dictOf(val)
		if d == nil {
			return a.typeErr(val, t, path)
		}
		fields := visibleFields(t)
		for _, it := range d.Items() {
			k, ok, err := a.strKey(it.Key, t, path)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			f := findField(fields, k)
			if f == nil {
				continue
			}
			fv, err := fieldByIndexAlloc(dst, f.index)
			if err != nil {
				return err
			}
			if err := a.assign(it.Value, fv, "", depth+1); err != nil {
				return under(err, path+"."+f.goName)
			}
		}
	default:
		if rv := reflect.ValueOf(val); rv.Type().AssignableTo(t) {
			dst.Set(rv)
			return nil
		}
		return a.typeErr(val, t, path)
	}
	return nil
}

var unmarshalers sync.Map // reflect.Type → bool

// isUnmarshaler reports whether *t implements Unmarshaler, cached: the
// question comes for every value decoded.
func isUnmarshaler(t reflect.Type) bool {
	if v, ok := unmarshalers.Load(t); ok {
		return v.(bool)
	}
	is := reflect.PointerTo(t).Implements(unmarshalerType)
	unmarshalers.Store(t, is)
	return is
}

func (a *assigner) setToMap(items []any, dst reflect.Value, path string, depth int) error {
	t := dst.Type()
	if dst.IsNil() {
		dst.Set(reflect.MakeMapWithSize(t, len(items)))
	}
	for _, it := range items {
		k := reflect.New(t.Key()).Elem()
		if err := a.assign(it, k, "", depth+1); err != nil {
			return under(err, path+"{}")
		}
		dst.SetMapIndex(k, reflect.New(t.Elem()).Elem())
	}
	return nil
}

func (a *assigner) py2str(b py.ByteString) (string, error) { return py2Str(a.cfg.encoding, b) }

// seqItems returns the items of a list, tuple, set or frozenset.
func seqItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case py.Tuple:
		return x, true
	case *py.Set:
		return x.Items(), true
	case *py.FrozenSet:
		return x.Items(), true
	}
	return nil, false
}

// dictOf returns a dict, or an instance's attribute dict: the state of an
// Object or Call (a dict, or the first of a (dict, slots) pair, merged).
func dictOf(v any) *py.Dict {
	switch x := v.(type) {
	case *py.Dict:
		return x
	case *py.Object:
		return stateDict(x.State)
	case *py.Call:
		return stateDict(x.State)
	}
	return nil
}

func stateDict(s any) *py.Dict {
	switch st := s.(type) {
	case *py.Dict:
		return st
	case py.Tuple:
		if len(st) == 2 {
			d := py.NewDict(0)
			for _, part := range st {
				if pd, ok := part.(*py.Dict); ok {
					for _, it := range pd.Items() {
						d.Set(it.Key, it.Value)
					}
				}
			}
			return d
		}
	}
	return nil
}

func keyText(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return typeName(k)
}

func uuidString(u [16]byte) string {
	const hex = "0123456789abcdef"
	var b []byte
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&15])
	}
	return string(b)
}

type fieldInfo struct {
	name   string // pickle name
	goName string
	index  []int
}

var fieldCache sync.Map

// visibleFields lists a struct's fields as pickle dicts see them, by the
// one resolver the pickler uses too (internal/structfields: tags, `-`,
// embedded structs promoted with encoding/json's dominance rules).
func visibleFields(t reflect.Type) []fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]fieldInfo)
	}
	list := structfields.Of(t).List
	out := make([]fieldInfo, len(list))
	for i, f := range list {
		out[i] = fieldInfo{name: f.Name, goName: f.GoName, index: f.Index}
	}
	fieldCache.Store(t, out)
	return out
}

func findField(fields []fieldInfo, key string) *fieldInfo {
	for i := range fields {
		if fields[i].name == key {
			return &fields[i]
		}
	}
	for i := range fields {
		if strings.EqualFold(fields[i].name, key) {
			return &fields[i]
		}
	}
	return nil
}

// fieldByIndexAlloc is FieldByIndex that allocates nil embedded pointers.
func fieldByIndexAlloc(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, errors.New("unpickler: cannot set embedded pointer to unexported struct")
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

// assignFast handles the common targets without reflection. ok is false
// when v is not one of them, or val is not the plain shape they take (then
// the general path runs and reports errors with their paths).
func assignFast(val any, v any) (ok bool, err error) {
	switch p := v.(type) {
	case *[]int64:
		return fillSlice(val, p, func(x any) (int64, bool) { i, ok := x.(int64); return i, ok })
	case *[]int:
		return fillSlice(val, p, func(x any) (int, bool) { i, ok := x.(int64); return int(i), ok })
	case *[]float64:
		return fillSlice(val, p, func(x any) (float64, bool) {
			switch f := x.(type) {
			case float64:
				return f, true
			case int64:
				return float64(f), true
			}
			return 0, false
		})
	case *[]string:
		return fillSlice(val, p, func(x any) (string, bool) { s, ok := x.(string); return s, ok })
	case *[]byte:
		// Decoded bytes are already a private copy (or, with ZeroCopy, an
		// alias the caller asked for): no second copy.
		if b, isBytes := val.([]byte); isBytes && p != nil {
			*p = b
			return true, nil
		}
	case *[]any:
		if l, isList := val.([]any); isList && p != nil {
			*p = l
			return true, nil
		}
	case *map[string]float64:
		return fillMap(val, p, func(x any) (float64, bool) {
			switch f := x.(type) {
			case float64:
				return f, true
			case int64:
				return float64(f), true
			}
			return 0, false
		})
	case *map[string]int64:
		return fillMap(val, p, func(x any) (int64, bool) { i, ok := x.(int64); return i, ok })
	case *map[string]string:
		return fillMap(val, p, func(x any) (string, bool) { s, ok := x.(string); return s, ok })
	case *map[string]any:
		return fillMap(val, p, func(x any) (any, bool) { return x, true })
	}
	return false, nil
}

func fillSlice[T any](val any, p *[]T, conv func(any) (T, bool)) (bool, error) {
	l, isList := val.([]any)
	if !isList || p == nil {
		return false, nil
	}
	out := make([]T, len(l))
	for i, x := range l {
		t, ok := conv(x)
		if !ok {
			return false, nil // the general path reports it with its path
		}
		out[i] = t
	}
	*p = out
	return true, nil
}

func fillMap[T any](val any, p *map[string]T, conv func(any) (T, bool)) (bool, error) {
	d, isDict := val.(*py.Dict)
	if !isDict || p == nil {
		return false, nil
	}
	m := *p
	if m == nil {
		m = make(map[string]T, d.Len())
	}
	for _, it := range d.Items() {
		k, ok1 := it.Key.(string)
		t, ok2 := conv(it.Value)
		if !ok1 || !ok2 {
			return false, nil
		}
		m[k] = t
	}
	*p = m
	return true, nil
}
