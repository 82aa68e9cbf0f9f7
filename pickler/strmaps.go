package pickler

import (
	"encoding/binary"
	"math"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// Maps with str keys (map[string]any and the typed ones): small maps and
// records (records.go writes those), large maps sorted through sort.go,
// gathered compact or item by item.

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
