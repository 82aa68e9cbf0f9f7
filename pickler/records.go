package pickler

import (
	"encoding/binary"
	"math"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// Records: the maps of a list that share the last map's keys (messages),
// written as one batch with their keys' memo indexes known, and the small
// values (scalars, short strs, small tuples and lists) written straight
// into the output window.

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
