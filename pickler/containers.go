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

// beginStrMap is the start of saving a map with str keys, whose map header
// is at p: a nil map is None, a map inside a key is refused, a map saved
// before is fetched from the memo; otherwise the map is opened in the memo
// and entered (the caller leaves it). done says the map needs nothing more
// (err is then the result).
func (e *encoder) beginStrMap(isNil bool, p unsafe.Pointer) (done bool, err error) {
	if isNil {
		e.Byte(op.None)
		return true, nil
	}
	if e.inKey > 0 {
		return true, e.unhashable("dict")
	}
	if e.openDictMemo(memoKey{p: p}) {
		return true, nil
	}
	if err := e.enter(); err != nil {
		return true, err
	}
	return false, nil
}

func (e *encoder) saveStrMap(m map[string]any) error {
	tried := false // recordGroup was asked
	if keys := e.lastKeys; len(keys) == len(m) && len(m) > 1 && e.cfg.sortKeys {
		var off [recordMax]uint16
		if g := e.recordGroup(keys, m, &off); g != nil {
			return e.saveGroupRecord(m, keys, recVals{g, &off})
		}
		tried = true
	}
	if done, err := e.beginStrMap(m == nil, unsafe.Pointer(*(**byte)(unsafe.Pointer(&m)))); done {
		return err
	}
	// A large map's keys are not the few literals the key cache is for:
	// they go to the by-value memo directly, unplaced while nothing else
	// is in it (saveLargeItem).
	small := len(m) <= 64
	if !small && !e.strMemo.empty() {
		e.strMemo.reserve(len(m)) // its keys are memoized by value
	}
	if !small && !e.cfg.sortKeys {
		lazy := e.strMemo.empty()
		b, i := e.batches(len(m), op.Setitem, op.Setitems), 0
		for k, v := range m {
			if i == b.end {
				b.next()
			}
			if err := e.saveLargeItem(k, v, lazy); err != nil {
				return err
			}
			i++
		}
		b.next()
	} else if e.cfg.sortKeys && len(m) > recordMax {
		if err := e.saveSortedLarge(m); err != nil {
			return err
		}
	} else if e.cfg.sortKeys && len(m) > 1 {
		if err := e.saveSortedSmall(m, tried); err != nil {
			return err
		}
	} else {
		// Written while iterating: no key slice.
		b, i := e.batches(len(m), op.Setitem, op.Setitems), 0
		for k, v := range m {
			if i == b.end {
				b.next()
			}
			if err := e.saveStrItem(k, v, small); err != nil {
				return err
			}
			i++
		}
		b.next()
	}
	e.depth--
	return nil
}

// saveGroupRecord is saveStrMap for a record read in place
// (recordGroup): beginStrMap's steps, the dict opened and memoized in one
// write at protocol 4 and above, then saveRecord.
func (e *encoder) saveGroupRecord(m map[string]any, keys []string, vals recVals) error {
	if e.inKey > 0 {
		return e.unhashable("dict")
	}
	k := memoKey{p: unsafe.Pointer(*(**byte)(unsafe.Pointer(&m)))}
	sl, h, mi, found := e.memo.slot(k)
	if found {
		e.MemoGet(mi)
		return nil
	}
	if e.proto >= 4 {
		e.Byte2(op.EmptyDict, op.Memoize)
		e.memo.claim(sl, k, h, e.Memoized())
	} else {
		e.openDict()
		e.memo.claim(sl, k, h, e.MemoPut())
	}
	if err := e.enter(); err != nil {
		return err
	}
	if err := e.saveRecord(keys, vals); err != nil {
		return err
	}
	e.depth--
	return nil
}

// saveSortedSmall writes the items of a map of 2 to recordMax items in
// key order (saveRecord). A small map with the keys of the map before it
// (a record of a list) is read in place (recordGroup, unless tried
// already); others are sorted, or looked up in the order of the keys
// before (sortedItems).
func (e *encoder) saveSortedSmall(m map[string]any, tried bool) error {
	n := len(m)
	var off [recordMax]uint16
	if keys := e.lastKeys; len(keys) == n && !tried {
		if g := e.recordGroup(keys, m, &off); g != nil {
			return e.saveRecord(keys, recVals{g, &off})
		}
	}
	if n <= 8 {
		// A record of up to 8 items has its values on the stack:
		// no allocation, and the slice is not kept.
		var onStack [8]any
		keys, vals := e.sortedItems(m, onStack[:0])
		return e.saveRecord(keys, recVals{unsafe.Pointer(unsafe.SliceData(vals)), &sliceOffs})
	}
	vals := e.valBuf
	e.valBuf = nil
	keys, vals := e.sortedItems(m, vals)
	if err := e.saveRecord(keys, recVals{unsafe.Pointer(unsafe.SliceData(vals)), &sliceOffs}); err != nil {
		return err
	}
	e.putItems(vals)
	return nil
}

// recVals are a record's values in the order of its keys: value i at
// base+off[i], base a slice of values (off sliceOffs) or a small map's
// group (recordGroup), which base keeps alive.
type recVals struct {
	base unsafe.Pointer
	off  *[recordMax]uint16
}

// at is value i (i < recordMax).
func (r recVals) at(i int) any {
	return *(*any)(unsafe.Add(r.base, r.off[i&(recordMax-1)]))
}

// sliceOffs are the offsets of the items of a []any.
var sliceOffs = func() (o [recordMax]uint16) {
	for i := range o {
		o[i] = uint16(i * int(unsafe.Sizeof(any(nil))))
	}
	return o
}()

func (e *encoder) saveStrItem(key string, v any, cacheKey bool) error {
	var err error
	if cacheKey {
		err = e.saveStr(key, true)
	} else {
		e.Boundary() // a key is an object of its own, as in saveStr
		err = e.saveStrByValue(key)
	}
	if err != nil {
		return withPath(err, keyPath(key))
	}
	if e.proto >= 4 && e.cfg.persistentID == nil {
		// A scalar, short str or small tuple or list straight into the
		// window, when no frame boundary comes before it.
		if p, room := e.Window(400); room > 0 {
			n, memo := putScalar(p, v)
			if n == 0 {
				n = e.putSmall(p, room, v)
			}
			if n > 0 {
				e.Commit(n)
				if memo {
					e.Memoized()
				}
				return nil
			}
		}
	}
	return e.saveItemValue(key, v)
}

// saveLargeItem writes an item of a map of more than 64 items: its key
// memoized by value, then its value. lazy says that the by-value memo was
// empty when the map began: while it holds only this map's keys (which
// are distinct), a key cannot be in it, and is added without a lookup
// (strTable.addNew). At protocol 4 and above, a new key and a scalar or
// short str value (putScalar) go into the window in one step when no frame
// boundary falls between them.
func (e *encoder) saveLargeItem(k string, v any, lazy bool) error {
	n := len(k)
	if lazy && e.strMemo.unplacedOnly() {
		if e.proto >= 4 && n < 256 && e.cfg.persistentID == nil {
			if p, room := e.Window(n + 83); room > n+3 {
				p[0], p[1] = op.ShortBinunicode, byte(n)
				if copyStr(p[2:2+n], k) >= 0x80 && !validStr(k) {
					return withPath(errInvalidStr.fresh(), keyPath(k))
				}
				p[2+n] = op.Memoize
				e.strMemo.addNew(k, e.Memoized())
				w, memo := putScalar(p[n+3:], v)
				e.Commit(n + 3 + w)
				if memo {
					e.Memoized()
				}
				if w > 0 {
					return nil
				}
				return e.saveItemValue(k, v)
			}
		}
		e.Boundary()
		if err := e.writeStr(k); err != nil {
			return withPath(err, keyPath(k))
		}
		e.strMemo.addNew(k, e.MemoPut())
		return e.saveItemValue(k, v)
	}
	return e.saveStrItem(k, v, false)
}

// saveItemValue writes the value of the item of str key k.
func (e *encoder) saveItemValue(k string, v any) error {
	var err error
	if e.cfg.persistentID != nil || !e.saveCommon(v, &err) {
		err = e.save(v)
	}
	if err != nil {
		return withPath(err, keyPath(k))
	}
	return nil
}

// saveStrMapOf writes a map of str keys and values of one Go type without
// reflection (a map[string]float64, say): its keys as saveStrMap's, its
// values by put. Sorted, the keys are sorted as saveSortedLarge's and the
// values gathered in a slice of their own type alongside (no value boxed).
func saveStrMapOf[V any](e *encoder, m map[string]V, put func(*encoder, V) error) error {
	if done, err := e.beginStrMap(m == nil, unsafe.Pointer(*(**byte)(unsafe.Pointer(&m)))); done {
		return err
	}
	n := len(m)
	small := n <= 64
	lazy := !small && e.strMemo.empty() // saveLargeItem's
	if !small && !lazy {
		e.strMemo.reserve(n)
	}
	item := func(k string, v V) error {
		var err error
		switch {
		case small:
			err = e.saveStr(k, true)
		case lazy && e.strMemo.unplacedOnly():
			e.Boundary()
			if err = e.writeStr(k); err == nil {
				e.strMemo.addNew(k, e.MemoPut())
			}
		default:
			e.Boundary()
			err = e.saveStrByValue(k)
		}
		if err == nil {
			if e.cfg.persistentID != nil {
				err = e.save(v) // the hook sees every value
			} else {
				e.Boundary()
				err = put(e, v)
			}
		}
		if err != nil {
			return withPath(err, keyPath(k))
		}
		return nil
	}
	if !e.cfg.sortKeys || n <= 1 {
		b, i := e.batches(n, op.Setitem, op.Setitems), 0
		for k, v := range m {
			if i == b.end {
				b.next()
			}
			if err := item(k, v); err != nil {
				return err
			}
			i++
		}
		b.next()
		e.depth--
		return nil
	}
	ks := e.takeSort(n)
	ks.sizeEnts(n)
	vals := make([]V, n)
	i := 0
	for k, v := range m {
		ks.add(k, nil)
		vals[i] = v
		i++
	}
	var err error
	order := ks.sort()
	for b := e.batches(n, op.Setitem, op.Setitems); b.next() && err == nil; {
		for _, k := range order[b.start:b.end] {
			if err = item(ks.ents[k].s, vals[k]); err != nil {
				break
			}
		}
	}
	e.putSort(ks)
	if err != nil {
		return err
	}
	e.depth--
	return nil
}

func putFloat(e *encoder, v float64) error { e.saveFloat(v); return nil }
func putInt64(e *encoder, v int64) error   { e.saveInt(v); return nil }
func putInt(e *encoder, v int) error       { e.saveInt(int64(v)); return nil }
func putBool(e *encoder, v bool) error     { e.saveBool(v); return nil }
func putStr(e *encoder, v string) error    { return e.saveStr(v, false) }

// saveSortedLarge writes the items of a map larger than a record in key
// order, straight from the sorted items (no key or value slice gathered).
// The sort buffers are taken from the encoder while the values are
// written (a nested map takes fresh ones) and given back after.
func (e *encoder) saveSortedLarge(m map[string]any) error {
	n := len(m)
	ks := e.takeSort(n)
	large := n > 64
	lazy := large && e.strMemo.empty()
	fast := lazy && e.proto >= 4 && e.cfg.persistentID == nil
	if fast && preEncode && ks.gatherCompact(m) {
		e.saveCompact(ks, ks.sort())
		e.putSort(ks)
		return nil
	}
	if !ks.gather(m) {
		e.putSort(ks)
		return valueErr(ErrInternal, "map changed while it was written")
	}
	n = len(ks.ents)
	large = n > 64
	order := ks.sort()
	ents := ks.ents
	var err error
	for b := e.batches(n, op.Setitem, op.Setitems); b.next() && err == nil; {
		for j := b.start; j < b.end; {
			if fast && e.strMemo.unplacedOnly() {
				c, keyOnly := e.saveNewKeysRun(ents, order[j:b.end])
				j += c
				if keyOnly {
					ent := &ents[order[j-1]]
					if err = e.saveItemValue(ent.s, ent.v); err != nil {
						break
					}
					continue
				}
				if c > 0 {
					continue
				}
			}
			ent := &ents[order[j]]
			if large {
				err = e.saveLargeItem(ent.s, ent.v, lazy)
			} else {
				err = e.saveStrItem(ent.s, ent.v, true)
			}
			if err != nil {
				break
			}
			j++
		}
	}
	e.putSort(ks)
	return err
}

// preEncode lets saveSortedLarge take gatherCompact's way; tests turn
// it off to compare with the way of the items gathered.
var preEncode = true

// saveCompact writes the items of a map gathered by gatherCompact in key
// order (order), straight from their compact bytes, in batcher's batches.
// A frame boundary falls before a key or a value where Boundary would put
// it (before each object). The keys are lent to the by-value memo
// (strTable.later): their memo indexes follow each other.
func (e *encoder) saveCompact(ks *keySort, order []uint32) {
	items := ks.items
	ks.lent, ks.lentBase = order, e.NextMemo()
	const most = compactSize // an item's stores
	for b := e.batches(len(order), op.Setitem, op.Setitems); b.next(); {
		for j := b.start; j < b.end; {
			p, room := e.Window(most)
			// An item that starts at or below last has room for its
			// stores, and no frame boundary can fall before its key or its
			// value (room: Window's).
			last := min(len(p)-most, room-(2+compactKeyMax+1)-1)
			w, j0 := 0, j
			for _, i := range order[j:b.end] {
				if w > last {
					break
				}
				it := &items[i]
				q := (*[compactSize]byte)(p[w : w+compactSize])
				binary.LittleEndian.PutUint64(q[0:], binary.LittleEndian.Uint64(it[0:]))
				binary.LittleEndian.PutUint64(q[8:], binary.LittleEndian.Uint64(it[8:]))
				binary.LittleEndian.PutUint64(q[16:], binary.LittleEndian.Uint64(it[16:]))
				binary.LittleEndian.PutUint64(q[24:], binary.LittleEndian.Uint64(it[24:]))
				w += int(it[31])
				j++
			}
			e.Commit(w)
			e.MemoizedN(j - j0)
			if j < b.end && w > last {
				// Near the window's end or the frame's target: one item
				// the careful way, a Boundary before its key and its value.
				it := &items[order[j]]
				kn := 3 + int(it[1])
				e.Boundary()
				e.Copy(it[:kn])
				e.Memoized()
				e.Boundary()
				e.Copy(it[kn:it[31]])
				j++
			}
		}
	}
	e.strMemo.later = ks
}

// saveNewKeysRun writes items ents[order[0]], ents[order[1]], … of a large
// map whose keys the by-value memo holds unplaced only (saveLargeItem's
// lazy case, at protocol 4 and above with no PersistentID hook), straight
// into the window while no frame boundary falls among them: each key an
// ASCII str of under 64 bytes, memoized, and a value putScalar takes. It
// returns the number of items it began; keyOnly says that the last one's
// key was written and its value was not (the caller writes it).
func (e *encoder) saveNewKeysRun(ents []sortEnt, order []uint32) (c int, keyOnly bool) {
	const most = 64 + 10 + 80 // putShortStr's key, putScalar's value
	p, room := e.Window(most)
	w := 0
	for c < len(order) {
		ent := &ents[order[c]]
		k := ent.s
		if len(k) >= sharedStrMin || w+len(k)+3 >= room || len(p)-w < most {
			break
		}
		var kn int
		if n := len(k); n < 8 && n > 0 { // the commonest keys, in line
			x := tail8(unsafe.Slice(unsafe.StringData(k), n))
			if x&0x8080808080808080 != 0 {
				break // not ASCII: checked on saveLargeItem's way
			}
			q := p[w : w+10]
			q[0], q[1] = op.ShortBinunicode, byte(n)
			binary.LittleEndian.PutUint64(q[2:], x)
			p[w+2+n] = op.Memoize
			kn = n + 3
		} else if kn = putShortStr(p[w:], k); kn == 0 {
			break // not ASCII: checked on saveLargeItem's way
		}
		e.strMemo.addNew(k, e.Memoized())
		w += kn
		c++
		if f, ok := ent.v.(float64); ok {
			q := p[w : w+9]
			q[0] = op.Binfloat
			binary.BigEndian.PutUint64(q[1:], math.Float64bits(f))
			w += 9
			continue
		}
		vn, memo := putScalar(p[w:], ent.v)
		if vn == 0 {
			e.Commit(w)
			return c, true
		}
		if memo {
			e.Memoized()
		}
		w += vn
	}
	e.Commit(w)
	return c, false
}

// saveCommon writes v when it is one of the commonest item types of a
// decoded or JSON-like container (int64, float64, str, bool, None, and
// []any, map[string]any, py.Tuple) and
// reports whether it did: the items of str-keyed maps try it before save's
// full dispatch (lists have the same cases inline).
// Callers skip it when a PersistentID hook must see every value.
func (e *encoder) saveCommon(v any, err *error) bool {
	switch y := v.(type) {
	case int64:
		e.Boundary()
		e.saveInt(y)
	case float64:
		e.Boundary()
		e.saveFloat(y)
	case string:
		e.Boundary()
		*err = e.saveStr(y, false)
	case bool:
		e.Boundary()
		e.saveBool(y)
	case nil:
		e.Boundary()
		e.Byte(op.None)
	case []any:
		e.Boundary()
		*err = e.saveAnyList(y)
	case map[string]any:
		e.Boundary()
		*err = e.saveStrMap(y)
	case py.Tuple:
		e.Boundary()
		*err = e.saveTuple(y)
	default:
		return false
	}
	return true
}

// noIdx marks a record key whose memo index is not known yet.
const noIdx = ^uint32(0)

// recordIdx returns the memo indexes of the keys of e.lastKeys (n of
// them) written in this pickle, noIdx for the others. A key is memoized by
// value: its index, once written, is its index for the rest of the pickle.
func (e *encoder) recordIdx(n int) []uint32 {
	if e.recGen != e.gen || len(e.recIdx) != n {
		if cap(e.recIdx) < n {
			e.recIdx = make([]uint32, n)
		}
		e.recIdx = e.recIdx[:n]
		for i := range e.recIdx {
			e.recIdx[i] = noIdx
		}
		e.recGen = e.gen
	}
	return e.recIdx
}

// saveRecord writes the items of a map of at most recordMax items in the
// order of keys, which are e.lastKeys (sortedItems). At protocol 4 and
// above, once a key's memo index is known, its memo GET and a scalar or
// short str value go straight into the window, item after item, while no
// frame boundary falls among them (the common values written in its
// loop, small tuples and lists by putSmall); the
// rest takes saveStrItem's way. Such a record is one batch: MARK, the
// items, SETITEMS.
func (e *encoder) saveRecord(keys []string, vals recVals) error {
	idx := e.recordIdx(len(keys))
	n := len(keys)
	if e.proto < 4 || e.cfg.persistentID != nil || n < 2 || n > batchSize {
		for b := e.batches(n, op.Setitem, op.Setitems); b.next(); {
			for i := b.start; i < b.end; i++ {
				if err := e.saveRecordItem(keys[i], vals.at(i), idx, i); err != nil {
					return err
				}
			}
		}
		return nil
	}
	e.Byte(op.Mark)
	idx = idx[:n] // i < n below: no bounds checks
	for i := 0; i < n; {
		if idx[i] == noIdx {
			if err := e.saveRecordItem(keys[i], vals.at(i), idx, i); err != nil {
				return err
			}
			i++
			continue
		}
		const most = 400 // a LONG_BINGET and the largest inline value (putSmall's)
		p, room := e.Window(most)
		w, keyOnly := 0, false
		lim := min(room, len(p)-most+1) // an item may start below it
		for ; i < n; i++ {
			k := idx[i]
			if k == noIdx || w >= lim {
				break
			}
			if k < 256 {
				binary.LittleEndian.PutUint16(p[w:], uint16(k)<<8|uint16(op.Binget))
				w += 2
			} else {
				p[w] = op.LongBinget
				binary.LittleEndian.PutUint32(p[w+1:], k)
				w += 5
			}
			if w >= room {
				keyOnly = true
				break
			}
			// The value: the common scalars and short strs here, a small
			// tuple or list by putSmall; anything else (m == 0) by
			// saveItemValue below.
			q := p[w : w+most-5]
			m := 0
			switch y := vals.at(i).(type) {
			case float64:
				q[0] = op.Binfloat
				binary.BigEndian.PutUint64(q[1:], math.Float64bits(y))
				m = 9
			case int64:
				switch {
				case y >= 0 && y < 256:
					q[0], q[1] = op.Binint1, byte(y)
					m = 2
				case y >= 0 && y < 65536:
					q[0], q[1], q[2] = op.Binint2, byte(y), byte(y>>8)
					m = 3
				case y >= math.MinInt32 && y <= math.MaxInt32:
					q[0] = op.Binint
					binary.LittleEndian.PutUint32(q[1:], uint32(int32(y)))
					m = 5
				}
			case string:
				if len(y) >= 2 && len(y) < sharedStrMin { // not singletons, shared strs
					if m = putTinyStr(q, y); m > 0 {
						e.Memoized()
					}
				}
			case bool:
				q[0] = op.Newfalse
				if y {
					q[0] = op.Newtrue
				}
				m = 1
			case nil:
				q[0] = op.None
				m = 1
			default:
				// Not cases of the switch: with them it became a jump
				// table, its target mispredicted item after item (in
				// cachegrind's model).
				if t, ok := y.(py.Tuple); ok {
					m = e.putSmallItems(q, room-w, t, true)
				} else if l, ok := y.([]any); ok {
					m = e.putSmallItems(q, room-w, l, false)
				}
			}
			if m == 0 {
				keyOnly = true
				break
			}
			w += m
		}
		e.Commit(w)
		if w == 0 { // a frame boundary first: the key on Boundary's way
			e.Boundary()
			e.MemoGet(idx[i])
			keyOnly = true
		}
		if keyOnly {
			if err := e.saveItemValue(keys[i], vals.at(i)); err != nil {
				return err
			}
			i++
		}
	}
	e.Byte(op.Setitems)
	return nil
}

// saveRecordItem writes item i of a record (keys, vals) its general way,
// noting its key's memo index in idx.
func (e *encoder) saveRecordItem(key string, v any, idx []uint32, i int) error {
	if idx[i] != noIdx {
		e.Boundary()
		e.MemoGet(idx[i])
		return e.saveItemValue(key, v)
	}
	if len(key) == 0 || len(key) > 64 {
		return e.saveStrItem(key, v, true)
	}
	e.Boundary()
	k, err := e.saveShortKey(key)
	if err != nil {
		return withPath(err, keyPath(key))
	}
	idx[i] = k
	return e.saveItemValue(key, v)
}

// putSmall writes v into p, as saveTuple or saveAnyList would, when it is
// a tuple of 1 to 3 items or a list of 1 to 4 items, each of which
// putScalar takes, and no frame boundary falls before its last item (room:
// the offset in p from which Boundary would act), or when it was written
// before (a memo GET). It returns the bytes written, 0 for anything else
// (then nothing was written or memoized). Protocol 4 and above.
func (e *encoder) putSmall(p []byte, room int, v any) int {
	switch y := v.(type) {
	case py.Tuple:
		return e.putSmallItems(p, room, y, true)
	case []any:
		return e.putSmallItems(p, room, y, false)
	}
	return 0
}

// putSmallItems is putSmall for a tuple's (tuple) or a list's items.
func (e *encoder) putSmallItems(p []byte, room int, items []any, tuple bool) int {
	k := memoKey{p: unsafe.Pointer(unsafe.SliceData(items)), n: len(items), t: anyListTypeID}
	if tuple {
		if len(items) == 0 || len(items) > 3 {
			return 0
		}
		k.t = tupleTypeID
	} else if len(items) == 0 || len(items) > 4 || cap(items) == 0 {
		return 0
	}
	if e.depth+1 > e.cfg.maxDepth || e.depth >= trackDepth || room <= 0 {
		return 0 // saveTuple's and saveAnyList's checks
	}
	sl, h, mi, found := e.memo.slot(k)
	if found {
		if mi < 256 {
			p[0], p[1] = op.Binget, byte(mi)
			return 2
		}
		p[0] = op.LongBinget
		binary.LittleEndian.PutUint32(p[1:], mi)
		return 5
	}
	w := 0
	if !tuple {
		p[0], p[1] = op.EmptyList, op.Memoize
		w = 2
		if len(items) > 1 {
			p[2] = op.Mark
			w = 3
		}
	}
	memos := 0
	lim := min(room, len(p)-80+1) // an item may start below it
	for _, it := range items {
		if w >= lim {
			return 0
		}
		// The commonest items in line, the others by putScalar.
		switch y := it.(type) {
		case int64:
			q := p[w : w+5]
			switch {
			case y >= 0 && y < 256:
				q[0], q[1] = op.Binint1, byte(y)
				w += 2
			case y >= 0 && y < 65536:
				q[0], q[1], q[2] = op.Binint2, byte(y), byte(y>>8)
				w += 3
			case y >= math.MinInt32 && y <= math.MaxInt32:
				q[0] = op.Binint
				binary.LittleEndian.PutUint32(q[1:], uint32(int32(y)))
				w += 5
			default:
				return 0
			}
		case string: // putScalar's case
			if len(y) >= sharedStrMin || singleton(y) {
				return 0
			}
			n := putTinyStr(p[w:], y)
			if n == 0 {
				return 0
			}
			memos++
			w += n
		default:
			n, memo := putScalar(p[w:], it)
			if n == 0 {
				return 0
			}
			if memo {
				memos++
			}
			w += n
		}
	}
	base := e.NextMemo() // the first index the bytes above take
	if tuple {
		p[w], p[w+1] = op.Tuple1+byte(len(items)-1), op.Memoize
		w += 2
		e.memo.claim(sl, k, h, base+uint32(memos))
	} else {
		if len(items) > 1 {
			p[w] = op.Appends
		} else {
			p[w] = op.Append
		}
		w++
		e.memo.claim(sl, k, h, base)
	}
	e.MemoizedN(memos + 1)
	return w
}

// putScalar writes v into p (at least 80 bytes) at protocol 4 or above
// when it is an int64, float64, bool, None or a str of 2 to 63 ASCII bytes
// (not a singleton: no by-value or identity memo), and returns the bytes
// written, 0 for any other value, and whether it wrote a MEMOIZE.
func putScalar(p []byte, v any) (n int, memo bool) {
	switch y := v.(type) {
	case int64:
		switch {
		case y >= 0 && y < 256:
			p[0], p[1] = op.Binint1, byte(y)
			return 2, false
		case y >= 0 && y < 65536:
			p[0], p[1], p[2] = op.Binint2, byte(y), byte(y>>8)
			return 3, false
		case y >= math.MinInt32 && y <= math.MaxInt32:
			p[0] = op.Binint
			binary.LittleEndian.PutUint32(p[1:], uint32(int32(y)))
			return 5, false
		}
		return 0, false
	case float64:
		p[0] = op.Binfloat
		binary.BigEndian.PutUint64(p[1:], math.Float64bits(y))
		return 9, false
	case bool:
		p[0] = op.Newfalse
		if y {
			p[0] = op.Newtrue
		}
		return 1, false
	case nil:
		p[0] = op.None
		return 1, false
	case string:
		if len(y) >= sharedStrMin || singleton(y) {
			return 0, false
		}
		n := putTinyStr(p, y)
		return n, n > 0 // not ASCII: validated on saveStr's way
	}
	return 0, false
}

// putShortStr writes s, an ASCII str of under 64 bytes, and a MEMOIZE into
// p (at least len(s)+10 bytes: the bytes are moved 8 at a time, and up to
// 7 past the MEMOIZE are overwritten) and returns the bytes written, or 0
// (and the contents of p are garbage) when s has a byte that is not ASCII.
func putShortStr(p []byte, s string) int {
	n := len(s)
	_ = p[n+9]
	p[0], p[1] = op.ShortBinunicode, byte(n)
	b := unsafe.Slice(unsafe.StringData(s), n)
	var hi uint64
	i := 0
	for ; i+8 <= n; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		binary.LittleEndian.PutUint64(p[2+i:], x)
		hi |= x
	}
	if i < n {
		x := tail8(b[i:])
		binary.LittleEndian.PutUint64(p[2+i:], x)
		hi |= x
	}
	if hi&0x8080808080808080 != 0 {
		return 0
	}
	p[2+n] = op.Memoize
	return n + 3
}

// putTinyStr is putShortStr, with a str of up to 8 bytes (the
// commonest values) written in one 8-byte load and store.
func putTinyStr(p []byte, s string) int {
	n := len(s)
	var x uint64
	switch {
	case n == 8:
		x = binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
	case n > 8 || n == 0:
		return putShortStr(p, s)
	default:
		x = tail8(unsafe.Slice(unsafe.StringData(s), n))
	}
	if x&0x8080808080808080 != 0 {
		return 0
	}
	q := p[:10]
	q[0], q[1] = op.ShortBinunicode, byte(n)
	binary.LittleEndian.PutUint64(q[2:], x)
	p[2+n] = op.Memoize
	return n + 3
}

// tail8 is b (1 to 7 bytes) as a little-endian word, zero-padded, read as
// two loads that overlap (never past b's end).
func tail8(b []byte) uint64 {
	n := len(b)
	switch {
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<(8*uint(n-4))
	case n >= 2:
		return uint64(binary.LittleEndian.Uint16(b)) | uint64(binary.LittleEndian.Uint16(b[n-2:]))<<(8*uint(n-2))
	}
	return uint64(b[0])
}

// recordMax is the size up to which a map is taken for a record, whose
// key order is kept for the next map.
const recordMax = 32

// sortedItems returns the keys in order and their values of a map of at
// most recordMax items (larger ones: saveSortedLarge), the values in vals
// (grown if its capacity is short). Maps of one shape (records: the same
// keys map after map) reuse the order found for the last one, checked by
// looking its keys up; others are sorted with their values, and their
// order is kept for the next map (never written again once made). The
// value slice is the caller's own (on its stack, or taken from the
// encoder and given back with putItems: a map nested in a value takes
// another).
func (e *encoder) sortedItems(m map[string]any, vals []any) ([]string, []any) {
	n := len(m)
	if cap(vals) < n {
		vals = make([]any, n, max(n, 16))
	}
	vals = vals[:n]
	if keys := e.lastKeys; len(keys) == n && placeInOrder(keys, m, vals) {
		return keys, vals
	}
	ks := e.takeSort(n)
	for k, v := range m {
		ks.add(k, v)
	}
	keys := make([]string, n)
	for j, k := range ks.sort() {
		keys[j], vals[j] = ks.ents[k].s, ks.ents[k].v
	}
	e.putSort(ks)
	e.lastKeys = keys
	e.recSlotN = 0 // recordGroup's slots were for the keys before
	// The indexes recorded were for the keys before, and a map being
	// written around this one may still be reading them: a fresh slice.
	e.recIdx, e.recGen = nil, 0
	return keys, vals
}

// placeInOrder puts m's values in vals in the order of keys, and reports
// whether m has exactly those keys. A lookup a key (m has len(keys)
// entries, keys are distinct) costs less than iterating m: no random
// start, no iterator, no search of the key's place. (Iterating once and
// guessing each key's place ran fewer instructions, 33.2M -> 32.3M a
// messages op, but took longer: the random start costs branch
// mispredictions in every map.)
func placeInOrder(keys []string, m map[string]any, vals []any) bool {
	n := len(keys)
	if n > recordMax || len(m) != n || len(vals) < n {
		return false
	}
	vals = vals[:n]
	for i, k := range keys {
		v, ok := m[k]
		if !ok {
			return false
		}
		vals[i] = v
	}
	return true
}

// putItems gives the value slice of sortedItems back for the next map
// (the largest is kept). Its values are left in it, overwritten by the
// next map's (a clear a record cost more than a tenth of a list of small
// records' time, in its bulk write barrier); release clears it.
func (e *encoder) putItems(vals []any) {
	if cap(vals) > cap(e.valBuf) {
		e.valBuf = vals[:0]
	}
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
