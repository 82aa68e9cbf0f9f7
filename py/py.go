// Package py is segpickle's value model: the Go types that stand for Python
// values Go has no type for. The pickler and the unpickler share it, and the
// mapping below is the one table both follow.
//
//	Python                       Go (decoding into any)          Go (encoding accepts)
//	None                         nil                             nil, nil pointer/map/slice/interface
//	bool                         bool                            bool
//	int                          int64, or *big.Int if larger    all int/uint kinds, *big.Int, big.Int
//	float                        float64                         float32, float64
//	complex                      complex128                      complex64, complex128
//	str                          string (surrogates: see below)  string (UTF-8, surrogates as below)
//	bytes                        []byte                          []byte, [N]byte
//	bytearray                    py.ByteArray                    py.ByteArray
//	Python 2 str (STRING ops)    py.ByteString                   py.ByteString
//	list                         []any                           slices and arrays (not of bytes)
//	tuple                        py.Tuple                        py.Tuple
//	dict                         *py.Dict (ordered, any key)     *py.Dict, maps, structs (by field)
//	  (with unpickler.PlainMaps(true): map[string]any when all keys are str,
//	  map[any]any when all are plain comparable values, else *py.Dict)
//	set / frozenset              *py.Set / *py.FrozenSet         *py.Set / *py.FrozenSet
//	datetime.datetime            time.Time                       time.Time (py.Naive location = naive)
//	datetime.timedelta           time.Duration                   time.Duration
//	  (both are hashable keys with Python's equality: aware times by instant,
//	  naive ones by wall clock, naive never equal to aware, to the µs)
//	global (class, function)     py.Global                       py.Global
//	f(*args) (REDUCE)            *py.Call                        *py.Call, py.Call
//	  (+ calls made after it and discarded with POP: Call.After, Object.After)
//	cls.__new__ + state          *py.Object                      *py.Object, py.Object
//	  (NEWOBJ, NEWOBJ_EX, copyreg.__newobj__ and __newobj_ex__, and CPython's
//	  partial(cls.__new__, cls, *args, **kw)() below protocol 4)
//	persistent id                py.PersistentID                 py.PersistentID (or the hook)
//	pickle.PickleBuffer          py.PickleBuffer                 py.PickleBuffer
//	out-of-band buffer, absent   py.OutOfBand                    py.OutOfBand
//
// A Python str may hold lone surrogates (U+D800..U+DFFF), which Go's UTF-8
// cannot: a Go string keeps each as the 3-byte sequence ED A0..BF 80..BF
// that CPython's pickle writes for it (UTF-8 with 'surrogatepass'), so the
// string is exactly the bytes BINUNICODE carried. ValidString, CheckUTF8,
// DecodeRune and AppendRune are the one definition of that form, used by
// the pickler, the unpickler and segpickle's JSON reader.
//
// The dynamic decoder evaluates a handful of standard calls whose results
// Go has exact types for (datetime, timedelta, timezone, set, frozenset,
// bytearray, complex, _codecs.encode, bytes()); everything else, an
// OrderedDict included, stays a Call or Object that re-encodes as it came.
// Typed decoding turns more classes into Go values (see package
// unpickler's class registry). The model's types print as Python's repr
// (see Repr).
package py

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Tuple is a Python tuple.
type Tuple []any

// ByteArray is a Python bytearray.
type ByteArray []byte

// ByteString is a Python 2 str read from STRING, BINSTRING or
// SHORT_BINSTRING: raw bytes that Python 3 decodes according to the
// Unpickler's encoding. It is kept apart from bytes and str so a re-encoded
// pickle still says which it was.
type ByteString []byte

// Global is a reference to a module-level name (a class or function), as
// written by GLOBAL or STACK_GLOBAL.
type Global struct {
	Module string
	Name   string
}

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// Call is the result of REDUCE: Callable(*Args), with the state a following
// BUILD gave it, if any.
type Call struct {
	Callable any
	Args     Tuple
	// ListItems and DictItems are what APPEND(S) and SETITEM(S) added to
	// the result (as __reduce__'s listitems and dictitems: how
	// OrderedDict, defaultdict and list subclasses pickle).
	ListItems []any
	DictItems []Item
	State     any
	HasState  bool
	// After holds values built after this one and discarded at once
	// (POP), for their effect: cloudpickle restores a function's
	// globals, defaults and closure with _function_setstate(f, state),
	// whose result pickle pops. The pickler writes each after the call,
	// its items and its state, followed by POP, as they came.
	After []any
}

// Object is an instance created without calling __init__: cls.__new__(cls,
// *Args, **Kwargs) (NEWOBJ, NEWOBJ_EX, or INST/OBJ without arguments), with
// the state BUILD set, if any.
type Object struct {
	Class     any
	Args      Tuple
	Kwargs    *Dict
	ListItems []any  // added by APPEND(S), as for Call
	DictItems []Item // added by SETITEM(S), as for Call
	State     any
	HasState  bool
	After     []any // discarded after it, as for Call
}

// PersistentID is a persistent reference (PERSID/BINPERSID) the decoder was
// not asked to resolve.
type PersistentID struct{ ID any }

// PickleBuffer is a protocol-5 buffer (pickle.PickleBuffer). When encoded
// with a buffer callback that takes it, it travels out of band; otherwise
// in band as bytes (ReadOnly) or bytearray.
type PickleBuffer struct {
	Data     []byte
	ReadOnly bool
}

// OutOfBand is the placeholder for an out-of-band buffer (NEXT_BUFFER) when
// the decoder was given no buffers. It re-encodes as NEXT_BUFFER.
type OutOfBand struct {
	Index    int // position among the pickle's out-of-band buffers
	ReadOnly bool
}

// Naive is the location of a time.Time that stands for a naive
// datetime.datetime (one without tzinfo).
var Naive = time.FixedZone("naive", 0)

// Item is one key/value pair of a Dict.
type Item struct {
	Key   any
	Value any
}

// Dict is a Python dict: insertion-ordered, with keys of any hashable
// Python type (tuples and frozensets included). Lookups by str or int key
// are O(1) once the dict has more than a few entries.
type Dict struct {
	items []Item
	index keyIndex
}

// NewDict returns an empty Dict with room for n items (none for n < 0).
func NewDict(n int) *Dict {
	// A small dict and its items are one allocation.
	switch n {
	case 1:
		return dictIn(new(dictOf[[1]Item]))
	case 2:
		return dictIn(new(dictOf[[2]Item]))
	case 3:
		return dictIn(new(dictOf[[3]Item]))
	case 4:
		return dictIn(new(dictOf[[4]Item]))
	case 5:
		return dictIn(new(dictOf[[5]Item]))
	case 6:
		return dictIn(new(dictOf[[6]Item]))
	case 7:
		return dictIn(new(dictOf[[7]Item]))
	case 8:
		return dictIn(new(dictOf[[8]Item]))
	}
	return &Dict{items: make([]Item, 0, max(n, 0))}
}

// dictOf is a Dict and the array its first items go in.
type dictOf[A any] struct {
	d Dict
	a A
}

func dictIn[A any](b *dictOf[A]) *Dict {
	b.d.items = unsafe.Slice((*Item)(unsafe.Pointer(&b.a)), unsafe.Sizeof(b.a)/unsafe.Sizeof(Item{}))[:0]
	return &b.d
}

// DictOf builds a Dict from alternating keys and values.
func DictOf(kv ...any) *Dict {
	d := NewDict(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

// Len returns the number of items.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.items)
}

// Grow makes room for n more items.
func (d *Dict) Grow(n int) {
	if n > 0 && cap(d.items)-len(d.items) < n {
		// At least double, so that growing batch by batch stays linear.
		d.items = append(make([]Item, 0, max(len(d.items)+n, 2*cap(d.items))), d.items...)
	}
	d.index.reserve(d.keyAt, len(d.items), len(d.items)+n)
}

// Items returns the items in insertion order. The slice is the Dict's own:
// do not append to it; values may be changed in place.
func (d *Dict) Items() []Item {
	if d == nil {
		return nil
	}
	return d.items
}

// Get returns the value for key k (with Python's equality: 1, 1.0 and True
// are one key).
func (d *Dict) Get(k any) (any, bool) {
	if d == nil {
		return nil, false
	}
	if i := d.index.find(d.keyAt, len(d.items), k); i >= 0 {
		return d.items[i].Value, true
	}
	return nil, false
}

// Set sets d[k] = v; a new key goes last, an existing one keeps its place
// (its first key object is kept, as in Python).
func (d *Dict) Set(k, v any) { d.Put(k, v) }

// Put is Set, and returns the position of the item in Items.
func (d *Dict) Put(k, v any) int {
	if i := d.index.put(d.keyAt, len(d.items), k); i >= 0 {
		d.items[i].Value = v
		return i
	}
	d.items = append(d.items, Item{k, v})
	return len(d.items) - 1
}

// Swap is Put, and also returns the value k had, if it had one.
func (d *Dict) Swap(k, v any) (i int, old any, replaced bool) {
	if i := d.index.put(d.keyAt, len(d.items), k); i >= 0 {
		old = d.items[i].Value
		d.items[i].Value = v
		return i, old, true
	}
	d.items = append(d.items, Item{k, v})
	return len(d.items) - 1, nil, false
}

func (d *Dict) keyAt(i int) any { return d.items[i].Key }

// SetItems sets d[kv[i]] = kv[i+1] for each pair of kv in order, as Swap
// would for each pair, and returns the values it replaced (keys set twice),
// nil when none were. It is the decoder's bulk form of Swap: room is made
// once, and a str key is hashed once for both its lookup and its insertion.
func (d *Dict) SetItems(kv []any) (replaced []any) {
	d.Grow(len(kv) / 2)
	if !d.index.built() {
		kv, replaced = d.setScanned(kv)
	}
	for ; len(kv) >= 2; kv = kv[2:] {
		k, v := kv[0], kv[1]
		s, isStr := k.(string)
		if !isStr || !d.index.built() {
			if _, old, ok := d.Swap(k, v); ok {
				replaced = append(replaced, old)
			}
			continue
		}
		x := &d.index
		if (x.nslot+1)*4 > len(x.slots)*3 {
			x.grow()
		}
		h := maphash.String(indexSeed, s)
		mask := uint64(len(x.slots) - 1)
		i := h & mask
		for ; x.slots[i].pos != 0; i = (i + 1) & mask {
			sl := x.slots[i]
			if sl.hash != uint32(h) {
				continue
			}
			if is, ok := d.items[sl.pos-1].Key.(string); ok && is == s {
				break
			}
		}
		if p := x.slots[i].pos; p != 0 {
			replaced = append(replaced, d.items[p-1].Value)
			d.items[p-1].Value = v
			continue
		}
		d.items = append(d.items, Item{k, v})
		x.slots[i] = idxSlot{hash: uint32(h), pos: int32(len(d.items))}
		x.nslot++
	}
	return replaced
}

// setScanned is SetItems while the dict has no index and the keys are
// strs: they are compared directly, and only when a key's sketch bit says
// an equal str may be among the keys. It returns the pairs left (from a
// key that is not a str, or once the dict outgrows scanning).
func (d *Dict) setScanned(kv []any) (rest, replaced []any) {
	var sketch uint64
	for i := range d.items {
		if is, ok := d.items[i].Key.(string); ok {
			sketch |= strSketch(is)
		}
	}
	for ; len(kv) >= 2; kv = kv[2:] {
		s, isStr := kv[0].(string)
		if !isStr || len(d.items) >= indexMin {
			break
		}
		if b := strSketch(s); sketch&b != 0 {
			found := false
			for i := range d.items {
				if is, ok := d.items[i].Key.(string); ok && is == s {
					replaced = append(replaced, d.items[i].Value)
					d.items[i].Value = kv[1]
					found = true
					break
				}
			}
			if found {
				continue
			}
		} else {
			sketch |= b
		}
		d.items = append(d.items, Item{kv[0], kv[1]})
	}
	return kv, replaced
}

// strSketch is one bit of 64 chosen by a str's length and its first and
// last bytes.
func strSketch(s string) uint64 {
	if len(s) == 0 {
		return 1
	}
	return 1 << ((uint(len(s))*31 + uint(s[0])*7 + uint(s[len(s)-1])) & 63)
}

// Set is a Python set: insertion-ordered (Python's own order is by hash;
// ordering by insertion keeps round trips deterministic).
type Set struct {
	items []any
	index keyIndex
}

// FrozenSet is a Python frozenset.
type FrozenSet struct{ Set }

// NewSet returns a set of the given items.
func NewSet(items ...any) *Set {
	s := &Set{}
	for _, it := range items {
		s.Add(it)
	}
	return s
}

// NewFrozenSet returns a frozenset of the given items.
func NewFrozenSet(items ...any) *FrozenSet {
	f := &FrozenSet{}
	for _, it := range items {
		f.Add(it)
	}
	return f
}

// Add inserts v unless an equal item is present.
func (s *Set) Add(v any) {
	if s.index.put(s.itemAt, len(s.items), v) < 0 {
		s.items = append(s.items, v)
	}
}

// AddItems adds items in order, as Add would each, and returns how many
// it added: it stops at the first item that is not a str, an int64, a
// float64, a bool or nil (values that are always hashable), for the
// caller to check that item and go on. It is the decoder's bulk form of
// Add: room is made once, and a run of ints or strs is added in one loop.
func (s *Set) AddItems(items []any) int {
	s.Grow(len(items))
	x := &s.index
	for i := 0; i < len(items); i++ {
		it := items[i]
		switch v := it.(type) {
		case int64:
			if !x.built() {
				break
			}
			i += s.addInts(x.intsFor(s.itemAt, len(s.items)), items[i:]) - 1
			continue
		case string:
			if !x.built() {
				break
			}
			if x.putStr(s.itemAt, v, len(s.items)) < 0 {
				s.items = append(s.items, it)
			}
			continue
		case float64, bool, nil:
		default:
			return i
		}
		s.Add(it)
	}
	return len(items)
}

// addInts adds the leading int64s of items to the set, whose int table is
// t, and returns how many it took. In a table placed by the ints
// themselves, a key whose first slot is empty (every key of a range or a
// stride) is absent and placed at once; others go through t.put.
func (s *Set) addInts(t *intTable, items []any) int {
	// The fast case works on locals, which stores into the items would
	// otherwise make the compiler reload each time.
	slots, dst, n := t.slots, s.items, t.n
	mask, limit := uint32(len(slots)-1), len(slots)*3/4
	placed := 0
	for j, it := range items {
		v, ok := it.(int64)
		if !ok {
			s.items, t.n = dst, n
			t.visited += placed
			t.spent += placed
			return j
		}
		if !t.keyed && n < limit {
			if i := uint32(v) & mask; slots[i].pos == 0 {
				slots[i] = intSlot{tag: uint32(v), pos: int32(len(dst) + 1)}
				n++
				placed++
				dst = append(dst, it)
				continue
			}
		}
		s.items, t.n = dst, n
		if t.put(s.itemAt, v, len(dst)) < 0 {
			s.items = append(s.items, it)
		}
		slots, dst, n = t.slots, s.items, t.n
		mask, limit = uint32(len(slots)-1), len(slots)*3/4
	}
	s.items, t.n = dst, n
	t.visited += placed
	t.spent += placed
	return len(items)
}

// Grow makes room for n more items.
func (s *Set) Grow(n int) {
	if n > 0 && cap(s.items)-len(s.items) < n {
		s.items = append(make([]any, 0, max(len(s.items)+n, 2*cap(s.items))), s.items...)
	}
	s.index.reserve(s.itemAt, len(s.items), len(s.items)+n)
}

// Has reports whether an item equal to v is present.
func (s *Set) Has(v any) bool {
	return s != nil && s.index.find(s.itemAt, len(s.items), v) >= 0
}

// Len returns the number of items.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.items)
}

// Items returns the items in insertion order (the Set's own slice).
func (s *Set) Items() []any {
	if s == nil {
		return nil
	}
	return s.items
}

func (s *Set) itemAt(i int) any { return s.items[i] }

// keyIndex finds keys by Python equality. Small collections are scanned;
// from indexMin items on, str keys go in a compact open-addressing table of
// (hash, position) pairs — as CPython's dict does, the keys themselves stay
// in the items — keys equal to an int64 (ints, bools, integral floats) in
// a table of their own (intTable), and other keys in a map from their
// normalized form. Each table is made when its first key comes.
type keyIndex struct {
	*indexData // nil until the collection outgrows scanning
}

type indexData struct {
	slots []idxSlot   // str keys; len is a power of two (or 0)
	nslot int         // entries in slots
	ints  intTable    // keys equal to an int64
	m     map[any]int // other keys
	hint  int         // the items the collection was last sized for

	byID map[*any]any // keys of the long tuples in the index, by identity
}

type idxSlot struct {
	hash uint32
	pos  int32 // position + 1; 0 is an empty slot
}

const indexMin = 8

var indexSeed = maphash.MakeSeed()

func (x *keyIndex) built() bool { return x.indexData != nil }

func (x *keyIndex) find(at func(int) any, n int, k any) int {
	i, _, _ := x.lookup(at, n, k)
	return i
}

// keyState says whether lookup computed its key's Key, and how it came out.
type keyState int8

const (
	noKey      keyState = iota // not computed (str, int, or found by identity)
	gotKey                     // nk is the key
	unhashable                 // Key refused it
)

// lookup is find that also returns k's key when it computed one, for put
// to insert without computing it again. It writes nothing, so
// goroutines may read one collection at the same time.
func (x *keyIndex) lookup(at func(int) any, n int, k any) (int, any, keyState) {
	if s, isStr := k.(string); isStr {
		if !x.built() {
			// A str equals only a str: compare directly, no normalizing.
			for i := 0; i < n; i++ {
				if is, ok := at(i).(string); ok && is == s {
					return i, nil, noKey
				}
			}
			return -1, nil, noKey
		}
		if x.nslot == 0 {
			return -1, nil, noKey
		}
		h := maphash.String(indexSeed, s)
		mask := uint64(len(x.slots) - 1)
		for i := h & mask; ; i = (i + 1) & mask {
			sl := x.slots[i]
			if sl.pos == 0 {
				return -1, nil, noKey
			}
			if sl.hash == uint32(h) {
				if is, ok := at(int(sl.pos) - 1).(string); ok && is == s {
					return int(sl.pos) - 1, nil, noKey
				}
			}
		}
	}
	if v, isInt := k.(int64); isInt && x.built() {
		return x.ints.find(at, v), nil, noKey
	}
	if !x.built() {
		if n == 0 {
			return -1, nil, noKey // nothing to compare with: no key to compute
		}
		// Identity first, as Python's lookups: the same tuple (a memo
		// reference) is found without computing its key.
		if t, isTuple := k.(Tuple); isTuple && len(t) > 0 {
			for i := 0; i < n; i++ {
				if it, ok := at(i).(Tuple); ok && len(it) == len(t) && &it[0] == &t[0] {
					return i, nil, noKey
				}
			}
		}
	}
	if x.built() {
		if id := identity(k); id != nil {
			if nk, ok := x.byID[id]; ok {
				// A long tuple met again by identity: its key is known.
				if i, ok := x.m[nk]; ok {
					return i, nk, gotKey
				}
				return -1, nk, gotKey
			}
		}
	}
	nk, ok := Key(k)
	if !ok {
		return -1, nil, unhashable // never equal to another key
	}
	if x.built() {
		if n, isInt := nk.(int64); isInt {
			return x.ints.find(at, n), nk, gotKey
		}
		if i, ok := x.m[nk]; ok {
			return i, nk, gotKey
		}
		return -1, nk, gotKey
	}
	for i := 0; i < n; i++ {
		if ik, ok := Key(at(i)); ok && ik == nk {
			return i, nk, gotKey
		}
	}
	return -1, nk, gotKey
}

// identity is the address of a long tuple's items (nil for other values):
// byID keeps the keys of such tuples, so a tuple met again (a memo
// reference) is looked up without computing its key.
func identity(k any) *any {
	if t, ok := k.(Tuple); ok && len(t) >= 16 {
		return &t[0]
	}
	return nil
}

// put returns the position of the key equal to k among the n items, if
// there is one; otherwise it records k at position n (the caller appends
// it there) and returns -1. For a str or an int key one walk of its table
// does both.
func (x *keyIndex) put(at func(int) any, n int, k any) int {
	if x.built() {
		switch v := k.(type) {
		case string:
			return x.putStr(at, v, n)
		case int64:
			return x.intsFor(at, n).put(at, v, n)
		case float64, bool:
			if i, isInt := intKey(v); isInt {
				return x.intsFor(at, n).put(at, i, n)
			}
		}
	}
	i, nk, st := x.lookup(at, n, k)
	if i >= 0 {
		return i
	}
	if !x.built() {
		if n < indexMin {
			return -1
		}
		x.build(at, n, n+1)
	}
	if st == noKey {
		x.insert(at, k, n)
	} else {
		x.insertKey(at, k, nk, st == gotKey, n)
	}
	return -1
}

// putStr is put for a str key.
func (x *keyIndex) putStr(at func(int) any, s string, pos int) int {
	if (x.nslot+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	h := maphash.String(indexSeed, s)
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for ; x.slots[i].pos != 0; i = (i + 1) & mask {
		sl := x.slots[i]
		if sl.hash == uint32(h) {
			if is, ok := at(int(sl.pos) - 1).(string); ok && is == s {
				return int(sl.pos) - 1
			}
		}
	}
	x.slots[i] = idxSlot{hash: uint32(h), pos: int32(pos + 1)}
	x.nslot++
	return -1
}

// intsFor is the int table, made on its first key (at position pos) with
// room for the items the collection was sized for that are not strs.
func (x *keyIndex) intsFor(at func(int) any, pos int) *intTable {
	if len(x.ints.slots) == 0 {
		x.ints.reserve(at, max(x.hint-x.nslot, pos-x.nslot, 0)+1)
	}
	return &x.ints
}

// build indexes the first n items, with room for want.
func (x *keyIndex) build(at func(int) any, n, want int) {
	x.indexData = &indexData{hint: want}
	for i := 0; i < n; i++ {
		x.insert(at, at(i), i)
	}
}

func (x *keyIndex) insert(at func(int) any, k any, pos int) {
	if s, isStr := k.(string); isStr {
		x.insertSlot(maphash.String(indexSeed, s), pos)
		return
	}
	nk, ok := Key(k)
	x.insertKey(at, k, nk, ok, pos)
}

// insertKey is insert for a key already computed (ok false: unhashable).
func (x *keyIndex) insertKey(at func(int) any, k, nk any, ok bool, pos int) {
	if n, isInt := nk.(int64); isInt {
		x.intsFor(at, pos).put(at, n, pos)
		return
	}
	if ok {
		if x.m == nil {
			x.m = make(map[any]int)
		}
		x.m[nk] = pos
		if id := identity(k); id != nil {
			if x.byID == nil {
				x.byID = make(map[*any]any)
			}
			x.byID[id] = nk
		}
	}
}

// insertSlot puts position pos with hash h in the table.
func (x *keyIndex) insertSlot(h uint64, pos int) {
	if (x.nslot+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].pos != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = idxSlot{hash: uint32(h), pos: int32(pos + 1)}
	x.nslot++
}

// grow doubles the str table (or makes it, sized for the items the
// collection was sized for that are not ints); stored hashes place the
// entries again without touching the keys (whose full hash the low 32 bits
// stand in for).
func (x *keyIndex) grow() {
	old := x.slots
	size := 2 * len(old)
	if size == 0 {
		size = 16
		for want := x.hint - x.ints.n; want*4 > size*3; {
			size <<= 1
		}
	}
	x.slots = make([]idxSlot, size)
	mask := uint64(len(x.slots) - 1)
	for _, sl := range old {
		if sl.pos == 0 {
			continue
		}
		i := uint64(sl.hash) & mask
		for x.slots[i].pos != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = sl
	}
}

// reserve builds or grows the index for want items in all.
func (x *keyIndex) reserve(at func(int) any, n, want int) {
	if want <= indexMin {
		return
	}
	if !x.built() {
		x.build(at, n, want)
		return
	}
	x.hint = max(x.hint, want)
	// A table that has keys makes room for all the new ones: most
	// collections have keys of one kind.
	if x.nslot > 0 {
		for (x.nslot+want-n)*4 > len(x.slots)*3 {
			x.grow()
		}
	}
	if x.ints.n > 0 {
		x.ints.reserve(at, x.ints.n+want-n)
	}
}

type (
	bigKey   string // an int outside int64, in decimal
	bytesKey string
	str2Key  string
	tupleKey string
	longKey  [2]uint64 // a tuple whose element keys are longer than longMin, as a 128-bit digest
	fsetKey  string
	ptrKey   struct{ p any }
)

// Key returns a comparable Go value that is equal for two keys exactly when
// Python considers them equal (1 == 1.0 == True; tuples by content), and
// false for values Python cannot hash (list, dict, set, bytearray).
//
// Its work is bounded by the distinct objects under k, not by the text of
// the key: a tuple or frozenset met again inside k (a memo reference) is
// keyed once, and a long str is digested once, so tuples that share their
// items cannot describe an exponentially large key in a few bytes of
// pickle.
func Key(k any) (any, bool) {
	switch k.(type) {
	case string, int64:
		return k, true // the caller's interface: no new boxing
	}
	var c keyCtx
	return c.key(k, false)
}

// keyCtx is the state of one Key computation.
type keyCtx struct {
	seqs map[seqID]any      // keys of the tuples and frozensets inside, by identity
	strs map[strID][16]byte // digests of the long strs inside, by identity
}

type seqID struct {
	p unsafe.Pointer
	n int
}

func (c *keyCtx) key(k any, inner bool) (any, bool) {
	switch v := k.(type) {
	case string:
		return k, true // the caller's interface: no new boxing
	case int64:
		return k, true
	case int:
		return int64(v), true
	case bool:
		if v {
			return int64(1), true
		}
		return int64(0), true
	case nil:
		return nil, true
	case float64:
		if v == math.Trunc(v) && v >= -(1<<63) && v < 1<<63 {
			return int64(v), true
		}
		if math.IsInf(v, 0) {
			return v, true
		}
		if v == math.Trunc(v) { // integral but beyond int64
			b, _ := new(big.Float).SetFloat64(v).Int(nil)
			return bigKey(b.String()), true
		}
		return v, true
	case *big.Int:
		if v.IsInt64() {
			return v.Int64(), true
		}
		return bigKey(v.String()), true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
		return bigKey(strconv.FormatUint(v, 10)), true
	case int8, int16, int32, uint, uint8, uint16, uint32, float32:
		return c.key(normalizeNumber(v), inner)
	case complex128:
		if imag(v) == 0 {
			return c.key(real(v), inner)
		}
		return v, true
	case []byte:
		return bytesKey(v), true
	case ByteString:
		return str2Key(v), true
	case Tuple:
		if len(v) == 0 {
			return tupleKey(""), true
		}
		id := seqID{unsafe.Pointer(&v[0]), len(v)}
		if inner {
			if nk, ok := c.seqs[id]; ok {
				return nk, nk != nil
			}
		}
		nk, ok := c.tupleKey(v)
		if inner {
			c.remember(id, nk)
		}
		return nk, ok
	case *FrozenSet:
		id := seqID{unsafe.Pointer(v), -1}
		if inner {
			if nk, ok := c.seqs[id]; ok {
				return nk, nk != nil
			}
		}
		nk, ok := c.frozenSetKey(v)
		if inner {
			c.remember(id, nk)
		}
		return nk, ok
	case Global, PersistentID, OutOfBand:
		if _, ok := v.(PersistentID); ok {
			return nil, false
		}
		return v, true
	case *Call, *Object:
		return ptrKey{v}, true // by identity, as Python's default hash
	case time.Time:
		return timeKeyOf(v), true
	case time.Duration:
		return durationKey(v / time.Microsecond), true
	case []any, *Dict, *Set, ByteArray:
		return nil, false
	}
	return nil, false
}

// tupleKey encodes the element keys of a tuple in order; a run of equal
// element keys is written once, with its length ('r' and a count), so the
// key is canonical whatever objects the elements are, and a run of
// references to one object (a memo reference each) costs a pointer
// comparison per element, not its key. Element keys past longMin bytes in
// all are digested as they come (a longKey).
func (c *keyCtx) tupleKey(v Tuple) (any, bool) {
	e := keyEnc{ctx: c}
	var long *[2]maphash.Hash // the digest of a long tuple's element keys
	var prev [48]byte         // the encoding of the last element key
	prevLen := -1             // its length; -1: none to compare with
	var prevStr strID         // the last element, if it was a str written as a digest
	run := 0                  // elements equal to the last one, not yet written
	for _, el := range v {
		if s, isStr := el.(string); isStr && prevStr.p != nil && len(s) == prevStr.n && unsafe.StringData(s) == prevStr.p {
			run++ // the same str again: the same key
			continue
		}
		prevStr = strID{}
		ek, elOK := c.key(el, true)
		if !elOK {
			return nil, false
		}
		start := len(e.b)
		e.write(ek)
		enc := e.b[start:]
		if len(enc) == prevLen && string(enc) == string(prev[:prevLen]) {
			e.b = e.b[:start]
			run++
		} else {
			if run > 0 {
				// The run's length goes before this element's key.
				var tmp [48]byte
				saved := append(tmp[:0], enc...)
				e.b = binary.AppendUvarint(append(e.b[:start], 'r'), uint64(run))
				e.b = append(e.b, saved...)
				run = 0
			}
			prevLen = -1
			if len(enc) <= len(prev) {
				prevLen = copy(prev[:], e.b[len(e.b)-len(enc):])
			}
		}
		if s, isStr := el.(string); isStr && len(s) > digestMin {
			prevStr = strID{unsafe.StringData(s), len(s)}
		}
		if len(e.b) >= longMin {
			if long == nil {
				long = new([2]maphash.Hash)
				long[0].SetSeed(digestSeeds[0])
				long[1].SetSeed(digestSeeds[1])
			}
			long[0].Write(e.b)
			long[1].Write(e.b)
			e.b = e.b[:0]
		}
	}
	if run > 0 {
		e.b = binary.AppendUvarint(append(e.b, 'r'), uint64(run))
	}
	if long != nil {
		long[0].Write(e.b)
		long[1].Write(e.b)
		return longKey{long[0].Sum64(), long[1].Sum64()}, true
	}
	return tupleKey(e.b), true
}

func (c *keyCtx) remember(id seqID, nk any) {
	if c.seqs == nil {
		c.seqs = make(map[seqID]any)
	}
	c.seqs[id] = nk // nil: unhashable
}

// frozenSetKey is order-independent without sorting: the count, and the
// sum and the xor of each element's 128-bit keyed digest (a frozenset's
// items are distinct keys). O(n), as CPython's frozenset hash.
func (c *keyCtx) frozenSetKey(v *FrozenSet) (any, bool) {
	e := keyEnc{ctx: c}
	var sum, xor [2]uint64
	for _, el := range v.items {
		var h0, h1 uint64
		n, isInt := el.(int64) // the common case, with no key to make
		if !isInt {
			ek, ok := c.key(el, true)
			if !ok {
				return nil, false
			}
			n, isInt = ek.(int64)
			if !isInt {
				e.b = e.b[:0]
				e.write(ek)
				h0 = maphash.Bytes(digestSeeds[0], e.b)
				h1 = maphash.Bytes(digestSeeds[1], e.b)
			}
		}
		if isInt {
			h0 = maphash.Comparable(digestSeeds[0], n)
			h1 = maphash.Comparable(digestSeeds[1], n)
		}
		var carry uint64
		sum[0], carry = bits.Add64(sum[0], h0, 0)
		sum[1], _ = bits.Add64(sum[1], h1, carry)
		xor[0] ^= h0
		xor[1] ^= h1
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(v.items)))
	for _, w := range [...]uint64{sum[0], sum[1], xor[0], xor[1]} {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return fsetKey(b), true
}

func normalizeNumber(v any) any {
	switch n := v.(type) {
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case uint:
		return uint64(n)
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case float32:
		return float64(n)
	}
	return v
}

func writeKey(sb *strings.Builder, k any) {
	var s string
	var tag byte
	switch v := k.(type) {
	case nil:
		tag, s = 'N', ""
	case string:
		tag, s = 's', v
	case int64:
		tag, s = 'i', strconv.FormatInt(v, 10)
	case float64:
		tag, s = 'f', strconv.FormatFloat(v, 'g', -1, 64)
	case complex128:
		tag, s = 'c', strconv.FormatComplex(v, 'g', -1, 128)
	case bigKey:
		tag, s = 'I', string(v)
	case bytesKey:
		tag, s = 'b', string(v)
	case str2Key:
		tag, s = 'S', string(v)
	case tupleKey:
		tag, s = 't', string(v)
	case fsetKey:
		tag, s = 'F', string(v)
	case Global:
		tag, s = 'g', v.Module+"\n"+v.Name
	case ptrKey:
		tag, s = 'p', fmt.Sprintf("%p", v.p)
	case timeKey:
		tag, s = 'T', v.String()
	case durationKey:
		tag, s = 'D', strconv.FormatInt(int64(v), 10)
	default:
		tag, s = 'o', fmt.Sprintf("%T:%v", v, v)
	}
	sb.WriteByte(tag)
	sb.WriteString(strconv.Itoa(len(s)))
	sb.WriteByte(':')
	sb.WriteString(s)
}

// keyEnc writes the element keys of a tuple or frozenset key. Its size
// and work are bounded by the input, not by the text of the elements: an
// element key longer than digestMin is written as a 128-bit digest, and a
// str met again by identity (a memo reference) is not hashed again, and a
// tuple writes a run of equal element keys once (tupleKey), so a tuple of
// 65,000 references to one 4 KiB str is a 22-byte key, not a 266 MB one.
// (Two distinct keys share a digest with probability 2^-128 under
// per-process random seeds.)
type keyEnc struct {
	b      []byte
	ctx    *keyCtx // holds the digests of the strs met before
	lastID strID   // the str digested last (references come in runs)
	last   [16]byte
}

type strID struct {
	p *byte
	n int
}

const digestMin = 32

// longMin is the length of element keys from which a tuple's key is their
// digest: a tuple of 65,000 items is a 16-byte key, not a 1 MB one that
// every map lookup would hash again.
const longMin = 1024

var digestSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func (e *keyEnc) digest(tag byte, s string) {
	var d [16]byte
	id := strID{unsafe.StringData(s), len(s)}
	if id == e.lastID {
		d = e.last
	} else if c, ok := e.ctx.strs[id]; ok {
		d = c
	} else {
		binary.LittleEndian.PutUint64(d[:8], maphash.String(digestSeeds[0], s))
		binary.LittleEndian.PutUint64(d[8:], maphash.String(digestSeeds[1], s))
		if e.ctx.strs == nil {
			e.ctx.strs = make(map[strID][16]byte)
		}
		e.ctx.strs[id] = d
	}
	e.lastID, e.last = id, d
	e.b = append(e.b, 'h', tag)
	e.b = append(e.b, d[:]...)
}

func (e *keyEnc) bytes(tag byte, s string) {
	if len(s) > digestMin {
		e.digest(tag, s)
		return
	}
	e.b = append(e.b, tag, byte(len(s)))
	e.b = append(e.b, s...)
}

func (e *keyEnc) write(k any) {
	switch v := k.(type) {
	case nil:
		e.b = append(e.b, 'N')
	case int64:
		e.b = append(e.b, 'i')
		e.b = binary.LittleEndian.AppendUint64(e.b, uint64(v))
	case float64:
		e.b = append(e.b, 'f')
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
	case string:
		e.bytes('s', v)
	case bytesKey:
		e.bytes('b', string(v))
	case str2Key:
		e.bytes('S', string(v))
	case tupleKey:
		e.bytes('t', string(v))
	case longKey:
		e.b = append(e.b, 'L')
		e.b = binary.LittleEndian.AppendUint64(e.b, v[0])
		e.b = binary.LittleEndian.AppendUint64(e.b, v[1])
	case fsetKey:
		e.bytes('F', string(v))
	case bigKey:
		e.bytes('I', string(v))
	default:
		var sb strings.Builder
		writeKey(&sb, k)
		e.bytes('o', sb.String())
	}
}
