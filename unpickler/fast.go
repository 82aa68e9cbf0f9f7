// Inner loops of the typed path for a batch (MARK … APPENDS / SETITEMS)
// into a list or str-keyed map of scalars: opcodes are parsed in place from
// the input window and their values stored straight into the slice or map,
// nothing pushed. The loops take only what they can finish without error
// (a whole argument inside the window, within the limits) and hand
// anything else back to the machine, with the stack as the machine itself
// would have left it.

package unpickler

import (
	"encoding/binary"
	"math"
	"reflect"
	"unicode/utf8"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
)

// scalar is one value the inner loops read.
type scalar struct {
	kind uint8 // kInt64 (int), kFloat64, kString, kBool
	i    int64
	f    float64
	s    string
}

// readScalar parses the scalar opcode at w[0]; n is 0 when w does not
// start with one the loops take whole.
func (m *machine) readScalar(w []byte) (v scalar, n int) {
	switch w[0] {
	case op.Binint1:
		if len(w) >= 2 {
			return scalar{kind: kInt64, i: int64(w[1])}, 2
		}
	case op.Binint2:
		if len(w) >= 3 {
			return scalar{kind: kInt64, i: int64(binary.LittleEndian.Uint16(w[1:]))}, 3
		}
	case op.Binint:
		if len(w) >= 5 {
			return scalar{kind: kInt64, i: int64(int32(binary.LittleEndian.Uint32(w[1:])))}, 5
		}
	case op.Binfloat:
		if len(w) >= 9 {
			return scalar{kind: kFloat64, f: math.Float64frombits(binary.BigEndian.Uint64(w[1:]))}, 9
		}
	case op.Newtrue:
		return scalar{kind: kBool, i: 1}, 1
	case op.Newfalse:
		return scalar{kind: kBool}, 1
	case op.ShortBinunicode:
		if len(w) >= 2 {
			l := int(w[1])
			if len(w) >= 2+l {
				return m.fastStr(w[2 : 2+l])
			}
		}
	case op.Binunicode:
		if len(w) >= 5 {
			l := binary.LittleEndian.Uint32(w[1:])
			if uint64(len(w)-5) >= uint64(l) {
				v, k := m.fastStr(w[5 : 5+int(l)])
				if k > 0 {
					k += 3
				}
				return v, k
			}
		}
	}
	return v, 0
}

// fastStr is a SHORT_BINUNICODE payload (n counts opcode and length).
func (m *machine) fastStr(b []byte) (scalar, int) {
	if int64(len(b)) > m.cfg.maxLength || m.alloc+int64(len(b)) > m.cfg.maxAlloc || !utf8.Valid(b) {
		return scalar{}, 0
	}
	m.alloc += int64(len(b))
	return scalar{kind: kString, s: m.str(b)}, 2 + len(b)
}

// memoForm is what the memo keeps for a scalar just read: a str stored
// at address at (not nil) is kept as a pointer to it, *string, which costs
// no allocation (GET reads it back); others are boxed.
func (m *machine) memoForm(v scalar, at unsafe.Pointer) any {
	if at != nil && v.kind == kString {
		return (*string)(at)
	}
	switch v.kind {
	case kInt64:
		return m.boxInt(v.i)
	case kFloat64:
		return m.boxFloat(v.f)
	case kString:
		return m.boxString(v.s)
	}
	return v.i != 0
}

// fastMemo handles MEMOIZE / BINPUT / LONG_BINPUT of the value just read;
// n is 0 when w does not start with one (or the memo is full).
func (m *machine) fastMemo(w []byte, v scalar, at unsafe.Pointer) int {
	idx, n := m.memoIndex(w)
	if n == 0 {
		return 0
	}
	if m.nmemo >= m.cfg.maxMemo || m.memoPut(idx, m.memoForm(v, at)) != nil {
		return 0
	}
	return n
}

// memoIndex reads the memo opcode (MEMOIZE, BINPUT, LONG_BINPUT) at w[0]:
// the index it names and its length; n is 0 when w does not hold one.
func (m *machine) memoIndex(w []byte) (idx uint64, n int) {
	switch {
	case len(w) == 0:
		return 0, 0 // the input ends here: the machine says how
	case w[0] == op.Memoize:
		return uint64(m.nmemo), 1
	case w[0] == op.Binput && len(w) >= 2:
		return uint64(w[1]), 2
	case w[0] == op.LongBinput && len(w) >= 5:
		return uint64(binary.LittleEndian.Uint32(w[1:])), 5
	}
	return 0, 0
}

// store writes v into a list slot of kind k; false when the kinds differ.
func store(p *tframe, i int, v scalar) bool {
	at := p.elemPtr(i)
	switch {
	case p.ek == kInt64 && v.kind == kInt64:
		*(*int64)(at) = v.i
	case p.ek == kInt && v.kind == kInt64:
		*(*int)(at) = int(v.i)
	case p.ek == kFloat64 && v.kind == kFloat64:
		*(*float64)(at) = v.f
	case p.ek == kFloat64 && v.kind == kInt64:
		*(*float64)(at) = float64(v.i)
	case p.ek == kString && v.kind == kString:
		*(*string)(at) = v.s
	case p.ek == kBool && v.kind == kBool:
		*(*bool)(at) = v.i != 0
	default:
		return false
	}
	return true
}

// maxInlineFails is how many dicts in a row inlineStruct may give back
// before a list stops asking it.
const maxInlineFails = 4

// fastList runs batches into list frame f, whose MARK was just pushed.
func (m *machine) fastList(f *tframe) {
	w := m.src.Window()
	// Items above the mark: k0 the machine pushed before (when resumeList
	// brings it back mid-batch), k in all; bytes parsed.
	k0 := len(m.stack) - m.marks[len(m.marks)-1]
	i, k := 0, k0
	var last scalar
	var lastAt unsafe.Pointer
	for i < len(w) {
		c := w[i]
		if f.ek == kInt64 && (c == op.Binint1 || c == op.Binint2 || c == op.Binint) && f.n+k < f.cap {
			// The commonest batch: ints, in a loop of their own.
			i2, k2 := fastInts(f, w, i, k)
			if k2 > k {
				i, k = i2, k2
				last, lastAt = scalar{kind: kInt64, i: *(*int64)(f.elemPtr(f.n + k - 1))}, nil
				continue
			}
		}
		switch c {
		case op.Appends:
			if k0 > 0 {
				goto out // the machine's APPENDS settles what it pushed
			}
			f.n += k
			k = 0
			m.marks = m.marks[:len(m.marks)-1]
			i++
			// Another batch, or back to the machine.
			if i < len(w) && w[i] == op.Mark && len(m.marks) < m.cfg.maxDepth {
				m.marks = append(m.marks, len(m.stack))
				i++
				continue
			}
			goto out
		case op.Frame:
			if len(w)-i < 9 || uint64(len(w)-i-9) < binary.LittleEndian.Uint64(w[i+1:]) {
				goto out
			}
			i += 9
			continue
		case op.Binget, op.LongBinget:
			// A memoized str (CPython memoizes every str) into a []string.
			if f.ek != kString || (f.n+k >= f.cap && !m.growTo(f, f.n+k+1, m.src.Offset()+int64(i))) {
				goto out
			}
			var idx uint32
			n := 2
			if c == op.Binget {
				if len(w)-i < 2 {
					goto out
				}
				idx = uint32(w[i+1])
			} else {
				if len(w)-i < 5 {
					goto out
				}
				idx, n = binary.LittleEndian.Uint32(w[i+1:]), 5
			}
			var s string
			p := m.memoSlot(idx, false)
			if p == nil || *p == nil {
				v, _ := m.runGet(idx)
				switch x := v.(type) {
				case *string:
					s = *x
				case string:
					s = x
				default:
					goto out
				}
			} else {
				switch x := (*p).(type) {
				case string:
					s = x
				case *string:
					s = *x
				default:
					goto out
				}
			}
			at := f.elemPtr(f.n + k)
			*(*string)(at) = s
			k++
			i += n
			last, lastAt = scalar{kind: kString, s: s}, at
			continue
		case op.EmptyDict:
			// A dict into a struct element: read in line (inline.go).
			if f.sd == nil || f.fails >= maxInlineFails ||
				(f.n+k >= f.cap && !m.growTo(f, f.n+k+1, m.src.Offset()+int64(i))) {
				goto out
			}
			n := m.inlineStruct(w[i:], f, f.n+k, len(m.stack)+k-k0)
			if n == 0 {
				f.fails++
				goto out
			}
			f.fails = 0
			k++
			i += n
			last, lastAt = scalar{}, nil // a memo opcode here is the machine's
			continue
		case op.Memoize, op.Binput, op.LongBinput:
			if k == k0 || last.kind == kOther {
				goto out
			}
			if idx, n := m.memoIndex(w[i:]); n > 0 && lastAt != nil && m.nmemo < m.cfg.maxMemo &&
				idx <= math.MaxUint32 && m.runAdd(uint32(idx), f, f.n+k-1) {
				i += n
				continue
			}
			n := m.fastMemo(w[i:], last, lastAt)
			if n == 0 {
				goto out
			}
			i += n
			continue
		}
		if f.ek == kInt64 && f.n+k < f.cap {
			// The commonest case, without the scalar struct.
			var x int64
			switch c {
			case op.Binint1:
				if len(w)-i < 2 {
					goto out
				}
				x = int64(w[i+1])
				i += 2
			case op.Binint2:
				if len(w)-i < 3 {
					goto out
				}
				x = int64(binary.LittleEndian.Uint16(w[i+1:]))
				i += 3
			case op.Binint:
				if len(w)-i < 5 {
					goto out
				}
				x = int64(int32(binary.LittleEndian.Uint32(w[i+1:])))
				i += 5
			default:
				goto general
			}
			*(*int64)(f.elemPtr(f.n + k)) = x
			k++
			last, lastAt = scalar{kind: kInt64, i: x}, nil
			continue
		}
		if f.ek == kString && (c == op.ShortBinunicode || c == op.Binunicode) && f.n+k < f.cap {
			if i2, k2 := m.fastStrs(f, w, i, k); k2 > k {
				i, k = i2, k2
				at := f.elemPtr(f.n + k - 1)
				last, lastAt = scalar{kind: kString, s: *(*string)(at)}, at
				continue
			}
		}
		if f.ek == kString && c == op.ShortBinunicode && f.n+k < f.cap && len(w)-i >= 2 {
			l := int(w[i+1])
			if len(w)-i-2 >= l {
				b := w[i+2 : i+2+l]
				if int64(l) <= m.cfg.maxLength && m.alloc+int64(l) <= m.cfg.maxAlloc && utf8.Valid(b) {
					m.alloc += int64(l)
					at := f.elemPtr(f.n + k)
					s := m.str(b)
					*(*string)(at) = s
					k++
					i += 2 + l
					last, lastAt = scalar{kind: kString, s: s}, at
					continue
				}
			}
		}
	general:
		v, n := m.readScalar(w[i:])
		if n == 0 {
			goto out
		}
		if f.n+k >= f.cap && !m.growTo(f, f.n+k+1, m.src.Offset()+int64(i)) {
			goto out
		}
		if !store(f, f.n+k, v) {
			goto out
		}
		last, lastAt = v, nil
		if f.ek == kString {
			lastAt = f.elemPtr(f.n + k)
		}
		k++
		i += n
	}
out:
	m.src.Consume(i)
	for range k - k0 {
		m.stack = append(m.stack, markW)
	}
	if k == 0 {
		m.resumeStruct(f)
	}
}

// resumeStruct goes back to the batch loop of a struct whose field value
// list f has just been completed (f on top, its key under it).
func (m *machine) resumeStruct(f *tframe) {
	if len(m.marks) > 0 && len(m.stack)-1 == f.pos {
		if p := m.marks[len(m.marks)-1]; p >= 1 && (len(m.stack)-p)%2 == 0 {
			if s, ok := m.stack[p-1].(*tframe); ok && s.kind == fStruct {
				m.fastStruct(s)
			}
		}
	}
}

// fastInts is fastList's loop for ints into a []int64: it stores
// BININT1, BININT2 and BININT items while the slice has room and returns
// the bytes parsed and items written.
func fastInts(f *tframe, w []byte, i, k int) (int, int) {
	p := unsafe.Slice((*int64)(f.data), f.cap)
	n := f.n + k
	for ; n < len(p) && i < len(w); n++ {
		var x int64
		switch w[i] {
		case op.Binint1:
			if len(w)-i < 2 {
				return i, n - f.n
			}
			x = int64(w[i+1])
			i += 2
		case op.Binint2:
			if len(w)-i < 3 {
				return i, n - f.n
			}
			x = int64(binary.LittleEndian.Uint16(w[i+1:]))
			i += 3
		case op.Binint:
			if len(w)-i < 5 {
				return i, n - f.n
			}
			x = int64(int32(binary.LittleEndian.Uint32(w[i+1:])))
			i += 5
		default:
			return i, n - f.n
		}
		p[n] = x
	}
	return i, n - f.n
}

// fastStrs is fastList's loop for the commonest []string batch: short
// strs, each memoized into the run the list already has (CPython
// memoizes every str). It stops before anything else (a str it cannot
// take whole, a memo entry the run cannot take, a full slice) and returns
// the bytes parsed and items written.
func (m *machine) fastStrs(f *tframe, w []byte, i, k int) (int, int) {
	var r *memoRun
	if n := len(m.runs); n > 0 && m.memoX == nil {
		r = &m.runs[n-1]
		if r.f != f || r.pat != nil {
			r = nil
		}
	}
	// The loop's state lives in locals, written back once at the end: the
	// slot written, the arena, the bytes allocated, the memo count, the
	// run's length (each str memoized adds one to both).
	nm := m.nmemo
	var rlo, rn uint32
	runs := false // the run ends at the slot being written (and takes its entry if the index is next)
	if r != nil {
		rlo, rn = r.lo, r.n
		runs = r.slot+int(r.n) == f.n+k
	}
	// No dense memo slot exists at or past denseEnd: an entry there is free
	// without a look (runs and the sparse map are ruled out above).
	denseEnd := 0
	if c := len(m.memo); c > 0 {
		denseEnd = (c-1)*memoChunk + len(m.memo[c-1])
	}
	maxLen, maxAlloc, maxMemo := m.cfg.maxLength, m.cfg.maxAlloc, m.cfg.maxMemo
	arena, alloc := m.arena, m.alloc
	slot, last := f.n+k, f.cap
	for i < len(w) && slot < last {
		var l, h int
		switch w[i] {
		case op.ShortBinunicode:
			if len(w)-i < 2 {
				goto out
			}
			l, h = int(w[i+1]), 2
		case op.Binunicode:
			if len(w)-i < 5 {
				goto out
			}
			l32 := binary.LittleEndian.Uint32(w[i+1:])
			if l32 > maxArenaStr {
				goto out
			}
			l, h = int(l32), 5
		default:
			goto out
		}
		j := i + h + l
		if j > len(w) || int64(l) > maxLen || alloc+int64(l) > maxAlloc {
			goto out
		}
		mn := 0 // its memo opcode's length
		if j < len(w) && isMemoOp(w[j]) {
			idx, n := uint64(nm), 1
			if w[j] != op.Memoize {
				idx, n = m.memoIndex(w[j:])
			}
			if n == 0 || !runs || uint64(rlo)+uint64(rn) != idx || idx > math.MaxUint32 || nm >= maxMemo ||
				(idx < uint64(denseEnd) && m.denseHas(uint32(idx))) {
				goto out // the general loop memoizes it
			}
			mn = n
		} else {
			runs = false // the run no longer ends at the slot written next
		}
		var s string
		// Up to 16 bytes are read as two words (the window goes on past
		// the str: its memo opcode at least), checked for ASCII and
		// copied into the arena as such.
		if l <= 16 && len(w)-(i+h) >= 16 && cap(arena)-len(arena) >= 16 {
			ws := w[i+h : i+h+16]
			lo, hi := binary.LittleEndian.Uint64(ws), binary.LittleEndian.Uint64(ws[8:])
			if l < 8 {
				lo, hi = lo&(1<<(8*l)-1), 0
			} else {
				hi &= 1<<(8*(l-8)) - 1 // (l == 16: the shift is 64, all ones)
			}
			if (lo|hi)&0x8080808080808080 != 0 && !utf8.Valid(w[i+h:j]) {
				goto out
			}
			if l > 0 {
				// The arena's bytes past its length belong to no str yet.
				st := len(arena)
				d := arena[st : st+16]
				binary.LittleEndian.PutUint64(d, lo)
				binary.LittleEndian.PutUint64(d[8:], hi)
				arena = arena[:st+l]
				s = unsafe.String(&arena[st], l)
			}
		} else {
			b := w[i+h : j]
			if !validUTF8(b) {
				goto out
			}
			m.arena = arena
			s = m.str(b)
			arena = m.arena
		}
		alloc += int64(l)
		*(*string)(f.elemPtr(slot)) = s
		if mn > 0 {
			rn++
			nm++
		}
		slot++
		i = j + mn
	}
out:
	m.arena, m.alloc, m.nmemo = arena, alloc, nm
	if r != nil {
		r.n = rn
	}
	return i, slot - f.n
}

// denseHas reports whether the memo's dense part holds entry idx.
func (m *machine) denseHas(idx uint32) bool {
	c, o := int(idx/memoChunk), int(idx%memoChunk)
	return c < len(m.memo) && o < len(m.memo[c]) && m.memo[c][o] != nil
}

// resumeList goes back to the batch loop of a list of structs whose
// element f, a struct frame on top of the stack, has just been completed
// by the machine: the rest of the batch is read in line again.
func (m *machine) resumeList(f *tframe) {
	if f.kind != fStruct || len(m.marks) == 0 || len(m.stack)-1 != f.pos {
		return
	}
	if p := m.marks[len(m.marks)-1]; p >= 1 && p <= f.pos {
		if l, ok := m.stack[p-1].(*tframe); ok && l.kind == fList && l.sd != nil && l.open && !l.used && l == f.parent {
			m.fastList(l)
		}
	}
}

// fastMap runs batches into a str-keyed map frame of scalars, whose MARK
// was just pushed.
func (m *machine) fastMap(f *tframe) {
	w := m.src.Window()
	i := 0
	// Pairs stored since the last SETITEMS, and the last one's key: if the
	// loop hands back mid-batch they go on the stack as (key, marker) for
	// the machine's SETITEMS, which reads no key of a pair stored already;
	// only the top pair's is read (by readBack, for PUT), so the others
	// push a placeholder.
	npairs := 0
	var lastKey string
	var last scalar
	haveKey := false
	var key string
	fm, _ := f.mp.fmap.(map[string]float64)
	for i < len(w) {
		c := w[i]
		if fm != nil && !haveKey && (c == op.ShortBinunicode || c == op.Binunicode) {
			if i2, k := m.fastKeyFloats(f, w, i, &lastKey); k > 0 {
				npairs += k
				fm, _ = f.mp.fmap.(map[string]float64) // presized
				i = i2
				last = scalar{kind: kFloat64}
				continue
			}
		}
		switch c {
		case op.Setitems:
			if haveKey || (npairs == 0 && len(m.stack) != m.marks[len(m.marks)-1]) {
				goto out
			}
			npairs = 0
			m.marks = m.marks[:len(m.marks)-1]
			i++
			m.presize(f, m.src.Offset()+int64(i), 512)
			fm, _ = f.mp.fmap.(map[string]float64) // remade
			if i < len(w) && w[i] == op.Mark && len(m.marks) < m.cfg.maxDepth {
				m.marks = append(m.marks, len(m.stack))
				i++
				continue
			}
			goto out
		case op.Frame:
			if len(w)-i < 9 || uint64(len(w)-i-9) < binary.LittleEndian.Uint64(w[i+1:]) {
				goto out
			}
			i += 9
			continue
		case op.Memoize, op.Binput, op.LongBinput:
			if !haveKey && npairs == 0 {
				goto out
			}
			if haveKey {
				// The key just read, kept in a run over a slab of strs.
				if idx, n := m.memoIndex(w[i:]); n > 0 && idx <= math.MaxUint32 && m.keyRun(uint32(idx), key) {
					i += n
					continue
				}
			}
			n := m.fastMemo(w[i:], last, nil)
			if n == 0 {
				goto out
			}
			i += n
			continue
		case op.Binget, op.LongBinget:
			if haveKey {
				goto out
			}
			var idx uint32
			n := 2
			if c == op.Binget {
				if len(w)-i < 2 {
					goto out
				}
				idx = uint32(w[i+1])
			} else {
				if len(w)-i < 5 {
					goto out
				}
				idx, n = binary.LittleEndian.Uint32(w[i+1:]), 5
			}
			s, ok := m.memoStr(idx)
			if !ok {
				goto out
			}
			key, haveKey = s, true
			last = scalar{kind: kString, s: s}
			i += n
			continue
		}
		v, n := m.readScalar(w[i:])
		if n == 0 {
			goto out
		}
		if !haveKey {
			if v.kind != kString {
				goto out
			}
			key, haveKey = v.s, true
		} else {
			switch mp := f.mp.fmap.(type) {
			case map[string]float64:
				switch v.kind {
				case kFloat64:
					mp[key] = v.f
				case kInt64:
					mp[key] = float64(v.i)
				default:
					goto out
				}
			case map[string]int64:
				if v.kind != kInt64 {
					goto out
				}
				mp[key] = v.i
			case map[string]int:
				if v.kind != kInt64 {
					goto out
				}
				mp[key] = int(v.i)
			case map[string]string:
				if v.kind != kString {
					goto out
				}
				mp[key] = v.s
			case map[string]bool:
				if v.kind != kBool {
					goto out
				}
				mp[key] = v.i != 0
			default:
				goto out
			}
			npairs++
			lastKey = key
			haveKey = false
		}
		last = v
		i += n
	}
out:
	m.src.Consume(i)
	for range npairs - 1 {
		m.stack = append(m.stack, placeholderKey, markW)
	}
	if npairs > 0 {
		m.stack = append(m.stack, m.boxString(lastKey), markW)
	}
	if haveKey {
		m.stack = append(m.stack, m.boxString(key))
	}
}

// placeholderKey stands for the key of a pair fastMap stored (see there).
var placeholderKey any = ""

// fastKeyFloats is fastMap's loop for the commonest batch into a
// map[string]float64: short str keys, each memoized, and BINFLOAT values.
// The keys' bytes go into the arena one after another and their memo
// entries into a run over them there (their ends in a pointer-free
// slice): no str header stored twice. It stops before any pair it cannot
// take whole and returns the bytes parsed and the pairs stored, the last
// one's key in *last.
//
// The loop keeps the machine's state it changes (the arena, the
// allocation and memo counts) in locals and writes them back once, and
// checks the limits against what is left of them: a pair costs about
// half the instructions it did when each went through the machine.
func (m *machine) fastKeyFloats(f *tframe, w []byte, i int, last *string) (int, int) {
	mp := f.mp.fmap.(map[string]float64)
	if m.memoX != nil || m.cfg.maxLength < 16 {
		return i, 0 // (rare: the general loop checks each)
	}
	var r *memoRun // the run this loop extends
	if n := len(m.runs); n > 0 {
		r = &m.runs[n-1]
		if r.ends == nil || r.abase != unsafe.SliceData(m.arena) || r.end() != len(m.arena) {
			r = nil
		}
	}
	arena := m.arena
	if cap(arena)-len(arena) < 16 {
		// A fresh chunk, sized as str sizes it.
		size := int64(32 << 10)
		if a := m.src.Available(); a >= 0 {
			size = min(size, a-int64(i)+16) // the input's strs fit in it
		} else {
			size = min(size, m.sizeHint()+int64(i)+16) // over a reader (see sizeHint)
		}
		if size < 16 {
			return i, 0
		}
		arena = make([]byte, 0, size)
		r = nil
	}
	alloc := m.cfg.maxAlloc - m.alloc // str bytes it may still make
	nmemo := m.nmemo
	memo := m.memo
	presized := f.n != 0
	denseEnd := 0 // no dense entry from here on
	if n := len(memo); n > 0 {
		denseEnd = (n-1)*memoChunk + len(memo[n-1])
	}
	maxMemo := m.cfg.maxMemo
	k := 0
	var s string
	for len(w)-i >= 16 {
		// The shape CPython writes at protocols 4 and 5 (SHORT_BINUNICODE,
		// the key, MEMOIZE, BINFLOAT), into a run being extended, with
		// only the checks it needs; anything else goes below.
		for r != nil && presized && len(w)-i >= 34 && w[i] == op.ShortBinunicode && nmemo >= denseEnd && nmemo < maxMemo {
			l := int(w[i+1])
			j := i + 2 + l
			if l > 16 || w[j] != op.Memoize || w[j+1] != op.Binfloat || isMemoOp(w[j+10]) ||
				int64(l) > alloc || cap(arena)-len(arena) < 16 {
				break
			}
			if nmemo != int(r.lo+r.n) {
				break
			}
			lo, hi := binary.LittleEndian.Uint64(w[i+2:]), binary.LittleEndian.Uint64(w[i+10:])
			if l < 8 {
				lo, hi = lo&(1<<(8*l)-1), 0
			} else if l < 16 {
				hi &= 1<<(8*(l-8)) - 1
			}
			if (lo|hi)&0x8080808080808080 != 0 {
				break
			}
			alloc -= int64(l)
			st := len(arena)
			s = ""
			if l > 0 {
				arena, s = put16(arena, w[i+2:i+18], l)
			}
			r.ends = append(r.ends, uint32(st+l))
			r.n++
			nmemo++
			mp[s] = math.Float64frombits(binary.BigEndian.Uint64(w[j+2:]))
			k++
			i = j + 10
		}
		if len(w)-i < 16 {
			break
		}
		var l, h int // the str's length and where it starts
		switch w[i] {
		case op.ShortBinunicode:
			l, h = int(w[i+1]), i+2
		case op.Binunicode:
			if binary.LittleEndian.Uint32(w[i+1:]) > 16 {
				goto out
			}
			l, h = int(binary.LittleEndian.Uint32(w[i+1:])), i+5
		default:
			goto out
		}
		j := h + l
		if l > 16 || len(w)-j < 10 || len(w)-h < 16 || int64(l) > alloc || cap(arena)-len(arena) < 16 {
			goto out
		}
		lo, hi := binary.LittleEndian.Uint64(w[h:]), binary.LittleEndian.Uint64(w[h+8:])
		if l < 8 {
			lo, hi = lo&(1<<(8*l)-1), 0
		} else if l < 16 {
			hi &= 1<<(8*(l-8)) - 1
		}
		if (lo|hi)&0x8080808080808080 != 0 {
			goto out // not ASCII: the general loop checks it
		}
		// its memo opcode and its float
		v := j
		var idx uint32
		memoized := false
		if c := w[j]; c == op.Memoize || c == op.Binput || c == op.LongBinput {
			x, n := uint64(nmemo), 1
			if c != op.Memoize {
				x, n = m.memoIndex(w[j:])
			}
			if n == 0 || x > math.MaxUint32 || nmemo >= m.cfg.maxMemo {
				goto out
			}
			idx = uint32(x)
			if c, o := int(idx/memoChunk), int(idx%memoChunk); c < len(memo) && o < len(memo[c]) && memo[c][o] != nil {
				goto out // taken
			}
			if r == nil || r.lo+r.n != idx {
				if rs := len(m.runs); rs > 0 && idx < m.runs[rs-1].lo+m.runs[rs-1].n {
					goto out // runs stay sorted by index
				}
			}
			v, memoized = j+n, true
		}
		if len(w)-v < 9 || w[v] != op.Binfloat || (len(w)-v > 9 && isMemoOp(w[v+9])) {
			goto out
		}
		alloc -= int64(l)
		st := len(arena)
		s = ""
		if l > 0 {
			arena, s = put16(arena, w[h:h+16], l)
		}
		if memoized {
			if r == nil || r.lo+r.n != idx {
				// Room for the ends of the keys the arena's rest may hold
				// (4 bytes of it, or 12 of input, a key at least).
				c := max(64, min((cap(arena)-st)/4, (len(w)-i)/12))
				m.runs = append(m.runs, memoRun{lo: idx, abase: unsafe.SliceData(arena), start: uint32(st), ends: make([]uint32, 0, c)})
				r = &m.runs[len(m.runs)-1]
			}
			r.ends = append(r.ends, uint32(st+l))
			r.n++
			nmemo++
		}
		mp[s] = math.Float64frombits(binary.BigEndian.Uint64(w[v+1:]))
		k++
		i = v + 9
		if !presized && len(mp) == 64 {
			// Sized early from the first 64 pairs: no rehash as it grows.
			m.presize(f, m.src.Offset()+int64(i), 64)
			mp = f.mp.fmap.(map[string]float64)
			presized = true
		}
	}
out:
	if k > 0 {
		*last = s
	}
	m.arena = arena
	m.alloc = m.cfg.maxAlloc - alloc
	m.nmemo = nmemo
	return i, k
}

// presize remakes a map frame, once, when its first minItems items (a
// full batch: CPython writes 1000 a batch; or the first 64 pairs of
// fastKeyFloats) say how many items the rest of the input may hold: one
// allocation at about the final size instead of a rehash at each
// doubling. at is the offset of the input parsed so far.
func (m *machine) presize(f *tframe, at int64, minItems int) {
	n := f.mp.mv.Len()
	if f.n != 0 || n < minItems {
		return
	}
	f.n = 1 // done (a map frame does not count items otherwise)
	a := m.src.Available()
	if a <= 0 {
		return
	}
	a -= at - m.src.Offset()
	used := at - f.start
	if used <= 0 || a <= 0 {
		return
	}
	est := int64(n) + a*int64(n)/used
	if est < 2*int64(n) || est*64 > m.cfg.maxAlloc {
		return
	}
	var nm any
	switch mp := f.mp.fmap.(type) {
	case map[string]float64:
		nm = remake(mp, est)
	case map[string]int64:
		nm = remake(mp, est)
	case map[string]int:
		nm = remake(mp, est)
	case map[string]string:
		nm = remake(mp, est)
	case map[string]bool:
		nm = remake(mp, est)
	default:
		return
	}
	f.mp.fmap, f.mp.mv = nm, reflect.ValueOf(nm)
}

func remake[V any](mp map[string]V, n int64) map[string]V {
	out := make(map[string]V, n)
	for k, v := range mp {
		out[k] = v
	}
	return out
}

// findBytes is find for a key still in the input (no string made).
func (f *tframe) findBytes(key []byte) int {
	fs := f.sd.fields
	if i := f.last + 1; i < len(fs) && fs[i].name == string(key) {
		f.last = i
		return i
	}
	for i := range fs {
		if fs[i].name == string(key) {
			f.last = i
			return i
		}
	}
	return -1 // the case-insensitive match is left to the machine
}

// fastStruct runs a batch of key/value pairs into struct frame f, under
// the top MARK: keys are strs (from the input or the memo), values scalars,
// None or tuples of scalars into arrays, stored into their fields. It
// stops at anything else (a nested list or dict, an unknown field) and
// leaves the pairs done on the stack as (key, marker), as the machine
// would have.
func (m *machine) fastStruct(f *tframe) {
	if !f.open || f.used || len(m.marks) == 0 || (len(m.stack)-m.marks[len(m.marks)-1])%2 != 0 {
		return
	}
	w := m.src.Window()
	i := 0
	base := f.ptr()
	done := m.fdone[:0] // fields stored by this loop, in order
	var key string
	fi := -1        // field of the pending key; -1: at a key's place
	closed := false // its SETITEMS read
	for i < len(w) {
		c := w[i]
		if fi < 0 {
			switch c {
			case op.Setitems:
				if len(m.stack) != m.marks[len(m.marks)-1] {
					// Pairs the machine pushed before this loop: its
					// SETITEMS settles them all.
					goto out
				}
				for _, j := range done {
					if f.seen&(1<<j) != 0 {
						goto out // a field set twice: the machine's SETITEMS gives way
					}
					f.seen |= 1 << j
				}
				done = done[:0] // stored already
				m.marks = m.marks[:len(m.marks)-1]
				i++
				closed = true
				goto out
			case op.Frame:
				if len(w)-i < 9 || uint64(len(w)-i-9) < binary.LittleEndian.Uint64(w[i+1:]) {
					goto out
				}
				i += 9
				continue
			case op.ShortBinunicode:
				if len(w)-i < 2 || len(w)-i-2 < int(w[i+1]) {
					goto out
				}
				kb := w[i+2 : i+2+int(w[i+1])]
				j := f.findBytes(kb)
				if j < 0 || !utf8.Valid(kb) {
					goto out
				}
				n := 2 + len(kb)
				if len(w)-i > n && w[i+n] == op.Memoize {
					// The key is memoized: it needs its string.
					if m.nmemo >= m.cfg.maxMemo || int64(len(kb)) > m.cfg.maxLength {
						goto out
					}
					// The field's name is the same str, boxed
					// already: no copy, and a GET of it compares
					// equal to the name by pointer.
					key = f.sd.fields[j].name
					if m.memoPut(uint64(m.nmemo), f.sd.fields[j].box) != nil {
						goto out
					}
					n++
				} else {
					key = f.sd.fields[j].name
				}
				fi = j
				i += n
				continue
			case op.Binget, op.LongBinget:
				var idx uint32
				n := 2
				if c == op.Binget {
					if len(w)-i < 2 {
						goto out
					}
					idx = uint32(w[i+1])
				} else {
					if len(w)-i < 5 {
						goto out
					}
					idx, n = binary.LittleEndian.Uint32(w[i+1:]), 5
				}
				s, ok := m.memoStr(idx)
				if !ok {
					goto out
				}
				key = s
				j := f.find(key)
				if j < 0 {
					goto out
				}
				fi = j
				i += n
				continue
			}
			goto out
		}
		// A value for field fi.
		fd := &f.sd.fields[fi]
		at := unsafe.Add(base, fd.offset)
		n := 0
		switch {
		case c == op.None:
			if fd.typ.Kind() != reflect.Pointer {
				goto out
			}
			*(*unsafe.Pointer)(at) = nil
			n = 1
		case fd.kind != kOther:
			v, k := m.readScalar(w[i:])
			if k == 0 {
				goto out
			}
			switch {
			case fd.kind == kInt64 && v.kind == kInt64:
				*(*int64)(at) = v.i
			case fd.kind == kInt && v.kind == kInt64:
				*(*int)(at) = int(v.i)
			case fd.kind == kFloat64 && v.kind == kFloat64:
				*(*float64)(at) = v.f
			case fd.kind == kFloat64 && v.kind == kInt64:
				*(*float64)(at) = float64(v.i)
			case fd.kind == kString && v.kind == kString:
				*(*string)(at) = v.s
			case fd.kind == kBool && v.kind == kBool:
				*(*bool)(at) = v.i != 0
			default:
				goto out
			}
			n = k
			if len(w)-i > n && w[i+n] == op.Memoize {
				if m.nmemo >= m.cfg.maxMemo {
					goto out
				}
				var mv any
				if v.kind == kString {
					mv = (*string)(at) // read back by a GET; no box
				} else {
					mv = m.memoForm(v, nil)
				}
				if m.memoPut(uint64(m.nmemo), mv) != nil {
					goto out
				}
				n++
			}
		default:
			n = m.fastTuple(w[i:], fd, at)
			if n == 0 {
				goto out
			}
		}
		i += n
		done = append(done, fi)
		fi = -1
	}
out:
	m.src.Consume(i)
	// The keys pushed are the fields' names, boxed once per type: the
	// machine's SETITEMS finds the same fields by them.
	fs := f.sd.fields
	for _, j := range done {
		m.stack = append(m.stack, fs[j].box, markW)
	}
	if fi >= 0 {
		// A pending key may yet be used as a value (DUP): the input's
		// own str when it matched the name only case-insensitively.
		if fs[fi].name == key {
			m.stack = append(m.stack, fs[fi].box)
		} else {
			m.stack = append(m.stack, m.boxString(key))
		}
	}
	m.fdone = done[:0]
	if closed {
		m.resumeList(f)
	}
}

// numTuple reads fd.alen numbers and TUPLE1/2/3 (not the memo opcode
// after it) into the array field at at: the bytes read, 0 when w does not
// hold such a tuple (nothing is stored then). fastTuple and specTuple
// differ only in how they memoize it.
func (m *machine) numTuple(w []byte, fd *tfield, at unsafe.Pointer) int {
	alen, ek := fd.alen, fd.aek // cached per field (structDecOf)
	if alen == 0 {
		return 0
	}
	if ek == kInt64 || ek == kInt {
		// Ints into ints, the common case, with no scalar each.
		var xs [3]int64
		n := 0
		for j := range alen {
			if n >= len(w) {
				return 0
			}
			x, k := readInt(w[n:])
			if k == 0 {
				return 0 // (a float or str: refused below too)
			}
			xs[j] = x
			n += k
		}
		if n >= len(w) || w[n] != op.Tuple1+byte(alen-1) {
			return 0
		}
		for j := range alen {
			e := unsafe.Add(at, uintptr(j)*fd.asize)
			if ek == kInt64 {
				*(*int64)(e) = xs[j]
			} else {
				*(*int)(e) = int(xs[j])
			}
		}
		return n + 1
	}
	var vals [3]scalar
	n := 0
	for j := range alen {
		if n >= len(w) {
			return 0
		}
		var v scalar
		var k int
		if x, kk := readInt(w[n:]); kk > 0 {
			v, k = scalar{kind: kInt64, i: x}, kk
		} else if v, k = m.readScalar(w[n:]); k == 0 || v.kind == kString || v.kind == kBool || (v.kind == kFloat64 && ek != kFloat64) {
			return 0
		}
		vals[j] = v
		n += k
	}
	if n >= len(w) || w[n] != op.Tuple1+byte(alen-1) {
		return 0
	}
	n++
	for j := range alen {
		e := unsafe.Add(at, uintptr(j)*fd.asize)
		v := vals[j]
		switch {
		case ek == kInt64:
			*(*int64)(e) = v.i
		case ek == kInt:
			*(*int)(e) = int(v.i)
		case v.kind == kFloat64:
			*(*float64)(e) = v.f
		default:
			*(*float64)(e) = float64(v.i)
		}
	}
	return n
}

// fastTuple reads TUPLE1/2/3 of scalars (and a MEMOIZE after it) into an
// array field of as many ints, floats or strs; 0 when w does not hold one.
func (m *machine) fastTuple(w []byte, fd *tfield, at unsafe.Pointer) int {
	n := m.numTuple(w, fd, at)
	if n == 0 {
		return 0
	}
	if n < len(w) && w[n] == op.Memoize && m.nmemo < m.cfg.maxMemo {
		if m.memoPut(uint64(m.nmemo), boxIn(&m.arrs, arrRef{p: at, t: fd.typ}, arrRefType)) == nil {
			n++
		}
	}
	return n
}

// put16 appends a str of l bytes (1 to 16) to arena, which has room for
// 16 more, from src, which holds 16 readable bytes from its start: one
// 16-byte move (the arena's bytes past its length belong to no str yet).
// A map's hash reads the key back at once as one 16-byte load, which
// smaller stores would stall (a quarter of the typed dict's time).
func put16(arena, src []byte, l int) ([]byte, string) {
	st := len(arena)
	*(*[16]byte)(arena[st : st+16]) = [16]byte(src[:16])
	arena = arena[:st+l]
	return arena, unsafe.String(&arena[st], l)
}
