package unpickler

import (
	"encoding/binary"
	"unicode/utf8"
	"unsafe"
)

func leUint64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// Decoded ints, floats and strings are stored in interfaces. Converting
// each to an interface would allocate once per value; instead they are
// appended to slabs and the interfaces point into them. An interface's
// data word may point anywhere in the heap: the slab stays alive as long as
// any value in it is referenced, and nothing writes to a slot once made.

type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	int64Type   = typeOf(int64(0))
	float64Type = typeOf(float64(0))
	stringType  = typeOf("")
)

const slabSize = 512

// boxIn appends v to a slab and returns an interface of type typ
// pointing at it.
func boxIn[T any](slab *[]T, v T, typ unsafe.Pointer) any {
	if len(*slab) == cap(*slab) {
		*slab = make([]T, 0, slabSize)
	}
	return boxAt(slab, v, typ)
}

func boxAt[T any](slab *[]T, v T, typ unsafe.Pointer) any {
	*slab = append(*slab, v)
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = typ, unsafe.Pointer(&(*slab)[len(*slab)-1])
	return r
}

// Slabs and arenas are sized from what the input can still hold (a value
// takes at least 2 bytes of pickle), so a kept value pins at most about
// its own pickle's worth of neighbours, never a fixed 32 KiB per pickle.
func (m *machine) slabCap() int {
	a := m.sizeHint()
	if a/2 >= slabSize {
		return slabSize
	}
	return int(a/2) + 1
}

// sizeHint is the input a slab or arena is sized for: what the input can
// still hold where that is known (bytes, segments); over an io.Reader,
// which cannot say, what this pickle has taken so far (at least 64
// bytes), so that sizes double as a long pickle goes on and a short one
// (a stream of small messages) does not take 32 KiB arenas a Decode.
func (m *machine) sizeHint() int64 {
	if a := m.src.Available(); a >= 0 {
		return a
	}
	return max(64, m.src.Offset()-m.begin)
}

func (m *machine) boxInt(v int64) any {
	if v >= 0 && v < 256 {
		return v // the runtime has these without allocating
	}
	if len(m.ints) == cap(m.ints) {
		m.ints = make([]int64, 0, m.slabCap())
	}
	return boxAt(&m.ints, v, int64Type)
}

func (m *machine) boxFloat(v float64) any {
	if len(m.floats) == cap(m.floats) {
		m.floats = make([]float64, 0, m.slabCap())
	}
	return boxAt(&m.floats, v, float64Type)
}

// boxString boxes s. Only short strs (their bytes in the arena) share a
// slab: a kept one then pins at most a slab of short neighbours, never a
// long str decoded next to it.
func (m *machine) boxString(s string) any {
	if len(s) > maxArenaStr {
		return s // its own box
	}
	if len(m.strs) == cap(m.strs) {
		m.strs = make([]string, 0, m.slabCap())
	}
	return boxAt(&m.strs, s, stringType)
}

// maxArenaStr is the longest str whose bytes go in the arena.
const maxArenaStr = 256

// str copies a short payload into an arena of string bytes, so that many
// small strings cost one allocation; longer ones get their own.
func (m *machine) str(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > maxArenaStr {
		return string(b)
	}
	if cap(m.arena)-len(m.arena) < n {
		size := min(int64(32<<10), m.sizeHint()+int64(n)) // the input's strs fit in it
		m.arena = make([]byte, 0, size)
	}
	start := len(m.arena)
	m.arena = append(m.arena, b...)
	return unsafe.String(&m.arena[start], n)
}

// strHdr is the size of a string header.
const strHdr = int(unsafe.Sizeof(""))

// strBox returns the str whose UTF-8 bytes are b (checked by the caller)
// as an interface, with one copy and no allocation of its own for short
// strs: the string header and its bytes sit side by side in one
// pointer-free block of the arena, and the interface points at the header.
// A str over maxArenaStr bytes gets its own allocations, so that a kept
// short str never pins a long one.
//
// Why this is sound: the header's data word points into the same block,
// and the block stays alive while anything points into it (the interface,
// or a string copied out of it, which points at the bytes). The collector
// needs to see that word only to keep the block alive, which the pointer
// to the header does already, so the block may stay pointer-free (never
// scanned) and the word is written as a uintptr, with no write barrier.
// Go's collector does not move objects. Nothing writes to a block's bytes
// or header once made.
func (m *machine) strBox(b []byte) any {
	n := len(b)
	if n == 0 {
		return "" // static: no allocation
	}
	if n > maxArenaStr {
		// Its own bytes (not zeroed first, as a block would be: a long
		// str costs its copy only) and its own header.
		return string(b)
	}
	blk := m.arenaBlock(n) // the header at blk[0], the bytes after it
	copy(blk[strHdr:], b)
	return strAt(blk)
}

// arenaBlock returns room in the arena for a short str of n bytes and its
// header.
func (m *machine) arenaBlock(n int) []byte {
	start := (len(m.sarena) + 7) &^ 7 // headers are word-aligned
	need := strHdr + n
	if start+need > cap(m.sarena) {
		// Sized from what the input can still hold: each str takes at
		// least 3 bytes of input and at most strHdr+7 bytes of arena
		// besides its own bytes, so a kept str pins about its pickle's
		// worth of neighbours, never a fixed 32 KiB.
		size := min(int64(32<<10), 9*(m.sizeHint()+int64(n))+int64(strHdr))
		size = (max(size, int64(need)) + 7) &^ 7 // word-aligned, over 16 bytes: not in a tiny block
		m.sarena = make([]byte, 0, size)
		start = 0
	}
	m.sarena = m.sarena[:start+need]
	return m.sarena[start : start+need : start+need]
}

// strAt writes the header of the str whose bytes follow it in blk and
// returns the interface that points at it (see strBox).
func strAt(blk []byte) any {
	h := (*[2]uintptr)(unsafe.Pointer(&blk[0]))
	h[0] = uintptr(unsafe.Pointer(&blk[strHdr]))
	h[1] = uintptr(len(blk) - strHdr)
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = stringType, unsafe.Pointer(&blk[0])
	return r
}

// shortStrBox is strBox for a SHORT_BINUNICODE payload (at most 255
// bytes, so always in the arena), copied and checked in one pass; false
// when it is not ASCII and not valid UTF-8 (nothing is kept then).
func (m *machine) shortStrBox(b []byte) (any, bool) {
	n := len(b)
	if n == 0 {
		return "", true
	}
	if n <= 16 && cap(b) >= 16 {
		// Up to 16 bytes with room on both sides (the input's bytes
		// after the str; the arena's free room after the block): one
		// 16-byte load and store. A dict's hash reads a key back at once
		// as one 16-byte load, which a store of single bytes would stall
		// (as the typed dict's keys did, fastKeyFloats).
		start := (len(m.sarena) + 7) &^ 7
		if start+strHdr+16 <= cap(m.sarena) {
			w := [16]byte(b[:16])
			lo, hi := leUint64(w[:8]), leUint64(w[8:])
			if n < 8 {
				lo, hi = lo&(1<<(8*n)-1), 0
			} else if n < 16 {
				hi &= 1<<(8*(n-8)) - 1
			}
			if (lo|hi)&0x8080808080808080 == 0 { // ASCII (else below: UTF-8 checked)
				blk := m.sarena[start : start+strHdr+16]
				*(*[16]byte)(blk[strHdr:]) = w // the bytes past n belong to no str yet
				m.sarena = m.sarena[:start+strHdr+n]
				return strAt(blk[: strHdr+n : strHdr+n]), true
			}
		}
	}
	blk := m.arenaBlock(n)
	dst := blk[strHdr:]
	var or byte
	for j, c := range b[:len(dst)] {
		dst[j] = c
		or |= c
	}
	if or >= utf8.RuneSelf && !utf8.Valid(b) {
		m.sarena = m.sarena[:len(m.sarena)-len(blk)] // the block is the arena's last
		return nil, false
	}
	return strAt(blk), true
}

// A tuple of scalars (ints, floats, bools, None) is immutable and holds
// nothing but them: such short tuples share slabs, as the scalars do,
// instead of one allocation each. A slab takes only tuples whose boxed
// scalars are in at most two int slabs and two float slabs (ints 0..255,
// bools and None need no box), so a kept tuple pins its own slab (4 KiB)
// and four scalar slabs (4 KiB each) at most, never a str, a container or
// anything else.
type tupleSlab[A any] struct {
	s      []tupleOf[A]
	ints   [2]unsafe.Pointer // the int slabs its tuples' boxes are in
	floats [2]unsafe.Pointer // the float slabs
}

// tupleSlabBytes is the size of a tuple slab: at most 4 KiB.
const tupleSlabBytes = 4 << 10

var boolType = typeOf(false)

// scalarTuple returns items as a tuple from a slab when they are 1 to 4
// scalars as above; false otherwise (the caller makes it as before).
func (m *machine) scalarTuple(items []any) (any, bool) {
	var ints, floats unsafe.Pointer // the current slabs, when an item is in one
	for i := range items {
		e := (*eface)(unsafe.Pointer(&items[i]))
		switch e.typ {
		case nil, boolType:
		case int64Type:
			if v := *(*int64)(e.data); v >= 0 && v < 256 {
				continue // the runtime's own box
			}
			if !inSlab(e.data, m.ints) {
				return nil, false
			}
			ints = unsafe.Pointer(unsafe.SliceData(m.ints))
		case float64Type:
			if !inSlab(e.data, m.floats) {
				return nil, false
			}
			floats = unsafe.Pointer(unsafe.SliceData(m.floats))
		default:
			return nil, false
		}
	}
	switch len(items) {
	case 1:
		return slabTuple(m, &m.tup1, items, ints, floats), true
	case 2:
		return slabTuple(m, &m.tup2, items, ints, floats), true
	case 3:
		return slabTuple(m, &m.tup3, items, ints, floats), true
	case 4:
		return slabTuple(m, &m.tup4, items, ints, floats), true
	}
	return nil, false
}

// inSlab reports whether p points into the backing array of slab.
func inSlab[T any](p unsafe.Pointer, slab []T) bool {
	if cap(slab) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(slab)))
	var z T
	return uintptr(p)-base < uintptr(cap(slab))*unsafe.Sizeof(z)
}

// slabTuple puts items (checked by scalarTuple, len(A) of them, with boxes
// in the int slab ints and the float slab floats, nil for none) in a tuple
// of ts, starting a slab when the last one is full or would come to point
// into a third int or float slab.
func slabTuple[A any](m *machine, ts *tupleSlab[A], items []any, ints, floats unsafe.Pointer) any {
	if len(ts.s) == cap(ts.s) || !noteSlab(&ts.ints, ints) || !noteSlab(&ts.floats, floats) {
		ts.s = make([]tupleOf[A], 0, min(tupleSlabBytes/int(unsafe.Sizeof(tupleOf[A]{})), m.slabCap()))
		ts.ints, ts.floats = [2]unsafe.Pointer{ints}, [2]unsafe.Pointer{floats}
	}
	ts.s = ts.s[:len(ts.s)+1]
	b := &ts.s[len(ts.s)-1]
	a := unsafe.Slice((*any)(unsafe.Pointer(&b.a)), len(items))
	for i := range a { // 1 to 4 items: no bulk barrier, as copy would have
		a[i] = items[i]
	}
	b.t = a
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = pyTupleType, unsafe.Pointer(&b.t)
	return r
}

// noteSlab records slab p (nil for none) among the two a tuple slab may
// point into; false when both are other slabs.
func noteSlab(in *[2]unsafe.Pointer, p unsafe.Pointer) bool {
	switch {
	case p == nil || in[0] == p || in[1] == p:
	case in[0] == nil:
		in[0] = p
	case in[1] == nil:
		in[1] = p
	default:
		return false
	}
	return true
}
