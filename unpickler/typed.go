// Direct typed decoding: when Unmarshal's target is a concrete Go type,
// lists, dicts and their scalars are written into the target while the
// pickle is read, with no dynamic value in between.
//
// How: a list or dict whose destination is known when it is created (the
// root, or a slot of a typed container below the top MARK) becomes a
// frame, a *tframe on the stack. A scalar pushed into a frame's slot is
// written there at once and leaves a marker (written{}) on the stack, so
// the stack keeps its shape for the opcodes that close the batch (APPENDS,
// SETITEMS). Anything else is built dynamically and assigned into its slot
// when the batch closes (or, when it may still change through the memo, at
// STOP). Whatever the target cannot express the way the pickle says it —
// a marker or frame consumed by another opcode, a frame changed after it
// was stored, a frame stored inside itself — makes the whole decode start
// again on the dynamic path (errFallback), which reports errors the same
// way for both.

package unpickler

import (
	"errors"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// typedFallbacks counts typed decodes that started again on the dynamic
// path (tests check that the common shapes never do).
var typedFallbacks atomic.Int64

// errFallback asks Unmarshal to decode again on the dynamic path.
var errFallback = errors.New("unpickler: typed path gives way to the dynamic path")

// written marks a stack slot whose value went straight into its frame.
type written struct{}

var markW any = written{}

// Fast element kinds: stored with a typed store, no reflection.
const (
	kOther uint8 = iota
	kInt64
	kInt
	kFloat64
	kString
	kBool
)

func fastKind(t reflect.Type) uint8 {
	if t.PkgPath() != "" && t.Kind() != reflect.Interface {
		// Named types (time.Duration, enums) may have their own rules or
		// an UnmarshalPickle method: the general path decides.
		return kOther
	}
	switch t.Kind() {
	case reflect.Int64:
		return kInt64
	case reflect.Int:
		return kInt
	case reflect.Float64:
		return kFloat64
	case reflect.String:
		return kString
	case reflect.Bool:
		return kBool
	}
	return kOther
}

const (
	fList uint8 = iota + 1
	fMap
	fStruct
)

// tframe is a list or dict being written straight into its Go value.
type tframe struct {
	// Laid out small (128 bytes): a decode makes one per list, dict and
	// struct, and they live as long as the memo.
	kind uint8
	ek   uint8 // list: fastKind of et
	// list of structs: dicts that inlineStruct gave back in a row (it
	// stops trying at maxInlineFails)
	fails uint8
	open  bool // that push is still on the stack: it may get items
	used  bool // stored into a slot at least once
	t     reflect.Type
	pos   int // stack index of its first push

	// list: a slice of elem type et, n items committed, room for cap
	et    reflect.Type
	esize uintptr
	data  unsafe.Pointer // list: the slice's array; struct: its storage when not in place
	cap   int
	n     int
	start int64 // input offset at creation, to size the slice

	mp *tmap // map

	// struct: in place in a parent's slot, or in its own storage (data)
	sd     *structDec // struct: its fields; list: its elements' when they are structs
	parent *tframe
	slot   int    // parent list slot, or parent struct field
	last   int    // field of the previous key, to predict the next
	seen   uint64 // fields set by a SETITEM(S) so far: a key given twice makes the decode give way; map: ≠ 0 once a value was deferred
}

// tmap is a map frame's map, apart so that the other frames are smaller.
type tmap struct {
	mv   reflect.Value
	fmap any // the map as one of the types written without reflection
}

type sliceHdr struct {
	data unsafe.Pointer
	len  int
	cap  int
}

// ptr is the address of a struct frame's storage.
func (f *tframe) ptr() unsafe.Pointer {
	if f.data != nil {
		return f.data // own storage
	}
	if f.parent.kind == fList {
		return f.parent.elemPtr(f.slot)
	}
	return unsafe.Add(f.parent.ptr(), f.parent.sd.fields[f.slot].offset)
}

// ptr of a list frame is its data; of a map frame, nil.
func (f *tframe) elemPtr(i int) unsafe.Pointer { return unsafe.Add(f.data, uintptr(i)*f.esize) }

type tfield struct {
	name   string
	box    any // name as an interface, pushed for a key without allocating
	index  []int
	offset uintptr
	typ    reflect.Type
	kind   uint8
	direct bool // one level deep, settable in place

	// an array of 1 to 3 ints or floats (fastTuple reads tuples into it):
	// its length (0 otherwise), element kind and size
	alen  int
	aek   uint8
	asize uintptr

	ik   uint8 // how inlineStruct reads it (inline.go); for ikSlice, aek and asize are the element's
	code int16 // its index in structDec.fields (a memo entry's code, inline.go)
}

type structDec struct {
	t      reflect.Type
	fields []tfield
}

var structDecs sync.Map // reflect.Type → *structDec

func structDecOf(t reflect.Type) *structDec {
	if d, ok := structDecs.Load(t); ok {
		return d.(*structDec)
	}
	d := &structDec{t: t}
	for _, fi := range visibleFields(t) {
		sf := t.FieldByIndex(fi.index)
		tf := tfield{name: fi.name, box: fi.name, index: fi.index, typ: sf.Type, kind: fastKind(sf.Type)}
		if len(fi.index) == 1 {
			tf.offset, tf.direct = sf.Offset, true
		}
		if t := sf.Type; t.Kind() == reflect.Array && t.Len() >= 1 && t.Len() <= 3 {
			if ek := fastKind(t.Elem()); ek == kInt64 || ek == kInt || ek == kFloat64 {
				tf.alen, tf.aek, tf.asize = t.Len(), ek, t.Elem().Size()
			}
		}
		if tf.direct && len(d.fields) < 1<<14 {
			tf.code = int16(len(d.fields))
			var ek uint8
			tf.ik, ek = inlineKind(sf.Type, tf.kind, tf.alen)
			if tf.ik == ikSlice {
				tf.aek, tf.asize = ek, sf.Type.Elem().Size()
			}
		}
		d.fields = append(d.fields, tf)
	}
	structDecs.Store(t, d)
	return d
}

// find returns the field named key (exactly, else case-insensitively, as
// the general path does), trying the one after the previous first.
func (f *tframe) find(key string) int {
	fs := f.sd.fields
	if i := f.last + 1; i < len(fs) && fs[i].name == key {
		f.last = i
		return i
	}
	for i := range fs {
		if fs[i].name == key {
			f.last = i
			return i
		}
	}
	for i := range fs {
		if strings.EqualFold(fs[i].name, key) {
			f.last = i
			return i
		}
	}
	return -1
}

// frameable reports whether a value of type t can be a frame: a slice
// (not of bytes), a map with str keys, or a plain struct — none with its
// own UnmarshalPickle or a registered special meaning.
func frameable(t reflect.Type) uint8 {
	if isUnmarshaler(t) || special(t) {
		return 0
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 || t == tupleType {
			return 0
		}
		return fList
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Key().PkgPath() == "" {
			return fMap
		}
	case reflect.Struct:
		if len(structDecOf(t).fields) > 64 {
			return 0 // more fields than tframe.seen tracks
		}
		for _, f := range structDecOf(t).fields {
			if !f.direct {
				return 0 // embedded structs: the general path allocates them
			}
		}
		return fStruct
	}
	return 0
}

func special(t reflect.Type) bool {
	switch t {
	case timeType, durationType, bigIntType, bigFloatType, bigRatType, tupleType, byteArrayType, byteStringType, decimalType:
		return true
	}
	return false
}

// dest is where the next value pushed goes: a frame and the slot's index
// (list: position after the committed items; map and struct: k is the
// item count above the mark, odd for a value). f is nil when unknown.
func (m *machine) dest() (f *tframe, k int) {
	if len(m.marks) == 0 {
		return nil, 0
	}
	p := m.marks[len(m.marks)-1]
	if p == 0 {
		return nil, 0
	}
	f, _ = m.stack[p-1].(*tframe)
	return f, len(m.stack) - p
}

// destType is the Go type of the next value's slot, or nil.
func (m *machine) destType() (reflect.Type, *tframe, int) {
	if len(m.stack) == 0 && len(m.marks) == 0 && !m.rootUsed {
		return m.rootT, nil, -1
	}
	f, k := m.dest()
	if f == nil || !f.open || f.used {
		return nil, nil, 0
	}
	switch f.kind {
	case fList:
		return f.et, f, k
	case fMap:
		if k%2 == 1 {
			return f.t.Elem(), f, k
		}
	case fStruct:
		if k%2 == 1 {
			if key, ok := m.stack[len(m.stack)-1].(string); ok {
				if i := f.find(key); i >= 0 {
					return f.sd.fields[i].typ, f, k
				}
			}
		}
	}
	return nil, nil, 0
}

func (m *machine) newFrame() *tframe {
	if len(m.frames) == 0 {
		// Sized from the input (a frame takes a few bytes of it): a small
		// pickle does not take 32 frames of about 150 bytes each.
		m.frames = make([]tframe, min(32, max(2, m.sizeHint()/8)))
	}
	f := &m.frames[0]
	m.frames = m.frames[1:]
	return f
}

// openFrame pushes a frame for an empty list (kind fList) or dict (fMap or
// fStruct) when its destination is known and takes it; false otherwise.
func (m *machine) openFrame(list bool) bool {
	t, pf, k := m.destType()
	if t == nil {
		return false
	}
	kind := m.frameKind(t)
	if kind == 0 || (kind == fList) != list {
		return false
	}
	f := m.newFrame()
	f.kind, f.t, f.pos, f.open = kind, t, len(m.stack), true
	switch kind {
	case fList:
		f.et = t.Elem()
		f.ek = fastKind(f.et)
		f.esize = f.et.Size()
		f.start = m.src.Offset()
		if f.et.Kind() == reflect.Struct && m.frameKind(f.et) == fStruct {
			f.sd = m.structDec(f.et)
		}
	case fMap:
		f.start = m.src.Offset()
		f.mp = &tmap{mv: reflect.MakeMap(t)}
		f.mp.fmap = f.mp.mv.Interface()
		switch f.mp.fmap.(type) {
		case map[string]float64, map[string]int64, map[string]int, map[string]string, map[string]bool, map[string]any:
		default:
			f.mp.fmap = nil
		}
	case fStruct:
		f.sd = m.structDec(t)
		f.last = -1
		switch {
		case pf == nil && k == -1:
			f.data = m.rootP // the root, in place
		case pf != nil && pf.kind == fList:
			if !m.growTo(pf, pf.n+k+1, m.src.Offset()) {
				return false
			}
			f.parent, f.slot = pf, pf.n+k
			// Clear what an abandoned push may have left in the slot.
			reflect.NewAt(pf.et, pf.elemPtr(f.slot)).Elem().SetZero()
		case pf != nil && pf.kind == fStruct:
			key := m.stack[len(m.stack)-1].(string)
			f.parent, f.slot = pf, pf.find(key)
		default:
			f.data = reflect.New(t).UnsafePointer()
		}
	}
	if pf == nil && k == -1 {
		m.rootUsed = true
	}
	m.stack = append(m.stack, f)
	return true
}

// growTo makes room for n items in a list frame. Once the items so far
// are a fair sample (512 of them, and 32 KiB of slice: more of small ones,
// whose pickled size drifts as ints and numbered strs grow), a growth
// sizes the slice from what the input says: the bytes the items so far
// took, against what is left.
func (m *machine) growTo(f *tframe, n int, at int64) bool {
	if n <= f.cap {
		return true
	}
	c := max(n, 2*f.cap, 4)
	if f.cap >= 512 && uintptr(f.cap)*f.esize >= 32<<10 {
		if a := m.src.Available(); a > 0 {
			a -= at - m.src.Offset() // bytes parsed in place, not yet consumed
			used := at - f.start
			if used > 0 && a > 0 {
				est := int64(f.cap) + a*int64(f.cap)/used + 16
				c = max(n, int(min(est, int64(2*f.cap)+a/2)))
			}
		}
	}
	if int64(c)*int64(f.esize) > m.cfg.maxAlloc {
		return false
	}
	var data unsafe.Pointer
	switch {
	case f.ek == kString && f.et == stringT:
		s := make([]string, c)
		copy(s, unsafe.Slice((*string)(f.data), f.cap))
		data = unsafe.Pointer(unsafe.SliceData(s))
	case (f.ek == kInt64 || f.ek == kInt || f.ek == kFloat64) && f.esize == 8:
		s := make([]uint64, c) // pointer-free 8-byte elements
		copy(s, unsafe.Slice((*uint64)(f.data), f.cap))
		data = unsafe.Pointer(unsafe.SliceData(s))
	default:
		nv := reflect.MakeSlice(reflect.SliceOf(f.et), c, c)
		if f.cap > 0 {
			old := reflect.NewAt(reflect.SliceOf(f.et), unsafe.Pointer(&sliceHdr{f.data, f.cap, f.cap})).Elem()
			reflect.Copy(nv, old)
		}
		data = nv.UnsafePointer()
	}
	f.data, f.cap = data, c
	return true
}

// directOK reports whether a scalar pushed now may go straight into f's
// slot k: f takes items, and for a map or struct k is a value's place.
func (f *tframe) directOK(k int) bool {
	return f.open && !f.used && (f.kind == fList || k%2 == 1)
}

// scalarSlot is the address and kind of the next value's slot when it is
// a fast kind; p is nil otherwise (maps: key holds the key).
func (m *machine) scalarSlot() (p unsafe.Pointer, kind uint8, f *tframe, key string) {
	f, k := m.dest()
	if f == nil || !f.directOK(k) {
		return nil, 0, nil, ""
	}
	switch f.kind {
	case fList:
		if f.ek == kOther || !m.growTo(f, f.n+k+1, m.src.Offset()) {
			return nil, 0, nil, ""
		}
		return f.elemPtr(f.n + k), f.ek, f, ""
	case fStruct:
		ks, ok := m.stack[len(m.stack)-1].(string)
		if !ok {
			return nil, 0, nil, ""
		}
		i := f.find(ks)
		if i < 0 || f.sd.fields[i].kind == kOther {
			return nil, 0, nil, ""
		}
		return unsafe.Add(f.ptr(), f.sd.fields[i].offset), f.sd.fields[i].kind, f, ""
	case fMap:
		if f.mp.fmap == nil {
			return nil, 0, nil, ""
		}
		ks, ok := m.stack[len(m.stack)-1].(string)
		if !ok {
			return nil, 0, nil, ""
		}
		return nil, kOther, f, ks
	}
	return nil, 0, nil, ""
}

// pushInt pushes a decoded int: into its slot when it has one. Not into a
// float slot when a memo opcode may follow: the memo must keep the int
// (readBack would give the float back).
func (m *machine) pushInt(v int64) {
	if m.typed {
		p, kind, f, key := m.scalarSlot()
		if (kind == kFloat64 || (kind == kOther && f != nil)) && m.memoMayFollow() {
			p, f = nil, nil
		}
		switch {
		case p != nil && kind == kInt64:
			*(*int64)(p) = v
			m.stack = append(m.stack, markW)
			return
		case p != nil && kind == kInt:
			*(*int)(p) = int(v)
			m.stack = append(m.stack, markW)
			return
		case p != nil && kind == kFloat64:
			*(*float64)(p) = float64(v)
			m.stack = append(m.stack, markW)
			return
		case f != nil && p == nil && kind == kOther:
			switch mp := f.mp.fmap.(type) {
			case map[string]int64:
				mp[key] = v
				m.stack = append(m.stack, markW)
				return
			case map[string]int:
				mp[key] = int(v)
				m.stack = append(m.stack, markW)
				return
			case map[string]float64:
				mp[key] = float64(v)
				m.stack = append(m.stack, markW)
				return
			}
		}
	}
	m.stack = append(m.stack, m.boxInt(v))
}

// memoMayFollow reports whether the next opcode may be a memo opcode (or
// a FRAME before one, or beyond the window).
func (m *machine) memoMayFollow() bool {
	w := m.src.Window()
	return len(w) == 0 || isMemoOp(w[0]) || w[0] == op.Frame
}

// pushFloat pushes a decoded float: into its slot when it has one.
func (m *machine) pushFloat(v float64) {
	if m.typed {
		p, kind, f, key := m.scalarSlot()
		if p != nil && kind == kFloat64 {
			*(*float64)(p) = v
			m.stack = append(m.stack, markW)
			return
		}
		if f != nil && p == nil {
			if mp, ok := f.mp.fmap.(map[string]float64); ok {
				mp[key] = v
				m.stack = append(m.stack, markW)
				return
			}
		}
	}
	m.stack = append(m.stack, m.boxFloat(v))
}

// pushStr pushes a decoded str: into its slot when it has one.
func (m *machine) pushStr(s string) {
	if m.typed && m.strInPlace(s) {
		return
	}
	m.stack = append(m.stack, m.boxString(s))
}

// strInPlace stores s into the next value's slot and pushes a marker;
// false when it has no str slot.
func (m *machine) strInPlace(s string) bool {
	p, kind, f, key := m.scalarSlot()
	if p != nil && kind == kString {
		*(*string)(p) = s
		m.stack = append(m.stack, markW)
		return true
	}
	if f != nil && p == nil {
		if mp, ok := f.mp.fmap.(map[string]string); ok {
			mp[key] = s
			m.stack = append(m.stack, markW)
			return true
		}
	}
	return false
}

// tupleInPlace is TUPLE1/2/3 of scalars whose slot is an array of as many
// ints, floats or strs (a Python tuple such as (x, y) into [2]int64): the
// items go straight into the array. False leaves the opcode to the
// general handler.
func (m *machine) tupleInPlace(n int) bool {
	if len(m.stack)-n < m.floor() || len(m.marks) == 0 {
		return false
	}
	p := m.marks[len(m.marks)-1]
	if p == 0 {
		return false
	}
	f, _ := m.stack[p-1].(*tframe)
	k := len(m.stack) - n - p // the tuple's place above the mark
	if f == nil || !f.directOK(k) {
		return false
	}
	var at unsafe.Pointer
	var t reflect.Type
	switch f.kind {
	case fList:
		if !m.growTo(f, f.n+k+1, m.src.Offset()) {
			return false
		}
		at, t = f.elemPtr(f.n+k), f.et
	case fStruct:
		ks, ok := m.stack[len(m.stack)-n-1].(string)
		if !ok {
			return false
		}
		i := f.find(ks)
		if i < 0 {
			return false
		}
		at, t = unsafe.Add(f.ptr(), f.sd.fields[i].offset), f.sd.fields[i].typ
	default:
		return false
	}
	if t.Kind() != reflect.Array || t.Len() != n {
		return false
	}
	ek := fastKind(t.Elem())
	items := m.stack[len(m.stack)-n:]
	for _, it := range items {
		switch it.(type) {
		case int64:
			if ek != kInt64 && ek != kInt && ek != kFloat64 {
				return false
			}
		case float64:
			if ek != kFloat64 {
				return false
			}
		case string:
			if ek != kString {
				return false
			}
		default:
			return false
		}
	}
	size := t.Elem().Size()
	for i, it := range items {
		e := unsafe.Add(at, uintptr(i)*size)
		switch x := it.(type) {
		case int64:
			switch ek {
			case kInt64:
				*(*int64)(e) = x
			case kInt:
				*(*int)(e) = int(x)
			default:
				*(*float64)(e) = float64(x)
			}
		case float64:
			*(*float64)(e) = x
		case string:
			*(*string)(e) = x
		}
	}
	m.stack = append(m.stack[:len(m.stack)-n], markW)
	return true
}

// pushBool pushes a decoded bool: into its slot when it has one.
func (m *machine) pushBool(v bool) {
	if m.typed {
		p, kind, f, key := m.scalarSlot()
		if p != nil && kind == kBool {
			*(*bool)(p) = v
			m.stack = append(m.stack, markW)
			return
		}
		if f != nil && p == nil {
			if mp, ok := f.mp.fmap.(map[string]bool); ok {
				mp[key] = v
				m.stack = append(m.stack, markW)
				return
			}
		}
	}
	m.stack = append(m.stack, v)
}

// tpush pushes a dynamic value (a memo fetch, None, a built tuple) in
// typed mode: a scalar of its slot's kind goes straight in.
func (m *machine) tpush(v any) {
	switch x := v.(type) {
	case int64:
		m.pushInt(x)
		return
	case float64:
		m.pushFloat(x)
		return
	case string:
		if !m.strInPlace(x) {
			m.stack = append(m.stack, v) // already boxed
		}
		return
	case bool:
		m.pushBool(x)
		return
	}
	m.stack = append(m.stack, v)
}

// readBack returns, as a dynamic value, what a marker at the top of the
// stack stands for (for PUT/MEMOIZE).
func (m *machine) readBack() (any, error) {
	f, k := m.dest()
	if f == nil {
		return nil, errFallback
	}
	k-- // the marker itself is the top item
	var p unsafe.Pointer
	var t reflect.Type
	switch f.kind {
	case fList:
		p, t = f.elemPtr(f.n+k), f.et
	case fStruct:
		ks, _ := m.stack[len(m.stack)-2].(string)
		i := f.find(ks)
		if i < 0 {
			return nil, errFallback
		}
		p, t = unsafe.Add(f.ptr(), f.sd.fields[i].offset), f.sd.fields[i].typ
	case fMap:
		ks, _ := m.stack[len(m.stack)-2].(string)
		v := f.mp.mv.MapIndex(reflect.ValueOf(ks))
		if !v.IsValid() {
			return nil, errFallback
		}
		return dynOf(v.Interface()), nil
	}
	switch fastKind(t) {
	case kInt64:
		return m.boxInt(*(*int64)(p)), nil
	case kInt:
		return m.boxInt(int64(*(*int)(p))), nil
	case kFloat64:
		return m.boxFloat(*(*float64)(p)), nil
	case kString:
		return m.boxString(*(*string)(p)), nil
	case kBool:
		return *(*bool)(p), nil
	}
	if t.Kind() == reflect.Array && fastKind(t.Elem()) != kOther {
		// A tuple stored by tupleInPlace: the memo keeps where the array
		// is (in a slab, no allocation each); a GET makes the tuple.
		return boxIn(&m.arrs, arrRef{p: p, t: t}, arrRefType), nil
	}
	return nil, errFallback
}

// arrRef is a memo entry for a tuple stored in place in an array.
type arrRef struct {
	p unsafe.Pointer
	t reflect.Type
}

var arrRefType = typeOf(arrRef{})

// memoRef is what a memoized arrRef stands for when a GET reads it: the
// tuple of an array, or a closed frame over a struct or slice read in
// line (inline.go), stored again by copy as a frame is; ok is false for
// other values.
func (m *machine) memoRef(v any) (any, bool) {
	r, ok := v.(arrRef)
	if !ok {
		return nil, false
	}
	switch r.t.Kind() {
	case reflect.Struct:
		f := m.newFrame()
		f.kind, f.t, f.used, f.pos = fStruct, r.t, true, -1
		f.sd, f.data, f.last = m.structDec(r.t), r.p, -1
		return f, true
	case reflect.Slice:
		h := *(*sliceHdr)(r.p)
		f := m.newFrame()
		f.kind, f.t, f.used, f.pos = fList, r.t, true, -1
		f.et = r.t.Elem()
		f.ek, f.esize = fastKind(f.et), f.et.Size()
		f.data, f.n, f.cap = h.data, h.len, h.cap
		if h.len == 0 {
			f.data, f.cap = nil, 0
		}
		return f, true
	}
	av := reflect.NewAt(r.t, r.p).Elem()
	tu := make(py.Tuple, av.Len())
	for i := range tu {
		tu[i] = dynOf(av.Index(i).Interface())
	}
	return tu, true
}

func dynOf(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	}
	return v
}

// pend is a dynamic value to assign into a slot at STOP, when the lists
// it may hold are final.
type pend struct {
	val  any
	f    *tframe
	slot int    // list slot or struct field
	key  string // map key
}

// settle stores item it (a marker, a frame or a dynamic value) into slot
// of frame f (list: index; struct: field; map: key).
func (m *machine) settle(f *tframe, it any, at, slot int, key string) error {
	switch x := it.(type) {
	case written:
		return nil
	case *tframe:
		return m.storeFrame(x, at, f, slot, key)
	}
	if needsDefer(it) {
		if f != nil && f.kind == fMap {
			// The key in the map now (a zero value till STOP), so that a
			// later value for it is seen (typedSetItems): the deferred
			// one must not overwrite it at STOP.
			f.mp.mv.SetMapIndex(reflect.ValueOf(key).Convert(f.t.Key()), reflect.Zero(f.t.Elem()))
			f.seen = 1
		}
		m.pends = append(m.pends, pend{val: it, f: f, slot: slot, key: key})
		return nil
	}
	return m.assignSlot(f, slot, key, it)
}

// needsDefer reports whether v may still change (a list box, or a
// container that may hold one).
func needsDefer(v any) bool {
	switch x := v.(type) {
	case nil, int64, float64, string, bool, []byte, *big.Int, py.ByteString, py.Global:
		return false
	case py.Tuple:
		for _, e := range x {
			switch e.(type) {
			case nil, int64, float64, string, bool, []byte, *big.Int:
			default:
				return true
			}
		}
		return false
	}
	return true
}

// slotValue is the reflect view of a frame's slot (not for maps).
func slotValue(f *tframe, slot int) reflect.Value {
	switch f.kind {
	case fList:
		return reflect.NewAt(f.et, f.elemPtr(slot)).Elem()
	default: // fStruct
		fd := &f.sd.fields[slot]
		return reflect.NewAt(fd.typ, unsafe.Add(f.ptr(), fd.offset)).Elem()
	}
}

func (m *machine) assignSlot(f *tframe, slot int, key string, v any) error {
	a := assigner{cfg: m.cfg}
	if f.kind == fMap {
		ev := reflect.New(f.t.Elem()).Elem()
		if err := a.assign(v, ev, "", 1); err != nil {
			return errFallback
		}
		f.mp.mv.SetMapIndex(reflect.ValueOf(key).Convert(f.t.Key()), ev)
		return nil
	}
	if err := a.assign(v, slotValue(f, slot), "", 1); err != nil {
		return errFallback
	}
	return nil
}

// storeFrame stores frame x, found at stack index at, into slot of f (or
// the root when f is nil).
func (m *machine) storeFrame(x *tframe, at int, f *tframe, slot int, key string) error {
	if x.open {
		if at != x.pos {
			return errFallback // a frame stored while it may still grow
		}
		x.open = false
	}
	x.used = true
	var dt reflect.Type
	var p unsafe.Pointer
	switch {
	case f == nil:
		dt, p = m.rootT, m.rootP
	case f.kind == fList:
		dt, p = f.et, f.elemPtr(slot)
	case f.kind == fStruct:
		fd := &f.sd.fields[slot]
		dt, p = fd.typ, unsafe.Add(f.ptr(), fd.offset)
	case f.kind == fMap:
		if x.t != f.t.Elem() {
			return errFallback
		}
		f.mp.mv.SetMapIndex(reflect.ValueOf(key).Convert(f.t.Key()), x.value())
		return nil
	}
	if dt != x.t {
		return errFallback
	}
	switch x.kind {
	case fList:
		*(*sliceHdr)(p) = sliceHdr{x.data, x.n, x.cap}
		if x.data == nil {
			*(*sliceHdr)(p) = sliceHdr{unsafe.Pointer(&zeroByte), 0, 0} // [] is not None
		}
	case fMap:
		reflect.NewAt(dt, p).Elem().Set(x.mp.mv)
	case fStruct:
		if src := x.ptr(); src != p {
			reflect.NewAt(dt, p).Elem().Set(reflect.NewAt(dt, src).Elem())
		}
	}
	return nil
}

var zeroByte byte

var stringT = reflect.TypeFor[string]()

func (x *tframe) value() reflect.Value {
	switch x.kind {
	case fList:
		h := sliceHdr{x.data, x.n, x.cap}
		if h.data == nil {
			h.data = unsafe.Pointer(&zeroByte)
		}
		return reflect.NewAt(x.t, unsafe.Pointer(&h)).Elem()
	case fMap:
		return x.mp.mv
	}
	return reflect.NewAt(x.t, x.ptr()).Elem()
}

// typedAppend is APPEND(S) onto a list frame.
func (m *machine) typedAppend(f *tframe, items []any, at int) error {
	if f.kind != fList || !f.open || f.used {
		return errFallback
	}
	if !m.growTo(f, f.n+len(items), m.src.Offset()) {
		return errFallback
	}
	for k, it := range items {
		if err := m.settle(f, it, at+k, f.n+k, ""); err != nil {
			return err
		}
	}
	f.n += len(items)
	return nil
}

// typedSetItems is SETITEM(S) onto a map or struct frame.
func (m *machine) typedSetItems(f *tframe, items []any, at int) error {
	if f.kind == fList || !f.open || f.used {
		return errFallback
	}
	for i := 0; i < len(items); i += 2 {
		key, ok := items[i].(string)
		if !ok {
			return errFallback
		}
		v := items[i+1]
		if f.kind == fMap {
			if f.seen != 0 && f.mp.mv.MapIndex(reflect.ValueOf(key).Convert(f.t.Key())).IsValid() {
				return errFallback // a key given again after a deferred value for it
			}
			if _, w := v.(written); w {
				continue // stored already
			}
			if err := m.settle(f, v, at+i+1, 0, key); err != nil {
				return err
			}
			continue
		}
		fi := f.find(key)
		if fi >= 0 {
			// A field set twice: the second value may have to replace
			// one stored in place or deferred; the general path does.
			if f.seen&(1<<fi) != 0 {
				return errFallback
			}
			f.seen |= 1 << fi
		}
		if _, w := v.(written); w {
			continue // stored already (a struct's field found by its key)
		}
		if fi < 0 {
			if _, isFrame := v.(*tframe); isFrame {
				return errFallback
			}
			continue // no such field: ignored, as the general path does
		}
		if err := m.settle(f, v, at+i+1, fi, ""); err != nil {
			return err
		}
	}
	return nil
}

// typedGuard reports whether opcode c, which the typed path does not
// handle itself, would consume a marker or a frame.
func (m *machine) typedGuard(c byte) bool {
	n := 0
	switch c {
	case op.Tuple, op.List, op.Dict, op.Frozenset, op.Inst, op.Obj, op.PopMark, op.Additems:
		n = len(m.stack) - m.floor()
	case op.Pop, op.Dup, op.Tuple1, op.Binpersid, op.ReadonlyBuffer:
		n = 1
	case op.Tuple2, op.Reduce, op.Newobj, op.StackGlobal, op.Build:
		n = 2
	case op.Tuple3, op.NewobjEx:
		n = 3
	}
	for _, v := range m.stack[max(0, len(m.stack)-n):] {
		switch v.(type) {
		case written, *tframe:
			return true
		}
	}
	return false
}

// finishTyped applies the deferred assignments and stores the result.
func (m *machine) finishTyped(result any) error {
	for _, p := range m.pends {
		if err := m.assignSlot(p.f, p.slot, p.key, resolve(p.val)); err != nil {
			return err
		}
	}
	switch x := result.(type) {
	case written:
		return errFallback
	case *tframe:
		return m.storeFrame(x, 0, nil, 0, "")
	}
	a := assigner{cfg: m.cfg}
	if err := a.assign(result, reflect.NewAt(m.rootT, m.rootP).Elem(), "", 0); err != nil {
		return errFallback
	}
	return nil
}

// unmarshalTyped decodes src into the value at rootP of type rootT on the
// typed path. errFallback (or any error) means: decode again dynamically.
func unmarshalTyped(m *machine, rootT reflect.Type, rootP unsafe.Pointer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errFallback
		}
	}()
	m.typed, m.rootT, m.rootP = true, rootT, rootP
	v, err := m.run()
	if err != nil {
		return err
	}
	return m.finishTyped(v)
}

func isTyped(v any) bool {
	switch v.(type) {
	case written, *tframe:
		return true
	}
	return false
}

func anyTyped(items []any) bool {
	for _, v := range items {
		if isTyped(v) {
			return true
		}
	}
	return false
}

// typedTarget reports whether v (Unmarshal's argument) takes the typed
// path: a non-nil pointer to a list, map or struct type that can be a
// frame. A non-nil map is left to the general path, which adds to it.
func typedTarget(v any) (reflect.Type, unsafe.Pointer, bool) {
	if _, isAny := v.(*any); isAny || v == nil {
		return nil, nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, nil, false
	}
	t := rv.Type().Elem()
	if frameable(t) == 0 || (t.Kind() == reflect.Map && !rv.Elem().IsNil()) {
		return nil, nil, false
	}
	return t, rv.UnsafePointer(), true
}

// typeCache remembers, per machine, the last few types frames were made
// for: a list of 10,000 structs asks about the same two types each time,
// and the shared caches (sync.Map) cost more than the answer.
type typeCache struct {
	t    [4]reflect.Type
	kind [4]uint8
	sd   [4]*structDec
	next int
}

func (m *machine) frameKind(t reflect.Type) uint8 {
	c := &m.tcache
	for i, ct := range c.t {
		if ct == t {
			return c.kind[i]
		}
	}
	k := frameable(t)
	var sd *structDec
	if k == fStruct {
		sd = structDecOf(t)
	}
	i := c.next
	c.t[i], c.kind[i], c.sd[i] = t, k, sd
	c.next = (i + 1) % len(c.t)
	return k
}

func (m *machine) structDec(t reflect.Type) *structDec {
	for i, ct := range m.tcache.t {
		if ct == t && m.tcache.sd[i] != nil {
			return m.tcache.sd[i]
		}
	}
	return structDecOf(t)
}
