// In-line decoding of the dicts of a list of structs ([]T, T a struct):
// each dict of a batch (EMPTY_DICT, its memo opcode, MARK, key/value
// pairs, SETITEMS) is read straight into its element, with no frame, no
// stack push and no memo entry until the whole dict is read. What it
// would have memoized is kept aside (m.sputs) and put into the memo only
// when the dict is done; anything it does not take whole (a value of
// another kind, a key that is no field, a GET of an entry made inside the
// same dict, the end of the window) leaves the dict to the machine, as if
// this had never run: the element is cleared and nothing else changed.
//
// Memo entries for what was read in line point at where it went (a str
// at its field, a tuple at its array, a list at its slice field, the dict
// at its struct: arrRef); a GET reads them back (memoRef).

package unpickler

import (
	"encoding/binary"
	"math"
	"reflect"
	"unicode/utf8"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
)

// In-line kinds of a struct field (tfield.ik): what a value for it may be.
const (
	ikNone   uint8 = iota // not in line: the dict goes to the machine
	ikScalar              // a fast kind (int, float, str, bool)
	ikNil                 // a pointer: None only
	ikArray               // an array of 1–3 numbers, from TUPLE1–3
	ikSlice               // a slice of a fast kind, from a list of scalars
)

// inlineKind is how a field of type t is read in line.
func inlineKind(t reflect.Type, kind uint8, alen int) (ik, ek uint8) {
	switch {
	case kind != kOther:
		return ikScalar, 0
	case t.Kind() == reflect.Pointer:
		return ikNil, 0
	case alen > 0:
		return ikArray, 0
	case t.Kind() == reflect.Slice && frameable(t) == fList:
		if ek := fastKind(t.Elem()); ek != kOther {
			return ikSlice, ek
		}
	}
	return ikNone, 0
}

// specPut is a memo entry made by an in-line dict, put when it is done.
type specPut struct {
	idx  uint32
	code int16 // codeStruct, a field's index (its value), or codeVal
	item int32 // ≥ 0: val becomes the address of this item of the list being read
	val  any   // the entry, for codeVal
}

// What a memo entry made in line stands for (specPut.code, memoRun.pat);
// a field's index stands for the value in that field.
const (
	codeVal    int16 = -2 // specPut.val itself
	codeStruct int16 = -1 // the struct
)

// inlineStruct reads the dict at the start of w into the zeroed struct
// element slot of list frame f; h is the stack height the machine would
// have before it. It returns the bytes taken, or 0 when it leaves the
// dict to the machine (the element cleared, the memo and counts as
// before).
func (m *machine) inlineStruct(w []byte, f *tframe, slot int, h int) int {
	alloc := m.alloc
	m.slo, m.shi = ^uint32(0), 0
	m.patEnter(f, slot)
	p := f.elemPtr(slot)
	n := m.specDict(w, f.sd, f.et, p, h)
	if n > 0 && m.nmemo+m.sputN() <= m.cfg.maxMemo {
		if r := m.lastRun(); len(m.pexp) > 0 && m.pnext == len(m.pexp) && r.lo+r.n == m.pbase {
			// The dict repeated the last run's pattern whole: the run
			// grows by one element (patEnter checked the indexes free).
			r.n += uint32(m.pnext)
			m.nmemo += m.pnext
		} else if m.patLeave(); !m.patRun(f, slot) {
			for i := range m.sputs {
				sp := &m.sputs[i]
				v := sp.val
				if sp.code != codeVal {
					v = refOf(f.sd, p, sp.code)
					if v == nil {
						panic("unpickler: in-line memo entry of no kind")
					}
					if r, ok := v.(arrRef); ok {
						v = boxIn(&m.arrs, r, arrRefType)
					}
				}
				if m.memoPut(uint64(sp.idx), v) != nil {
					panic("unpickler: in-line memo entry refused") // checked fresh: cannot happen
				}
			}
		}
	} else {
		n = 0
		m.alloc = alloc
		reflect.NewAt(f.et, p).Elem().SetZero()
	}
	m.pexp = nil
	clear(m.sputs)
	m.sputs = m.sputs[:0]
	return n
}

// patEnter starts counting, instead of keeping aside, the memo entries of
// the dict about to be read in line into slot of list frame f, when it
// may repeat the pattern of the last run (the run over f's elements up to
// slot): then its entries are lo, lo+1, … from the run's end, each
// standing for what the pattern says, and they are checked free here, once
// (past the last run, none in the dense memo, no sparse memo, within
// MaxMemo). patMemo counts each entry that follows the pattern; the first
// that does not turns those counted into kept-aside entries (patLeave).
func (m *machine) patEnter(f *tframe, slot int) {
	m.pexp = nil
	n := len(m.runs)
	if n == 0 || m.memoX != nil {
		return
	}
	r := &m.runs[n-1]
	k := len(r.pat)
	if k == 0 || r.f != f || (slot-r.slot)*k != int(r.n) { // (r.slot + r.n/k == slot, with no division)
		return
	}
	base := r.lo + r.n
	if uint64(base)+uint64(k) > math.MaxUint32 || m.nmemo+k > m.cfg.maxMemo {
		return
	}
	if int(base/memoChunk) < len(m.memo) {
		for i := range uint32(k) {
			if m.denseHas(base + i) {
				return
			}
		}
	}
	m.pexp, m.pnext, m.pbase, m.palign = r.pat, 0, base, m.nmemo == int(base)
	m.slo, m.shi = base, base
}

// patMemo counts the memo opcode at w[0] as the pattern's next entry
// (code as for specMemo); 0 when it is not that entry.
func (m *machine) patMemo(w []byte, code int16, val any, item int) int {
	k := m.pnext
	if k >= len(m.pexp) || m.pexp[k] != code || val != nil || item >= 0 {
		return 0
	}
	idx := m.pbase + uint32(k)
	n := 1
	switch w[0] {
	case op.Memoize:
		if m.nmemo+k != int(idx) {
			return 0
		}
	case op.Binput:
		if len(w) < 2 || uint32(w[1]) != idx {
			return 0
		}
		n = 2
	case op.LongBinput:
		if len(w) < 5 || binary.LittleEndian.Uint32(w[1:]) != idx {
			return 0
		}
		n = 5
	default:
		return 0
	}
	m.pnext = k + 1
	m.shi = idx + 1
	return n
}

// patLeave turns the entries patMemo counted into kept-aside ones, at the
// same positions of m.sputs, and ends the counting.
func (m *machine) patLeave() {
	if m.pexp == nil {
		return
	}
	for k := range m.pnext {
		m.sputs = append(m.sputs, specPut{idx: m.pbase + uint32(k), code: m.pexp[k], item: -1})
	}
	m.pexp = nil
}

// sputN is the number of memo entries of the dict being read in line,
// counted or kept aside.
func (m *machine) sputN() int {
	if m.pexp != nil {
		return m.pnext
	}
	return len(m.sputs)
}

// sputTrunc forgets the entries after the first n (a list not taken after
// all).
func (m *machine) sputTrunc(n int) {
	if m.pexp != nil {
		m.pnext = n
		m.shi = m.pbase + uint32(n)
		return
	}
	clear(m.sputs[n:])
	m.sputs = m.sputs[:n]
}

// refOf is the memo entry that code stands for in the struct at p: an
// arrRef (the struct, an array, a slice) or a *string (a str field).
func refOf(sd *structDec, p unsafe.Pointer, code int16) any {
	if code == codeStruct {
		return arrRef{p: p, t: sd.t}
	}
	fd := &sd.fields[code]
	at := unsafe.Add(p, fd.offset)
	switch {
	case fd.ik == ikScalar && fd.kind == kString:
		return (*string)(at)
	case fd.ik == ikArray || fd.ik == ikSlice:
		return arrRef{p: at, t: fd.typ}
	}
	return nil
}

// patRun keeps the entries just read in line (m.sputs) in a memo run over
// list frame f when they are consecutive and each stands for the struct
// or a field: a list of 10,000 dicts memoizes 40,000 values with no memo
// slot or box each. The run grows while the dicts repeat its pattern.
func (m *machine) patRun(f *tframe, slot int) bool {
	sp := m.sputs
	if len(sp) == 0 || len(sp) > 64 {
		return len(sp) == 0
	}
	lo, k := sp[0].idx, uint32(len(sp))
	if lo > ^uint32(0)-k {
		return false
	}
	var r *memoRun
	if n := len(m.runs); n > 0 {
		r = &m.runs[n-1]
	}
	// One pass: the entries are consecutive, each stands for the struct
	// or a field, and (same) the last run has this very pattern.
	same := r != nil && r.pat != nil && r.f == f && r.lo+r.n == lo && len(r.pat) == len(sp) && r.slot+int(r.n/k) == slot
	var pat []int16
	if same {
		pat = r.pat[:len(sp)]
	}
	for i := range sp {
		c := sp[i].code
		if c == codeVal || sp[i].idx != lo+uint32(i) {
			return false
		}
		if same && pat[i] != c {
			same = false
		}
	}
	if same {
		r.n += k
		m.nmemo += len(sp)
		return true
	}
	if r != nil && lo < r.lo+r.n {
		return false // runs stay sorted by index
	}
	pat = make([]int16, len(sp))
	for i := range sp {
		pat[i] = sp[i].code
	}
	m.runs = append(m.runs, memoRun{lo: lo, n: k, f: f, slot: slot, pat: pat})
	m.nmemo += len(sp)
	return true
}

// patGet is entry idx of pattern run r.
func (m *machine) patGet(r *memoRun, idx uint32) any {
	k := uint32(len(r.pat))
	e := (idx - r.lo) / k
	v := refOf(r.f.sd, r.f.elemPtr(r.slot+int(e)), r.pat[(idx-r.lo)%k])
	if a, ok := v.(arrRef); ok {
		return boxIn(&m.arrs, a, arrRefType)
	}
	return v
}

// specDict reads EMPTY_DICT, its memo opcode and its items: MARK … SETITEMS
// batches or single pairs closed by SETITEM.
func (m *machine) specDict(w []byte, sd *structDec, t reflect.Type, p unsafe.Pointer, h int) int {
	if len(w) < 2 || w[0] != op.EmptyDict {
		return 0
	}
	h++
	i := 1
	if m.patNext(w[i], codeStruct) {
		i++
	} else if isMemoOp(w[i]) {
		n := m.specMemo(w[i:], codeStruct, nil, -1)
		if n == 0 {
			return 0
		}
		i += n
	}
	var set uint64 // fields set so far (a key seen twice goes to the machine)
	last := -1
	gen, hits, fields, maxStack := m.memoGen, &m.keyHits, sd.fields, m.cfg.maxStack
	for {
		if i = skipFrame(w, i); i < 0 || i >= len(w) {
			return 0 // the window ends here: the machine reads on
		}
		c := w[i]
		batch := c == op.Mark
		switch {
		case batch:
			if len(m.marks) >= m.cfg.maxDepth {
				return 0
			}
			i++
		case c == op.ShortBinunicode || c == op.Binunicode || c == op.Binget || c == op.LongBinget:
			// a single pair, closed by SETITEM
		default:
			return i // the dict is done
		}
		d := 0 // marks above the machine's
		if batch {
			d = 1
		}
		hh := h
		for {
			if i >= len(w) {
				return 0
			}
			c := w[i]
			if c == op.Frame {
				if i = skipFrame(w, i); i < 0 || i >= len(w) {
					return 0
				}
				c = w[i]
			}
			if c == op.Setitems && batch {
				i++
				break
			}
			var j, n int
			if c == op.Binget && i+1 < len(w) {
				// specKey's keyHit, without the call (gen: nothing puts
				// into the memo while a dict is read in line)
				if e := &hits[w[i+1]%keyHitN]; e.idx == w[i+1] && e.sd == sd && e.gen == gen {
					j, n, last = int(e.j), 2, int(e.j)
				}
			}
			if n == 0 {
				j, n = m.specKey(w[i:], sd, &last)
			}
			if n == 0 || j >= 64 || set&(1<<j) != 0 {
				return 0
			}
			set |= 1 << j
			if i += n; i >= len(w) {
				return 0
			}
			if w[i] == op.Frame {
				if i = skipFrame(w, i); i < 0 || i >= len(w) {
					return 0
				}
			}
			fd := &fields[j]
			switch at := unsafe.Add(p, fd.offset); fd.ik { // (specValue's cases, one call less)
			case ikScalar:
				// specDirect's numbers and bools, in line (no call: the
				// loop's state stays in registers); strs and the rest
				// through it.
				n = 0
				if v := w[i:]; len(v) > 9 {
					switch c := v[0]; fd.kind {
					case kInt64, kInt:
						var x int64
						switch c {
						case op.Binint1:
							x, n = int64(v[1]), 2
						case op.Binint2:
							x, n = int64(binary.LittleEndian.Uint16(v[1:])), 3
						case op.Binint:
							x, n = int64(int32(binary.LittleEndian.Uint32(v[1:]))), 5
						}
						if n > 0 && isMemoOp(v[n]) {
							n = 0
						} else if n > 0 {
							if fd.kind == kInt64 {
								*(*int64)(at) = x
							} else {
								*(*int)(at) = int(x)
							}
						}
					case kFloat64:
						if c == op.Binfloat && !isMemoOp(v[9]) {
							*(*float64)(at) = math.Float64frombits(binary.BigEndian.Uint64(v[1:]))
							n = 9
						}
					case kBool:
						if (c == op.Newtrue || c == op.Newfalse) && !isMemoOp(v[1]) {
							*(*bool)(at) = c == op.Newtrue
							n = 1
						}
					}
				}
				if n == 0 {
					if n = m.specDirect(w[i:], fd, at); n == 0 {
						n = m.specValue(w[i:], fd, at, hh+1, d)
					}
				}
			case ikNil:
				if v := w[i:]; len(v) > 1 && v[0] == op.None && !isMemoOp(v[1]) {
					*(*unsafe.Pointer)(at) = nil
					n = 1
				} else {
					n = m.specValue(w[i:], fd, at, hh+1, d)
				}
			case ikSlice:
				n = m.specList(w[i:], fd, at, hh+1, d)
			case ikArray:
				n = 0
				if hh+1+fd.alen <= maxStack {
					n = m.specTuple(w[i:], fd, at)
				}
			default:
				n = m.specValue(w[i:], fd, at, hh+1, d)
			}
			if n == 0 {
				return 0
			}
			i += n
			if hh += 2; hh > maxStack {
				return 0
			}
			if !batch {
				if i >= len(w) || w[i] != op.Setitem {
					return 0
				}
				i++
				break
			}
		}
	}
}

// skipFrame skips a FRAME opcode at w[i] (CPython starts one before any
// value once 64 KiB are written): the index after it, i when there is
// none, -1 when its length is more than w holds.
func skipFrame(w []byte, i int) int {
	if i < len(w) && w[i] == op.Frame {
		if len(w)-i < 9 || uint64(len(w)-i-9) < binary.LittleEndian.Uint64(w[i+1:]) {
			return -1
		}
		return i + 9
	}
	return i
}

func isMemoOp(c byte) bool { return c == op.Memoize || c == op.Binput || c == op.LongBinput }

// patNext is patMemo's commonest case, small enough to be inlined where
// a struct, a str field, a list or a tuple is memoized: c is MEMOIZE and
// the pattern's next entry is code (never codeVal, the one code specMemo
// is given a val or an item with).
func (m *machine) patNext(c byte, code int16) bool {
	if k := m.pnext; k < len(m.pexp) && m.palign && c == op.Memoize && m.pexp[k] == code {
		m.pnext, m.shi = k+1, m.shi+1
		return true
	}
	return false
}

// specMemo reads the memo opcode at w[0] and keeps the entry aside (code,
// val and item as in specPut); 0 when it cannot (the entry is not new, the
// memo is full, w is short).
func (m *machine) specMemo(w []byte, code int16, val any, item int) int {
	if m.pexp != nil {
		if n := m.patMemo(w, code, val, item); n > 0 {
			return n
		}
		m.patLeave()
	}
	var idx uint32
	n := 1
	switch w[0] {
	case op.Memoize:
		idx = uint32(m.nmemo + len(m.sputs))
		if uint64(m.nmemo+len(m.sputs)) > math.MaxUint32 {
			return 0
		}
	case op.Binput:
		if len(w) < 2 {
			return 0
		}
		idx, n = uint32(w[1]), 2
	case op.LongBinput:
		if len(w) < 5 {
			return 0
		}
		idx, n = binary.LittleEndian.Uint32(w[1:]), 5
	default:
		return 0
	}
	if m.nmemo+len(m.sputs) >= m.cfg.maxMemo || !m.memoFresh(idx) {
		return 0
	}
	m.sputs = append(m.sputs, specPut{idx: idx, code: code, item: int32(item), val: val})
	m.slo, m.shi = min(m.slo, idx), max(m.shi, idx+1)
	return n
}

// pending reports whether memo entry idx is kept aside.
func (m *machine) pending(idx uint32) bool {
	if idx < m.slo || idx >= m.shi {
		return false
	}
	if m.pexp != nil {
		return true // [slo, shi) is what patMemo counted
	}
	for i := range m.sputs {
		if m.sputs[i].idx == idx {
			return true
		}
	}
	return false
}

// memoFresh reports whether memo entry idx is free (so that putting it
// adds one entry, as the machine's MEMOIZE counts).
func (m *machine) memoFresh(idx uint32) bool {
	if m.denseHas(idx) {
		return false
	}
	if m.memoX != nil {
		if _, ok := m.memoX[idx]; ok {
			return false
		}
	}
	if n := len(m.runs); n > 0 && idx < m.runs[n-1].lo+m.runs[n-1].n {
		// (runs are sorted: past the last one's end, none holds it)
		if _, ok := m.runGet(idx); ok {
			return false
		}
	}
	return !m.pending(idx)
}

// specGet reads the GET or LONG_BINGET at w[0]: the entry (committed, not
// kept aside) and the opcode's length; n is 0 when it cannot.
func (m *machine) specGet(w []byte) (v any, n int) {
	var idx uint32
	if w[0] == op.Binget {
		if len(w) < 2 {
			return nil, 0
		}
		idx, n = uint32(w[1]), 2
	} else {
		if len(w) < 5 {
			return nil, 0
		}
		idx, n = binary.LittleEndian.Uint32(w[1:]), 5
	}
	if m.pending(idx) {
		return nil, 0
	}
	if c, o := int(idx/memoChunk), int(idx%memoChunk); c < len(m.memo) && o < len(m.memo[c]) && m.memo[c][o] != nil {
		return m.memo[c][o], n
	}
	if m.memoX != nil {
		if v, ok := m.memoX[idx]; ok {
			return v, n
		}
	}
	if v, ok := m.runGet(idx); ok {
		return v, n
	}
	return nil, 0
}

// specKey reads a key (a str, or a GET of one) and its memo opcode: the
// field it names exactly and the bytes taken; n is 0 when it cannot.
func (m *machine) specKey(w []byte, sd *structDec, last *int) (j, n int) {
	var kb []byte
	switch w[0] {
	case op.ShortBinunicode:
		if len(w) < 2 || len(w)-2 < int(w[1]) {
			return -1, 0
		}
		kb, n = w[2:2+int(w[1])], 2+int(w[1])
	case op.Binunicode:
		if len(w) < 5 {
			return -1, 0
		}
		l := binary.LittleEndian.Uint32(w[1:])
		if uint64(len(w)-5) < uint64(l) {
			return -1, 0
		}
		kb, n = w[5:5+int(l)], 5+int(l)
	case op.Binget, op.LongBinget:
		if w[0] == op.Binget && len(w) >= 2 {
			if e := &m.keyHits[w[1]%keyHitN]; e.sd == sd && e.idx == w[1] && e.gen == m.memoGen {
				*last = int(e.j)
				return int(e.j), 2
			}
		}
		v, k := m.specGet(w)
		if k == 0 {
			return -1, 0
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case *string:
			s = *x
		default:
			return -1, 0
		}
		if j = sd.find(s, last); j < 0 {
			return -1, 0
		}
		if w[0] == op.Binget {
			if p := m.memoSlot(uint32(w[1]), false); p != nil {
				if _, ok := (*p).(string); ok {
					m.keyHits[w[1]%keyHitN] = keyHit{sd: sd, gen: m.memoGen, j: int32(j), idx: w[1]}
				}
			}
		}
		return j, k
	default:
		return -1, 0
	}
	if j = sd.findBytes(kb, last); j < 0 || int64(len(kb)) > m.cfg.maxLength || !utf8.Valid(kb) {
		return -1, 0
	}
	if n < len(w) && isMemoOp(w[n]) {
		// The field's name is the same str, boxed already.
		k := m.specMemo(w[n:], codeVal, sd.fields[j].box, -1)
		if k == 0 {
			return -1, 0
		}
		n += k
	}
	return j, n
}

// keyHit is the field of struct sd that the str in memo entry idx (a
// BINGET's) named when it was last read as a key; it holds while no dense
// memo entry has been overwritten since (gen = machine.memoGen). Only a
// plain string in a dense slot is remembered: nothing but an overwrite
// (memoPut) changes it, and a committed entry is never kept aside. The
// dicts of a list of records name their keys by the same GETs, so each
// key after the first dict is one table look-up, not a memo read, a type
// switch and a string compare.
type keyHit struct {
	sd  *structDec
	gen uint64
	j   int32
	idx uint8
}

// keyHitN is the size of machine.keyHits, indexed by idx mod keyHitN.
const keyHitN = 32

// find is the field named key exactly, trying the one after *last first.
func (sd *structDec) find(key string, last *int) int {
	fs := sd.fields
	if i := *last + 1; i < len(fs) && fs[i].name == key {
		*last = i
		return i
	}
	for i := range fs {
		if fs[i].name == key {
			*last = i
			return i
		}
	}
	return -1 // the case-insensitive match is left to the machine
}

func (sd *structDec) findBytes(key []byte, last *int) int {
	fs := sd.fields
	if i := *last + 1; i < len(fs) && fs[i].name == string(key) {
		*last = i
		return i
	}
	for i := range fs {
		if fs[i].name == string(key) {
			*last = i
			return i
		}
	}
	return -1
}

// specValue reads a value (and its memo opcode) into field fd at at; h is
// the stack height with the key pushed. 0 when it cannot.
func (m *machine) specValue(w []byte, fd *tfield, at unsafe.Pointer, h, d int) int {
	if len(w) == 0 {
		return 0
	}
	switch fd.ik {
	case ikScalar:
		if n := m.specDirect(w, fd, at); n > 0 {
			return n
		}
		var v scalar
		var n int
		if c := w[0]; c == op.Binget || c == op.LongBinget {
			x, k := m.specGet(w)
			if k == 0 || !memoScalar(x, &v) {
				return 0
			}
			n = k
		} else if v, n = m.readScalar(w); n == 0 {
			return 0
		}
		if !storeKind(at, fd.kind, v) {
			return 0
		}
		if n < len(w) && isMemoOp(w[n]) {
			var k int
			if v.kind == kString && fd.kind == kString {
				k = m.specMemo(w[n:], fd.code, nil, -1) // read back by a GET; no box
			} else {
				k = m.specMemo(w[n:], codeVal, m.memoForm(v, nil), -1)
			}
			if k == 0 {
				return 0
			}
			n += k
		}
		return n
	case ikNil:
		if w[0] != op.None {
			return 0
		}
		*(*unsafe.Pointer)(at) = nil
		if len(w) > 1 && isMemoOp(w[1]) {
			k := m.specMemo(w[1:], codeVal, nil, -1)
			if k == 0 {
				return 0
			}
			return 1 + k
		}
		return 1
	case ikArray:
		if h+fd.alen > m.cfg.maxStack {
			return 0
		}
		return m.specTuple(w, fd, at)
	case ikSlice:
		return m.specList(w, fd, at, h, d)
	}
	return 0
}

// specDirect stores the commonest scalars of each kind (ints, floats,
// bools, short strs, not memoized) at at without the scalar struct; 0 for
// anything else, which specValue reads the general way.
func (m *machine) specDirect(w []byte, fd *tfield, at unsafe.Pointer) int {
	n, kind := 0, fd.kind
	switch kind {
	case kInt64, kInt:
		var x int64
		if x, n = readInt(w); n == 0 || (n < len(w) && isMemoOp(w[n])) {
			return 0
		}
		if kind == kInt64 {
			*(*int64)(at) = x
		} else {
			*(*int)(at) = int(x)
		}
	case kFloat64:
		if w[0] != op.Binfloat || len(w) < 9 || (len(w) > 9 && isMemoOp(w[9])) {
			return 0
		}
		*(*float64)(at) = math.Float64frombits(binary.BigEndian.Uint64(w[1:]))
		n = 9
	case kBool:
		if (w[0] != op.Newtrue && w[0] != op.Newfalse) || (len(w) > 1 && isMemoOp(w[1])) {
			return 0
		}
		*(*bool)(at) = w[0] == op.Newtrue
		n = 1
	case kString:
		var l, h int
		switch {
		case w[0] == op.ShortBinunicode && len(w) >= 2:
			l, h = int(w[1]), 2
		case w[0] == op.Binunicode && len(w) >= 5 && binary.LittleEndian.Uint32(w[1:]) <= maxArenaStr:
			l, h = int(binary.LittleEndian.Uint32(w[1:])), 5
		default:
			return 0
		}
		if len(w)-h < l {
			return 0
		}
		b := w[h : h+l]
		if int64(l) > m.cfg.maxLength || m.alloc+int64(l) > m.cfg.maxAlloc || !validUTF8(b) {
			return 0
		}
		m.alloc += int64(l)
		*(*string)(at) = m.str(b)
		n = h + l
		if n < len(w) && m.patNext(w[n], fd.code) {
			n++
		} else if n < len(w) && isMemoOp(w[n]) {
			// read back by a GET from the field: no box
			k := m.specMemo(w[n:], fd.code, nil, -1)
			if k == 0 {
				return 0
			}
			n += k
		}
	}
	return n
}

// readInt parses BININT1, BININT2 or BININT at w[0]; n is 0 for
// anything else.
func readInt(w []byte) (x int64, n int) {
	switch {
	case w[0] == op.Binint1 && len(w) >= 2:
		return int64(w[1]), 2
	case w[0] == op.Binint2 && len(w) >= 3:
		return int64(binary.LittleEndian.Uint16(w[1:])), 3
	case w[0] == op.Binint && len(w) >= 5:
		return int64(int32(binary.LittleEndian.Uint32(w[1:]))), 5
	}
	return 0, 0
}

// validUTF8 is utf8.Valid with a quicker answer for short ASCII.
func validUTF8(b []byte) bool {
	if len(b) <= 16 {
		var or byte
		for _, c := range b {
			or |= c
		}
		if or < utf8.RuneSelf {
			return true
		}
	}
	return utf8.Valid(b)
}

// memoScalar is a memo entry as a scalar, when it is one.
func memoScalar(x any, v *scalar) bool {
	switch x := x.(type) {
	case string:
		*v = scalar{kind: kString, s: x}
	case *string:
		*v = scalar{kind: kString, s: *x}
	case int64:
		*v = scalar{kind: kInt64, i: x}
	case float64:
		*v = scalar{kind: kFloat64, f: x}
	case bool:
		*v = scalar{kind: kBool}
		if x {
			v.i = 1
		}
	default:
		return false
	}
	return true
}

// storeKind writes v at at as fast kind k; false when they do not match.
func storeKind(at unsafe.Pointer, k uint8, v scalar) bool {
	switch {
	case k == kInt64 && v.kind == kInt64:
		*(*int64)(at) = v.i
	case k == kInt && v.kind == kInt64:
		*(*int)(at) = int(v.i)
	case k == kFloat64 && v.kind == kFloat64:
		*(*float64)(at) = v.f
	case k == kFloat64 && v.kind == kInt64:
		*(*float64)(at) = float64(v.i)
	case k == kString && v.kind == kString:
		*(*string)(at) = v.s
	case k == kBool && v.kind == kBool:
		*(*bool)(at) = v.i != 0
	default:
		return false
	}
	return true
}

// specTuple is fastTuple with its memo entry kept aside.
func (m *machine) specTuple(w []byte, fd *tfield, at unsafe.Pointer) int {
	n := m.numTuple(w, fd, at)
	if n == 0 {
		return 0
	}
	if n < len(w) && m.patNext(w[n], fd.code) {
		n++
	} else if n < len(w) && isMemoOp(w[n]) {
		k := m.specMemo(w[n:], fd.code, nil, -1)
		if k == 0 {
			return 0
		}
		n += k
	}
	return n
}

// specList reads EMPTY_LIST, its memo opcode and its items (MARK …
// APPENDS batches or single items closed by APPEND; scalars of the
// slice's element kind, or GETs of them) into a slice of their number,
// stored in the field at at. d is the number of marks above the machine's.
func (m *machine) specList(w []byte, fd *tfield, at unsafe.Pointer, h, d int) int {
	if w[0] != op.EmptyList {
		return 0
	}
	h++
	i := 1
	first := m.sputN()
	if i < len(w) && m.patNext(w[i], fd.code) {
		i++
	} else if i < len(w) && isMemoOp(w[i]) {
		n := m.specMemo(w[i:], fd.code, nil, -1)
		if n == 0 {
			return 0
		}
		i += n
	}
	if fd.aek == kString {
		if n := m.specStrs(w, i, fd, at, h, d, first); n > 0 {
			return n
		}
	}
	items := m.sitems[:0]
	n := m.specItems(w, i, fd, &items, h, d)
	m.sitems = items[:0]
	if n == 0 || !m.storeItems(items, fd, at, first) {
		return 0
	}
	return n
}

// specStrs is specItems and storeItems for a []string field at at, for
// the shape of CPython's lists of strs: MARK … APPENDS batches of strs
// (each with its memo opcode) or GETs of strs, read as strings with no
// scalar each. It returns 0 for anything else (a single item closed by
// APPEND among them), having changed nothing: the general loop reads the
// list again. first is as for storeItems.
func (m *machine) specStrs(w []byte, i int, fd *tfield, at unsafe.Pointer, h, d, first int) int {
	if n := m.getStrs(w, i, fd, at, h, d); n > 0 {
		return n
	}
	alloc, nput := m.alloc, m.sputN()
	items := m.sstrs[:0]
	batch := 0 // items of the last batch
	for {
		if i = skipFrame(w, i); i < 0 || i >= len(w) {
			goto fail
		}
		if w[i] != op.Mark {
			break
		}
		if len(m.marks)+d >= m.cfg.maxDepth {
			goto fail
		}
		i++
		batch = len(items)
		for {
			if i = skipFrame(w, i); i < 0 || i >= len(w) {
				goto fail
			}
			var s string
			var n int
			switch w[i] {
			case op.Appends:
				n = -1
			case op.Binget, op.LongBinget:
				if w[i] == op.Binget && i+1 < len(w) && len(m.memo) > 0 {
					// specGet's commonest case, in line: a str in the
					// first dense chunk, not kept aside.
					if idx := uint32(w[i+1]); (idx < m.slo || idx >= m.shi) && int(idx) < len(m.memo[0]) {
						if x, ok := m.memo[0][idx].(*string); ok {
							s, n = *x, 2
							break
						}
					}
				}
				x, k := m.specGet(w[i:])
				switch x := x.(type) {
				case string:
					s = x
				case *string:
					s = *x
				default: // (k is 0 when x is nil)
					goto fail
				}
				n = k
			case op.ShortBinunicode, op.Binunicode:
				v, k := m.readScalar(w[i:])
				if k == 0 {
					goto fail
				}
				s, n = v.s, k
			default:
				goto fail
			}
			if n < 0 {
				i++
				break
			}
			if i+n < len(w) && isMemoOp(w[i+n]) {
				k := m.specMemo(w[i+n:], codeVal, nil, len(items))
				if k == 0 {
					goto fail
				}
				n += k
			}
			items = append(items, s)
			if h+len(items) > m.cfg.maxStack {
				goto fail
			}
			i += n
		}
		batch = len(items) - batch
	}
	if scalarStart(w[i]) && (len(items) == 0 || batch >= 1000) {
		goto fail // perhaps an item closed by APPEND: specItems decides
	}
	if len(items) == 0 {
		*(*sliceHdr)(at) = sliceHdr{unsafe.Pointer(&zeroByte), 0, 0} // [] is not None
	} else {
		if int64(len(items))*int64(fd.asize) > m.cfg.maxAlloc {
			goto fail
		}
		s := carve(m, &m.lstrs, len(items))
		for j := range s { // (not copy: a bulk barrier call for 2 strs)
			s[j] = items[j]
		}
		for k := first; k < len(m.sputs); k++ {
			if it := m.sputs[k].item; it >= 0 {
				m.sputs[k].val = &s[it]
			}
		}
		*(*sliceHdr)(at) = sliceHdr{unsafe.Pointer(unsafe.SliceData(s)), len(s), len(s)}
	}
	m.sstrs = items[:0] // (what it holds is in the result anyway)
	return i
fail:
	m.alloc = alloc
	m.sputTrunc(nput) // the items' entries (the list's own stays)
	m.sstrs = items[:0]
	return 0
}

// getStrs is specStrs for the commonest shape of all (the tags of
// CPython's messages): one MARK … APPENDS batch of at most 8 BINGETs of
// strs in the first dense memo chunk, none memoized again, nothing kept
// aside, and no second batch after it; the index after it, 0 for anything
// else (nothing changed).
func (m *machine) getStrs(w []byte, i int, fd *tfield, at unsafe.Pointer, h, d int) int {
	if len(m.memo) == 0 || i >= len(w) || w[i] != op.Mark || len(m.marks)+d >= m.cfg.maxDepth {
		return 0
	}
	var buf [8]string // (on the stack: no write barrier a str)
	dense, slo, shi := m.memo[0], m.slo, m.shi
	k, j := 0, i+1
	for ; len(w)-j >= 3 && w[j] == op.Binget; j += 2 {
		idx := uint32(w[j+1])
		if k == len(buf) || (idx >= slo && idx < shi) || int(idx) >= len(dense) || isMemoOp(w[j+2]) {
			return 0
		}
		x, ok := dense[idx].(*string)
		if !ok {
			return 0
		}
		buf[k] = *x
		k++
	}
	if k == 0 || len(w)-j < 2 || w[j] != op.Appends || w[j+1] == op.Mark || w[j+1] == op.Frame ||
		h+k > m.cfg.maxStack || int64(k)*int64(fd.asize) > m.cfg.maxAlloc {
		return 0
	}
	s := carve(m, &m.lstrs, k)
	for j := range s { // (not copy: a bulk barrier call for 2 strs)
		s[j] = buf[j]
	}
	*(*sliceHdr)(at) = sliceHdr{unsafe.Pointer(unsafe.SliceData(s)), k, k}
	return j + 1
}

// specItems reads a list's items from w[i:] into *items; the index after
// them, 0 when it cannot.
func (m *machine) specItems(w []byte, i int, fd *tfield, items *[]scalar, h, d int) int {
	batch := 0 // items of the last MARK … APPENDS
	for {
		if i = skipFrame(w, i); i < 0 || i >= len(w) {
			return 0
		}
		switch c := w[i]; {
		case c == op.Mark:
			if len(m.marks)+d >= m.cfg.maxDepth {
				return 0
			}
			i++
			batch = len(*items)
			for {
				if i = skipFrame(w, i); i < 0 || i >= len(w) {
					return 0
				}
				if w[i] == op.Appends {
					i++
					batch = len(*items) - batch
					break
				}
				n := m.specItem(w[i:], fd, items)
				if n == 0 || h+len(*items) > m.cfg.maxStack {
					return 0
				}
				i += n
			}
		case scalarStart(c) && (len(*items) == 0 || batch >= 1000):
			// One item closed by APPEND (a list of one, or the one after
			// a full batch of CPython's 1000), or else the dict's next
			// key: the list is done.
			alloc, nput, nit := m.alloc, m.sputN(), len(*items)
			n := m.specItem(w[i:], fd, items)
			if n == 0 || i+n >= len(w) || w[i+n] != op.Append || h+len(*items) > m.cfg.maxStack {
				m.alloc = alloc
				m.sputTrunc(nput)
				*items = (*items)[:nit]
				return i
			}
			i += n + 1
		default:
			return i
		}
	}
}

// specItem reads one item of a list (a scalar or a GET of one, and its
// memo opcode) into *items; 0 when it cannot.
func (m *machine) specItem(w []byte, fd *tfield, items *[]scalar) int {
	var v scalar
	var n int
	if c := w[0]; c == op.Binget || c == op.LongBinget {
		x, k := m.specGet(w)
		if k == 0 || !memoScalar(x, &v) {
			return 0
		}
		n = k
	} else if v, n = m.readScalar(w); n == 0 {
		return 0
	}
	if !kindFits(fd.aek, v.kind) {
		return 0
	}
	if n < len(w) && isMemoOp(w[n]) {
		var mv any
		if v.kind != kString {
			mv = m.memoForm(v, nil)
		}
		k := m.specMemo(w[n:], codeVal, mv, len(*items))
		if k == 0 {
			return 0
		}
		n += k
	}
	*items = append(*items, v)
	return n
}

// carve returns n elements of a slab (sized from the input as the box
// slabs are, so a kept slice pins at most its pickle's worth of
// neighbours; its capacity ends at its length), or its own for large n.
func carve[T any](m *machine, slab *[]T, n int) []T {
	if n > 64 {
		return make([]T, n)
	}
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, max(n, m.slabCap()))
	}
	l := len(*slab)
	*slab = (*slab)[:l+n]
	return (*slab)[l : l+n : l+n]
}

func scalarStart(c byte) bool {
	switch c {
	case op.Binint1, op.Binint2, op.Binint, op.Binfloat, op.Newtrue, op.Newfalse,
		op.ShortBinunicode, op.Binunicode, op.Binget, op.LongBinget:
		return true
	}
	return false
}

// kindFits reports whether a scalar of kind vk goes into an element of
// fast kind ek (as store does).
func kindFits(ek, vk uint8) bool {
	switch ek {
	case kInt64, kInt:
		return vk == kInt64
	case kFloat64:
		return vk == kFloat64 || vk == kInt64
	}
	return ek == vk
}

// storeItems makes the slice of items for the field at at, and points the
// memo entries kept aside for them (from sputs[first:]) at their items.
func (m *machine) storeItems(items []scalar, fd *tfield, at unsafe.Pointer, first int) bool {
	n := len(items)
	if n == 0 {
		*(*sliceHdr)(at) = sliceHdr{unsafe.Pointer(&zeroByte), 0, 0} // [] is not None
		return true
	}
	if int64(n)*int64(fd.asize) > m.cfg.maxAlloc {
		return false
	}
	var data unsafe.Pointer
	switch fd.aek {
	case kString:
		s := carve(m, &m.lstrs, n)
		for j := range items {
			s[j] = items[j].s
		}
		data = unsafe.Pointer(unsafe.SliceData(s))
		for k := first; k < len(m.sputs); k++ {
			if it := m.sputs[k].item; it >= 0 {
				m.sputs[k].val = &s[it]
			}
		}
	case kInt64:
		s := make([]int64, n)
		for j := range items {
			s[j] = items[j].i
		}
		data = unsafe.Pointer(unsafe.SliceData(s))
	case kInt:
		s := make([]int, n)
		for j := range items {
			s[j] = int(items[j].i)
		}
		data = unsafe.Pointer(unsafe.SliceData(s))
	case kFloat64:
		s := make([]float64, n)
		for j, v := range items {
			if v.kind == kInt64 {
				s[j] = float64(v.i)
			} else {
				s[j] = v.f
			}
		}
		data = unsafe.Pointer(unsafe.SliceData(s))
	case kBool:
		s := make([]bool, n)
		for j := range items {
			s[j] = items[j].i != 0
		}
		data = unsafe.Pointer(unsafe.SliceData(s))
	default:
		return false
	}
	*(*sliceHdr)(at) = sliceHdr{data, n, n}
	return true
}
