package pickler

import (
	"encoding/binary"
	"math"
	"reflect"
	"strconv"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/internal/structfields"
	"github.com/segpickle/segpickle/py"
)

// Containers: lists, dicts, tuples, sets, and Go's slices, arrays, maps
// and structs as lists and dicts.

// --- batching ---------------------------------------------------------------

const batchSize = 1000 // CPython's BATCHSIZE

// batcher is CPython's batching of container items, the one place that
// writes it: after the container's opening, items go in batches of
// batchSize between MARK and the multi opcode (APPENDS, SETITEMS,
// ADDITEMS); a container of one item, and every item at protocol 0, takes
// the single opcode (APPEND, SETITEM) instead, when there is one. Callers
// loop:
//
//	for b := e.batches(n, op.Append, op.Appends); b.next(); {
//		for i := b.start; i < b.end; i++ { … write item i … }
//	}
//
// so that the item loop stays the caller's own (no call per item); a
// caller that cannot index its items (a map being iterated) calls next
// when its count reaches end, and once more after the last item.
//
// CPython's C pickler writes an exact dict or set (batch_dict_exact,
// save_set) in a do-while loop that runs once more when the last batch was
// full: a dict or set of 1000, 2000, … items ends with an empty MARK
// SETITEMS / MARK ADDITEMS. The batcher does the same for SETITEMS and
// ADDITEMS (trailer); a call's dictitems come from an iterator in CPython
// (batch_dict), which has no such batch, so saveItemsOf(…, false) clears it.
type batcher struct {
	e             *encoder
	n, start, end int
	single, multi byte
	open          bool // a batch was started and awaits its closing opcode
	trailer       bool // an empty batch after a full last one, as CPython's exact dicts and sets
}

func (e *encoder) batches(n int, single, multi byte) batcher {
	return batcher{e: e, n: n, single: single, multi: multi, trailer: multi == op.Setitems || multi == op.Additems}
}

// next closes the batch just written and opens the next; false when done.
func (b *batcher) next() bool {
	one := b.single != 0 && (b.e.proto == 0 || b.n == 1)
	if b.open {
		if one {
			b.e.Byte(b.single)
		} else {
			b.e.Byte(b.multi)
		}
		b.open = false
	}
	if b.end >= b.n {
		if b.trailer && b.n > 0 && b.n%batchSize == 0 && !one {
			b.e.Byte2(op.Mark, b.multi)
			b.trailer = false
		}
		return false
	}
	b.start = b.end
	if one {
		b.end = b.start + 1
	} else {
		b.end = min(b.start+batchSize, b.n)
		b.e.Byte(op.Mark)
	}
	b.open = true
	return true
}

// --- lists ------------------------------------------------------------------

func (e *encoder) openList() {
	if e.proto >= 1 {
		e.Byte(op.EmptyList)
	} else {
		e.Byte2(op.Mark, op.List)
	}
}

// openListMemo opens a list and memoizes it, by identity k when byID;
// it reports true when k was already written (a memo GET went out instead).
func (e *encoder) openListMemo(k memoKey, byID bool) bool {
	if byID {
		return e.lookupOrOpen(k, (*encoder).openList)
	}
	e.openList()
	e.MemoPut()
	return false
}

func (e *encoder) saveAnyList(x []any) error {
	if x == nil {
		e.Byte(op.None)
		return nil
	}
	if e.inKey > 0 {
		return e.unhashable("list")
	}
	if e.openListMemo(memoKey{p: unsafe.Pointer(unsafe.SliceData(x)), n: len(x), t: anyListTypeID}, cap(x) > 0) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	// saveSlice's loop, with the commonest item types of a decoded or
	// JSON-like list written before save's full dispatch.
	fast := e.cfg.persistentID == nil
	for b := e.batches(len(x), op.Append, op.Appends); b.next(); {
		items := x[b.start:b.end]
		for i := 0; i < len(items); i++ {
			v := items[i]
			if fast { // saveCommon's cases, inline: a fifth of the time on ints
				switch y := v.(type) {
				case int64:
					e.Boundary()
					if e.proto == 0 {
						e.saveInt(y)
						continue
					}
					i += e.saveIntRun(items[i:]) - 1
					continue
				case float64:
					e.Boundary()
					e.saveFloat(y)
					continue
				case string:
					e.Boundary()
					if err := e.saveStr(y, false); err != nil {
						return withPath(err, indexPath(b.start+i))
					}
					continue
				case map[string]any:
					e.Boundary()
					if err := e.saveStrMap(y); err != nil {
						return withPath(err, indexPath(b.start+i))
					}
					continue
				}
			}
			if err := e.save(v); err != nil {
				return withPath(err, indexPath(b.start+i))
			}
		}
	}
	e.depth--
	return nil
}

var anyListTypeID = typeID(reflect.TypeFor[[]any]())

// saveIntRun writes the run of int64 items that starts items (items[0] is
// one, and Boundary was called before it) and returns how many it wrote,
// at least one. Ints in int32's range are written straight into the
// window, with no Boundary call between them while the open frame has
// room (stream.Writer.Window: the check Boundary would make, made here);
// the run stops at another type, a larger int, or the frame's target.
func (e *encoder) saveIntRun(items []any) int {
	p, room := e.Window(64)
	n, k := 0, 0
	for k < len(items) && n < room && len(p)-n >= 5 {
		y, ok := items[k].(int64)
		if !ok || y < math.MinInt32 || y > math.MaxInt32 {
			break
		}
		switch {
		case y >= 0 && y < 256:
			p[n], p[n+1] = op.Binint1, byte(y)
			n += 2
		case y >= 0 && y < 65536:
			p[n], p[n+1], p[n+2] = op.Binint2, byte(y), byte(y>>8)
			n += 3
		default:
			p[n] = op.Binint
			binary.LittleEndian.PutUint32(p[n+1:], uint32(int32(y)))
			n += 5
		}
		k++
	}
	e.Commit(n)
	if k == 0 { // outside int32: saveInt's LONG1
		e.saveInt(items[0].(int64))
		return 1
	}
	return k
}

// saveSlice writes a Go slice as a list, memoized by identity (address,
// length, type) unless its capacity is 0 (Go's shared zero-size address is
// no identity), its items by f.
func saveSlice[T any](e *encoder, x []T, tid uintptr, f func(*encoder, T) error) error {
	if x == nil {
		e.Byte(op.None)
		return nil
	}
	if e.inKey > 0 {
		return e.unhashable("list")
	}
	if e.openListMemo(memoKey{p: unsafe.Pointer(unsafe.SliceData(x)), n: len(x), t: tid}, cap(x) > 0) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	for b := e.batches(len(x), op.Append, op.Appends); b.next(); {
		for i, v := range x[b.start:b.end] {
			e.Boundary() // as save: a []int64 is framed as the []any of its items
			if err := f(e, v); err != nil {
				return withPath(err, indexPath(b.start+i))
			}
		}
	}
	e.depth--
	return nil
}

var (
	intsTypeID    = typeID(reflect.TypeFor[[]int]())
	int64sTypeID  = typeID(reflect.TypeFor[[]int64]())
	floatsTypeID  = typeID(reflect.TypeFor[[]float64]())
	stringsTypeID = typeID(reflect.TypeFor[[]string]())
)

func saveIntItem(e *encoder, i int) error       { e.saveInt(int64(i)); return nil }
func saveInt64Item(e *encoder, i int64) error   { e.saveInt(i); return nil }
func saveFloatItem(e *encoder, f float64) error { e.saveFloat(f); return nil }
func saveStrElem(e *encoder, s string) error    { return e.saveStr(s, false) }

// saveReflectList writes a slice or array of any other element type.
func (e *encoder) saveReflectList(v reflect.Value, memo bool) error {
	var k memoKey
	if memo {
		k = memoKey{p: v.UnsafePointer(), n: v.Len(), t: typeID(v.Type())}
	}
	if e.openListMemo(k, memo) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	for b := e.batches(v.Len(), op.Append, op.Appends); b.next(); {
		for i := b.start; i < b.end; i++ {
			if err := e.saveReflect(v.Index(i)); err != nil {
				return withPath(err, indexPath(i))
			}
		}
	}
	e.depth--
	return nil
}

// --- dicts ------------------------------------------------------------------

func (e *encoder) openDict() {
	if e.proto >= 1 {
		e.Byte(op.EmptyDict)
	} else {
		e.Byte2(op.Mark, op.Dict)
	}
}

// openDictMemo opens a dict memoized by identity k; true when k was
// written before (a memo GET went out instead).
func (e *encoder) openDictMemo(k memoKey) bool {
	return e.lookupOrOpen(k, (*encoder).openDict)
}

func (e *encoder) saveDict(d *py.Dict) error {
	if e.inKey > 0 {
		return e.unhashable("dict")
	}
	if e.openDictMemo(memoKey{p: unsafe.Pointer(d)}) {
		return nil
	}
	return e.saveItemsOf(d.Items(), true)
}

// saveItemsOf writes dict items: a py.Dict's (exact), or a call's
// dictitems (not exact: no trailing empty batch, see batcher).
func (e *encoder) saveItemsOf(items []py.Item, exact bool) error {
	if err := e.enter(); err != nil {
		return err
	}
	b := e.batches(len(items), op.Setitem, op.Setitems)
	b.trailer = exact
	for b.next() {
		for i := b.start; i < b.end; i++ {
			it := &items[i]
			var err error
			if s, ok := it.Key.(string); ok {
				err = e.saveStr(s, true)
			} else {
				err = e.saveKey(it.Key)
			}
			if err != nil {
				return withPath(err, "[key "+strconv.Itoa(i)+"]")
			}
			if err := e.save(it.Value); err != nil {
				return withPath(err, keyPath(keyString(it.Key)))
			}
		}
	}
	e.depth--
	return nil
}

func keyString(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	}
	return reflect.TypeOf(k).String()
}

// saveStruct writes a struct as a dict of its fields (package
// structfields: encoding/json's rules), in declaration order.
func (e *encoder) saveStruct(v reflect.Value, k memoKey) error {
	fields := structfields.Of(v.Type()).List
	e.openDict()
	if k.p != nil {
		e.rememberPtr(k)
	} else {
		e.MemoPut()
	}
	present := func(f *structfields.Field) (reflect.Value, bool) {
		fv, ok := structfields.Get(v, f.Index)
		if !ok || (f.OmitEmpty && structfields.IsEmpty(fv)) {
			return reflect.Value{}, false
		}
		return fv, true
	}
	// Count first: CPython's batching depends on the count.
	n := 0
	for i := range fields {
		if _, ok := present(&fields[i]); ok {
			n++
		}
	}
	if err := e.enter(); err != nil {
		return err
	}
	b, i := e.batches(n, op.Setitem, op.Setitems), 0
	for j := range fields {
		f := &fields[j]
		fv, ok := present(f)
		if !ok {
			continue
		}
		if i == b.end {
			b.next()
		}
		if err := e.saveStr(f.Name, true); err != nil {
			return withPath(err, "."+f.Name)
		}
		if err := e.saveReflect(fv); err != nil {
			return withPath(err, "."+f.Name)
		}
		i++
	}
	b.next()
	e.depth--
	return nil
}

// --- tuples -----------------------------------------------------------------

// trackDepth is the nesting from which tuples are checked for containing
// themselves.
const trackDepth = 64

func (e *encoder) emptyTuple() {
	if e.proto >= 1 {
		e.Byte(op.EmptyTuple)
	} else {
		e.Byte2(op.Mark, op.Tuple)
	}
}

func (e *encoder) saveTuple(t py.Tuple) error {
	n := len(t)
	if n == 0 {
		e.emptyTuple()
		return nil
	}
	k := memoKey{p: unsafe.Pointer(unsafe.SliceData(t)), n: n, t: tupleTypeID}
	if e.inKey > 0 {
		// Written as a key, a tuple's Go arrays are tuples, not lists: it
		// is another Python object than the same tuple written as a value.
		k.t = tupleKeyTypeID
	}
	// One probe finds k or the slot it takes if nothing is memoized
	// while its items are written (scalars and short strs, commonly).
	sl, h, mi, found := e.memo.slot(k)
	if found {
		e.MemoGet(mi)
		return nil
	}
	// Only a tuple can contain itself with nothing memoizable between
	// (Python cannot build one; Go can). Such a cycle recurses, so tuples
	// are tracked only once nesting passes trackDepth.
	if e.depth > trackDepth {
		if e.inTuple[k] {
			return valueErr(ErrCycle, "tuple contains itself with no list, dict or object between")
		}
		if e.inTuple == nil {
			e.inTuple = make(map[memoKey]bool)
		}
		e.inTuple[k] = true
		defer delete(e.inTuple, k)
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	short := n <= 3 && e.proto >= 2
	if !short {
		e.Byte(op.Mark)
	}
	puts := e.memo.count()
	fast := e.cfg.persistentID == nil
	for i, v := range t {
		var err error
		if !fast || !e.saveCommon(v, &err) {
			err = e.save(v)
		}
		if err != nil {
			return withPath(err, "["+strconv.Itoa(i)+"]")
		}
	}
	// A recursive tuple may have been memoized while saving its items:
	// drop what was pushed and fetch it, as CPython does. (Only if the
	// identity memo grew: scalars never put the tuple there.)
	if e.memo.count() != puts {
		if i, ok := e.memo.get(k); ok {
			if short {
				for j := 0; j < n; j++ {
					e.Byte(op.Pop)
				}
			} else if e.proto >= 1 {
				e.Byte(op.PopMark)
			} else {
				for j := 0; j <= n; j++ {
					e.Byte(op.Pop)
				}
			}
			e.MemoGet(i)
			return nil
		}
	}
	if short {
		e.Byte(op.Tuple1 + byte(n-1))
	} else {
		e.Byte(op.Tuple)
	}
	if e.memo.count() == puts {
		e.memo.claim(sl, k, h, e.MemoPut()) // the table is as slot left it
	} else {
		e.rememberPtr(k)
	}
	return nil
}

var (
	tupleTypeID    = typeID(reflect.TypeFor[py.Tuple]())
	tupleKeyTypeID = tupleTypeID + 1 // a tuple as written in a key (not a real type)
)

// --- sets -------------------------------------------------------------------

func (e *encoder) saveSet(s *py.Set, frozen bool) error {
	if e.inKey > 0 && !frozen {
		return e.unhashable("set")
	}
	k := memoKey{p: unsafe.Pointer(s)}
	if e.lookup(k) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	// Set items are hashed: saved as keys.
	e.inKey++
	defer func() { e.inKey-- }()
	items := s.Items()
	item := func(i int) error {
		if err := e.save(items[i]); err != nil {
			return withPath(err, "{"+strconv.Itoa(i)+"}")
		}
		return nil
	}
	if e.proto < 4 {
		// py.SetCall's form, written here so that the items are keys:
		// set([items]), the list and the args tuple memoized, as CPython.
		g := py.BuiltinSet
		if frozen {
			g = py.BuiltinFrozenset
		}
		if err := e.saveGlobal(g); err != nil {
			return err
		}
		if e.proto < 2 {
			e.Byte(op.Mark)
		}
		e.openList()
		e.MemoPut()
		for b := e.batches(len(items), op.Append, op.Appends); b.next(); {
			for i := b.start; i < b.end; i++ {
				if err := item(i); err != nil {
					return err
				}
			}
		}
		if e.proto >= 2 {
			e.Byte(op.Tuple1)
		} else {
			e.Byte(op.Tuple)
		}
		e.MemoPut()
		e.Byte(op.Reduce)
		e.rememberPtr(k)
		return nil
	}
	if frozen {
		e.Byte(op.Mark)
		for i := range items {
			if err := item(i); err != nil {
				return err
			}
		}
		if i, ok := e.memo.get(k); ok {
			e.Byte(op.PopMark)
			e.MemoGet(i)
			return nil
		}
		e.Byte(op.Frozenset)
		e.rememberPtr(k)
		return nil
	}
	e.Byte(op.EmptySet)
	e.rememberPtr(k)
	for b := e.batches(len(items), 0, op.Additems); b.next(); {
		for i := b.start; i < b.end; i++ {
			if err := item(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- keys -------------------------------------------------------------------

// saveKey writes a dict key: as save, but what Python cannot hash is
// refused (ErrUnhashable), and a Go array is written as a tuple, its
// hashable equivalent.
func (e *encoder) saveKey(k any) error {
	e.inKey++
	err := e.save(k)
	e.inKey--
	return err
}

// outOfKey leaves key mode for the parts of a call or object; the
// returned function restores it.
func (e *encoder) outOfKey() func() {
	if e.inKey == 0 {
		return func() {}
	}
	saved := e.inKey
	e.inKey = 0
	return func() { e.inKey = saved }
}

func (e *encoder) unhashable(what string) error {
	return valueErr(ErrUnhashable, "unhashable type "+what+" as a dict key or set item")
}
