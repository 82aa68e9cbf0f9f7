// Inner loops of the dynamic path for a batch (MARK … APPENDS / SETITEMS)
// into a list box or a dict: scalar opcodes, memo references and memo
// entries are parsed in place from the input window and their values
// stored straight into the list or the dict, nothing pushed. As the typed
// loops (fast.go), they take only what they can finish without error and
// hand anything else back to the machine, with the stack as the machine
// itself would have left it.

package unpickler

import (
	"encoding/binary"
	"math"
	"math/bits"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// dynScalar parses the scalar opcode at w[0] (an int, float, bool, None or
// str) into its value as the machine would push it; n is 0 when w does
// not start with one the loops take whole.
func (m *machine) dynScalar(w []byte) (x any, n int) {
	switch w[0] {
	case op.Binint1:
		if len(w) >= 2 {
			return int64(w[1]), 2 // the runtime has these without allocating
		}
	case op.Binint2:
		if len(w) >= 3 {
			return m.boxInt(int64(binary.LittleEndian.Uint16(w[1:]))), 3
		}
	case op.Binint:
		if len(w) >= 5 {
			return m.boxInt(int64(int32(binary.LittleEndian.Uint32(w[1:])))), 5
		}
	case op.Binfloat:
		if len(w) >= 9 {
			return m.boxFloat(math.Float64frombits(binary.BigEndian.Uint64(w[1:]))), 9
		}
	case op.Newtrue:
		return true, 1
	case op.Newfalse:
		return false, 1
	case op.None:
		return nil, 1
	case op.ShortBinunicode:
		if len(w) >= 2 {
			l := int(w[1])
			if len(w) >= 2+l && int64(l) <= m.cfg.maxLength && m.alloc+int64(l) <= m.cfg.maxAlloc {
				if x, ok := m.shortStrBox(w[2 : 2+l]); ok {
					m.alloc += int64(l)
					return x, 2 + l
				}
			}
		}
	case op.Binunicode:
		if len(w) >= 5 {
			l := binary.LittleEndian.Uint32(w[1:])
			if uint64(len(w)-5) >= uint64(l) {
				if x, ok := m.dynStr(w[5 : 5+int(l)]); ok {
					return x, 5 + int(l)
				}
			}
		}
	}
	return nil, 0
}

// dynStr is a str payload boxed (strBox); false when the limits or its
// UTF-8 leave it to the machine.
func (m *machine) dynStr(b []byte) (any, bool) {
	if int64(len(b)) > m.cfg.maxLength || m.alloc+int64(len(b)) > m.cfg.maxAlloc || !validUTF8(b) {
		return nil, false
	}
	m.alloc += int64(len(b))
	return m.strBox(b), true
}

// dynGet reads BINGET or LONG_BINGET at w[0]: the memo value as a
// container stores it; n is 0 when w does not hold one, the entry is
// missing, or its value needs the machine (a fixup, a typed form).
func (m *machine) dynGet(w []byte) (x any, n int) {
	var idx uint32
	switch {
	case w[0] == op.Binget && len(w) >= 2:
		idx, n = uint32(w[1]), 2
	case w[0] == op.LongBinget && len(w) >= 5:
		idx, n = binary.LittleEndian.Uint32(w[1:]), 5
	default:
		return nil, 0
	}
	var v any
	if c, o := int(idx/memoChunk), int(idx%memoChunk); c < len(m.memo) && o < len(m.memo[c]) {
		v = m.memo[c][o] // memoSlot, inline
	}
	if v == nil && m.memoX != nil {
		v = m.memoX[idx]
	}
	if v == nil {
		if v, _ = m.runGet(idx); v == nil {
			return nil, 0
		}
	}
	if _, ok := v.(string); ok {
		return v, n // the common case: a memoized str
	}
	switch v.(type) {
	case nilMemo:
		return nil, n
	case *string, *listBox, tzOffset, pendingDict:
		return nil, 0
	}
	return v, n
}

// fastMemoAny handles MEMOIZE / BINPUT / LONG_BINPUT of v, a dynamic value
// just read; n is 0 when w does not start with one (or the memo is full).
func (m *machine) fastMemoAny(w []byte, v any) int {
	// The next entry, the common case (BINPUT and LONG_BINPUT of
	// protocols 1-3 count up as MEMOIZE does).
	switch {
	case len(w) == 0:
	case w[0] == op.Memoize:
		if m.memoizeNext(v) {
			return 1
		}
	case w[0] == op.Binput && len(w) >= 2:
		if int(w[1]) == m.nmemo && m.memoizeNext(v) {
			return 2
		}
	case w[0] == op.LongBinput && len(w) >= 5:
		if uint64(binary.LittleEndian.Uint32(w[1:])) == uint64(m.nmemo) && m.memoizeNext(v) {
			return 5
		}
	}
	idx, n := m.memoIndex(w)
	if n == 0 {
		return 0
	}
	if m.nmemo >= m.cfg.maxMemo || m.memoPut(idx, v) != nil {
		return 0
	}
	return n
}

// fastBox is fastList for the dynamic path: batches of scalars and memo
// references appended to a list box without going through the stack. A
// memoized item's memo entry is a run over the box's slots (memoRun): no
// memo slot of its own.
//
// The first batch into an empty box is gathered first (in m.pairs), up to
// smallBatch items, so that a short list gets its exact size, as the
// machine's APPENDS gives it; its memo entries are ordinary ones.
func (m *machine) fastBox(b *listBox) {
	w := m.src.Window()
	i := 0
	base := len(b.items) // items committed by an APPENDS
	small := cap(b.items) == 0
	scratch := m.pairs[:0]
	for i < len(w) {
		c := w[i]
		var x any
		n := 0
		switch c {
		case op.Appends:
			if small {
				if len(scratch) > 0 {
					m.growBox(b, len(scratch), m.src.Offset()+int64(i))
					b.items = append(b.items, scratch...)
					scratch = scratch[:0]
				}
				small = false
			}
			base = len(b.items)
			m.marks = m.marks[:len(m.marks)-1]
			i++
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
			if small {
				if len(scratch) == 0 {
					goto out
				}
				k := m.fastMemoAny(w[i:], scratch[len(scratch)-1])
				if k == 0 {
					goto out
				}
				i += k
				continue
			}
			if len(b.items) == base {
				goto out
			}
			idx, k := m.memoIndex(w[i:])
			if k == 0 {
				goto out
			}
			last := len(b.items) - 1
			if r := m.lastRun(); r != nil && r.box == b && uint64(r.lo)+uint64(r.n) == idx && r.slot+int(r.n) == last &&
				b.items[last] != nil && m.nmemo < m.cfg.maxMemo && m.memoFree(uint32(idx)) {
				r.n++ // the next entry of the run this batch is making
				m.nmemo++
				i += k
				continue
			}
			if b.items[last] != nil && idx <= math.MaxUint32 && m.nmemo < m.cfg.maxMemo && m.boxRun(uint32(idx), b, last) {
				i += k
				continue
			}
			if m.nmemo >= m.cfg.maxMemo || m.memoPut(idx, b.items[last]) != nil {
				goto out
			}
			i += k
			continue
		case op.EmptyDict:
			// A dict item: smallDict reads it whole, or hands it and
			// this batch over to the machine.
			m.src.Consume(i + 1)
			w, i = m.src.Window(), 0
			d, ok := m.smallDict(b, base, scratch)
			if d == nil {
				if !ok { // nothing read after EMPTY_DICT: the machine goes on from there
					m.boxGiveBack(b, base, scratch)
					m.stack = append(m.stack, py.NewDict(0))
				}
				return
			}
			w = m.src.Window()
			x = d
		case op.Binget, op.LongBinget:
			x, n = m.dynGet(w[i:])
		// Ints, the commonest items of a long list, without dynScalar's
		// call (as it reads them).
		case op.Binint1:
			if i+2 <= len(w) {
				x, n = int64(w[i+1]), 2 // the runtime has these without allocating
			}
		case op.Binint2:
			if i+3 <= len(w) {
				x, n = m.boxInt(int64(binary.LittleEndian.Uint16(w[i+1:]))), 3
			}
		case op.Binint:
			if i+5 <= len(w) {
				x, n = m.boxInt(int64(int32(binary.LittleEndian.Uint32(w[i+1:])))), 5
			}
		default:
			x, n = m.dynScalar(w[i:])
		}
		if n == 0 && x == nil {
			goto out
		}
		if small {
			scratch = append(scratch, x)
			i += n
			if len(scratch) == smallBatch {
				// A long batch: into the box, and on directly.
				m.growBox(b, smallBatch, m.src.Offset()+int64(i))
				b.items = append(b.items, scratch...)
				scratch = scratch[:0]
				small = false
			}
			continue
		}
		if len(b.items) == cap(b.items) {
			m.growBox(b, len(b.items)+1, m.src.Offset()+int64(i))
		}
		b.items = append(b.items, x)
		i += n
	}
out:
	m.src.Consume(i)
	m.boxGiveBack(b, base, scratch)
}

// boxGiveBack puts the items fastBox read into b and did not commit (those
// gathered in scratch, or in b from slot base on) back on the stack, where
// the machine expects them.
func (m *machine) boxGiveBack(b *listBox, base int, scratch []any) {
	if len(scratch) > 0 {
		m.stack = append(m.stack, scratch...)
	}
	m.pairs = scratch[:0]
	if len(b.items) > base {
		m.unrunBox(b, base)
		m.stack = append(m.stack, b.items[base:]...)
		clear(b.items[base:])
		b.items = b.items[:base]
	}
}

// smallBatch is how many items fastBox gathers before it sizes a box.
const smallBatch = 64

// fastDict is fastMap for the dynamic path: batches of str keys and
// values put into a dict. It runs with d just below the top MARK and
// keeps the batch's keys and values on the stack above it, where the
// machine keeps them, so that it can stop at any opcode and the machine
// goes on from there; it takes scalars, memo references, short tuples of
// what is on the stack and lists (their batches run by fastBox), and
// stores a batch with one SetItems.
func (m *machine) fastDict(d *py.Dict) {
	w := m.src.Window()
	i := 0
	k := m.marks[len(m.marks)-1] // the batch is m.stack[k:]
	batch := m.src.Offset()      // where the current batch started
	maxStack := m.cfg.maxStack
	for i < len(w) {
		if len(m.stack) >= maxStack {
			goto out // the machine says so
		}
		c := w[i]
		var x any
		n := 0
		switch c {
		case op.Setitems:
			items := m.stack[k:]
			if len(items)%2 != 0 || !m.strItems(items) {
				goto out
			}
			if d.Len() == 0 && len(items) >= 2*512 {
				m.sizeDict(d, len(items)/2, m.src.Offset()+int64(i)-batch, i+1)
			}
			for _, old := range d.SetItems(items) {
				m.discard(old) // as setItem: the first value may have had an effect
			}
			// Not cleared (nor the machine's own popMark, nor m.pairs):
			// the slots above the stack's length hold what the dict holds
			// now, the stack goes with the machine, and a clear costs a
			// write barrier per word while the collector marks.
			m.stack = m.stack[:k]
			m.marks = m.marks[:len(m.marks)-1]
			i++
			if i < len(w) && w[i] == op.Mark && len(m.marks) < m.cfg.maxDepth {
				m.marks = append(m.marks, len(m.stack))
				i++
				batch = m.src.Offset() + int64(i)
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
			if len(m.stack) == k {
				goto out
			}
			n := m.fastMemoAny(w[i:], m.stack[len(m.stack)-1])
			if n == 0 {
				goto out
			}
			i += n
			continue
		case op.Tuple1, op.Tuple2, op.Tuple3:
			n := int(c-op.Tuple1) + 1
			if len(m.stack)-n < k {
				goto out
			}
			v, ok := m.scalarTuple(m.stack[len(m.stack)-n:])
			if !ok {
				var t py.Tuple
				t, v = newTuple(n)
				copy(t, m.stack[len(m.stack)-n:])
				m.noteTuple(t)
			}
			m.stack = m.stack[:len(m.stack)-n]
			m.stack = append(m.stack, v)
			i++
			continue
		case op.EmptyList:
			m.src.Consume(i + 1)
			w, i = m.src.Window(), 0
			var b *listBox
			if l, ok := peekBatch(w, op.Appends); ok && l > 0 {
				b = m.newBoxSized(l)
			} else {
				b = m.newBox(nil)
			}
			m.stack = append(m.stack, b)
			if len(w) == 0 {
				goto out // the input ends here: the machine says how
			}
			if n := m.fastMemoAny(w, b); n > 0 {
				i += n
			}
			if i < len(w) && w[i] == op.Mark && len(m.marks) < m.cfg.maxDepth {
				m.src.Consume(i + 1)
				m.marks = append(m.marks, len(m.stack))
				m.fastBox(b)
				w, i = m.src.Window(), 0
				if len(m.marks) == 0 || m.marks[len(m.marks)-1] != k || m.stack[len(m.stack)-1] != any(b) {
					return // the list is not done: the machine goes on with it
				}
			}
			continue
		case op.Binget:
			// A memoized str, the common case, inline (dynGet otherwise).
			if i+1 < len(w) {
				if idx := int(w[i+1]); len(m.memo) > 0 && idx < len(m.memo[0]) {
					if _, ok := m.memo[0][idx].(string); ok {
						x, n = m.memo[0][idx], 2
						break
					}
				}
			}
			x, n = m.dynGet(w[i:])
		case op.LongBinget:
			x, n = m.dynGet(w[i:])
		case op.Binint1:
			if i+1 < len(w) {
				x, n = int64(w[i+1]), 2 // the runtime has these without allocating
			}
		case op.None:
			x, n = nil, 1
		case op.Binfloat:
			if i+9 <= len(w) {
				x, n = m.boxFloat(math.Float64frombits(binary.BigEndian.Uint64(w[i+1:]))), 9
			}
		default:
			x, n = m.dynScalar(w[i:])
		}
		if n == 0 {
			goto out
		}
		m.stack = append(m.stack, x) // keys are checked at SETITEMS (strItems)
		i += n
	}
out:
	m.src.Consume(i)
}

// smallDictMax is how many values smallDict gathers: 16 pairs.
const smallDictMax = 32

// smallDict reads the dict that EMPTY_DICT just made, on the dynamic path,
// when an optional memo opcode, MARK, a short batch and SETITEMS follow:
// the batch's keys and values are gathered in a local array (not pushed on
// the machine's stack: no write barriers, nothing to clear), and the dict
// is made at SETITEMS with room for exactly its items (one allocation for
// up to 8 pairs), so that nothing has to look ahead to size it. The dict's
// memo entry is a placeholder (pendingDict) until then. The batch takes
// scalars, memo references, memo entries, short tuples of what it holds
// and lists of scalars and memo references (gathered in the same array,
// each made at its APPENDS at its size).
//
// At anything else it hands over (flush): the dict, its memo entry, the
// mark and the values gathered go where the machine would have them, and
// fastDict goes on from there (the machine, when read from fastBox).
//
// Read from fastBox (box set), the dict is an item of box's batch: it is
// returned, not pushed, and a flush first gives back the items fastBox has
// not committed (boxGiveBack with base and scratch), below the dict.
// Otherwise the dict ends on the stack, read or handed over. It returns
// the dict when it read it whole, nil when it handed over, and ok false
// when it read nothing (and gave nothing back).
func (m *machine) smallDict(box *listBox, base int, scratch []any) (dict *py.Dict, ok bool) {
	held := 0 // the values a flush puts on the stack before the dict's
	if box != nil {
		held = len(scratch) + len(box.items) - base
	}
	if m.typed || len(m.stack)+held+smallDictMax+16 > m.cfg.maxStack || len(m.marks) >= m.cfg.maxDepth {
		return nil, false
	}
	w := m.src.Window()
	idx, i := m.memoIndex(w)
	if i >= len(w) || w[i] != op.Mark {
		return nil, false
	}
	// (i is 1 for MEMOIZE, whose common case is inlined)
	if i > 0 && !(i == 1 && m.memoizeNext(pendingDict{})) && m.fastMemoAny(w, pendingDict{}) == 0 {
		return nil, false // the machine says why
	}
	memoized := i > 0
	i++ // the MARK
	var buf [smallDictMax]any
	n := 0
	lst := -1         // the place in buf of a list whose batch is being read (its items after it)
	var lstIdx uint64 // its memo index, when lstMemo
	lstMemo := false
	var boxes uint32 // the places in buf of the list boxes gathered
	for i < len(w) {
		c := w[i]
		var x any
		k := 0
		switch c {
		case op.Setitems:
			items := buf[:n]
			if lst >= 0 || n%2 != 0 {
				goto flush
			}
			// The keys of the last dict read here, met again (the
			// records of a list): the dict is made with a comparison a
			// key, its values fixed here as strItems would.
			for boxes &= 0xaaaaaaaa; boxes != 0; boxes &= boxes - 1 { // values only, as strItems
				j := bits.TrailingZeros32(boxes)
				buf[j] = buf[j].(*listBox).value()
			}
			d := py.NewDictLike(m.like, items)
			if d == nil {
				if !m.strItems(items) {
					goto flush
				}
				d = py.NewDict(n / 2)
				m.stack = append(m.stack, d) // as the machine has it at SETITEMS (discard's anchor)
				replaced := d.SetItems(items)
				for _, old := range replaced {
					m.discard(old) // as setItem: the first value may have had an effect
				}
				if len(replaced) == 0 {
					m.like = d
				}
				m.stack = m.stack[:len(m.stack)-1]
			}
			if memoized {
				m.fillPending(idx, d)
			}
			m.src.Consume(i + 1)
			if box == nil {
				m.stack = append(m.stack, d)
			}
			return d, true
		case op.Appends:
			if lst < 0 {
				goto flush
			}
			// The list's batch is done: the list is made at its size.
			b := m.newBoxSized(n - lst - 1)
			b.items = b.items[:n-lst-1]
			for j := range b.items { // a few items: no call to copy
				b.items[j] = buf[lst+1+j]
			}
			if lstMemo {
				m.fillPending(lstIdx, b)
			}
			buf[lst] = b
			boxes |= 1 << lst
			n = lst + 1
			lst = -1
			i++
			continue
		case op.Frame:
			if len(w)-i < 9 || uint64(len(w)-i-9) < binary.LittleEndian.Uint64(w[i+1:]) {
				goto flush
			}
			i += 9
			continue
		case op.Memoize, op.Binput, op.LongBinput:
			if n == 0 || n-1 == lst {
				goto flush
			}
			last := buf[n-1]
			if c == op.Memoize && m.memoizeNext(last) { // inlined
				i++
				continue
			}
			if k = m.fastMemoAny(w[i:], last); k == 0 {
				goto flush
			}
			i += k
			continue
		case op.Tuple1, op.Tuple2, op.Tuple3:
			l := int(c-op.Tuple1) + 1
			if lst >= 0 || n < l {
				goto flush
			}
			v, ok := m.scalarTuple(buf[n-l : n])
			if !ok {
				var t py.Tuple
				t, v = newTuple(l)
				copy(t, buf[n-l:n])
				m.noteTuple(t)
			}
			n -= l
			buf[n] = v
			boxes &= 1<<n - 1 // a box among the items is the tuple's now
			n++
			i++
			continue
		case op.EmptyList:
			// A list with a batch: its items are gathered after its place
			// in buf, and it is made at APPENDS (its memo entry a
			// placeholder until then), at its size.
			if lst >= 0 || n == smallDictMax {
				goto flush
			}
			li, k := m.memoIndex(w[i+1:])
			j := i + 1 + k
			if j >= len(w) || w[j] != op.Mark || len(m.marks)+1 >= m.cfg.maxDepth {
				goto flush // the machine reads it
			}
			if k > 0 && !(k == 1 && m.memoizeNext(pendingDict{})) && m.fastMemoAny(w[i+1:], pendingDict{}) == 0 {
				goto flush
			}
			buf[n] = nil
			lst, lstIdx, lstMemo = n, li, k > 0
			n++
			i = j + 1
			continue
		case op.Binget:
			// A memoized str, the common case, inline (dynGet otherwise).
			if i+1 < len(w) {
				if idx := int(w[i+1]); len(m.memo) > 0 && idx < len(m.memo[0]) {
					if _, ok := m.memo[0][idx].(string); ok {
						x, k = m.memo[0][idx], 2
						break
					}
				}
			}
			x, k = m.dynGet(w[i:])
		case op.LongBinget:
			x, k = m.dynGet(w[i:])
		case op.Binint1: // the common scalars inline (dynScalar otherwise)
			if i+1 < len(w) {
				x, k = int64(w[i+1]), 2 // the runtime has these without allocating
			}
		case op.None:
			x, k = nil, 1
		case op.Newtrue:
			x, k = true, 1
		case op.Newfalse:
			x, k = false, 1
		case op.Binfloat:
			if i+9 <= len(w) {
				x, k = m.boxFloat(math.Float64frombits(binary.BigEndian.Uint64(w[i+1:]))), 9
			}
		case op.Binint:
			if i+5 <= len(w) {
				x, k = m.boxInt(int64(int32(binary.LittleEndian.Uint32(w[i+1:])))), 5
			}
		case op.ShortBinunicode:
			if i+1 < len(w) {
				l := int(w[i+1])
				if i+2+l <= len(w) && int64(l) <= m.cfg.maxLength && m.alloc+int64(l) <= m.cfg.maxAlloc {
					var ok bool
					if x, ok = m.shortStrBox(w[i+2 : i+2+l]); ok {
						m.alloc += int64(l)
						k = 2 + l
					}
				}
			}
		default:
			x, k = m.dynScalar(w[i:])
		}
		if k == 0 {
			goto flush
		}
		if n == smallDictMax {
			goto flush
		}
		buf[n] = x
		n++
		i += k
	}
flush:
	// The machine's state at w[i]: the dict under its mark, the values
	// gathered above it, and a list being read with its mark and items.
	d := py.NewDict(0)
	var b *listBox
	if lst >= 0 {
		// The list, made now; its placeholder filled first: a MEMOIZE of
		// the list may have put it over the dict's own (the same index,
		// which CPython's memo then maps to the list).
		b = m.newBox(nil)
		if lstMemo {
			m.fillPending(lstIdx, b)
		}
	}
	if memoized {
		m.fillPending(idx, d)
	}
	if box != nil {
		m.boxGiveBack(box, base, scratch)
	}
	m.stack = append(m.stack, d)
	m.marks = append(m.marks, len(m.stack))
	m.src.Consume(i)
	if lst >= 0 {
		// The list, then its mark and the items read.
		buf[lst] = b
		m.stack = append(m.stack, buf[:lst+1]...)
		m.marks = append(m.marks, len(m.stack))
		m.stack = append(m.stack, buf[lst+1:n]...)
		return nil, true
	}
	m.stack = append(m.stack, buf[:n]...)
	if box == nil {
		// Not from fastBox: fastDict calls fastBox, which calls smallDict,
		// and the three would recurse once a level of nesting.
		m.fastDict(d)
	}
	return nil, true
}

// sizeDict makes room in d, empty, for as many items as the input seems
// to hold: a full first batch of n pairs took used bytes, and the input
// has the rest from at on (at bytes of the window parsed). An estimate
// only: bounded by what the input can hold, and a dict that ends sooner
// keeps the spare room.
func (m *machine) sizeDict(d *py.Dict, n int, used int64, at int) {
	a := m.src.Available()
	if a < 0 || used <= 0 {
		return
	}
	a -= int64(at)
	if a <= 0 {
		return
	}
	est := int64(n) + a*int64(n)/used + 16
	est = min(est, 2*int64(n)+a/4)
	if est*48 > m.cfg.maxAlloc-m.alloc {
		return
	}
	d.Grow(int(est))
}

// peekLimit bounds the opcodes peekBatch reads ahead, so that sizing a
// container costs at most a fixed amount of work however it is nested.
const peekLimit = 64

// peekBatch looks ahead at what follows an EMPTY_LIST or EMPTY_DICT just
// read (w, the window after it): when it is an optional memo opcode, MARK,
// a batch of simple opcodes and end (APPENDS or SETITEMS), it returns how
// many values the batch leaves above its mark, so that the container is
// made at its size. It only reads: the machine or the loops decode the
// batch as they would have. ok is false for anything else.
func peekBatch(w []byte, end byte) (n int, ok bool) {
	i := 0
	if len(w) > 0 {
		switch w[0] {
		case op.Memoize:
			i = 1
		case op.Binput:
			i = 2
		case op.LongBinput:
			i = 5
		}
	}
	if i >= len(w) || w[i] != op.Mark {
		return 0, false
	}
	i++
	depth := 0 // MARKs open inside the batch
	for range peekLimit {
		if i >= len(w) {
			return 0, false
		}
		c := w[i]
		p := peekOps[c]
		switch uint8(p) {
		case peekSimple:
			if depth == 0 {
				n += int(int8(p >> 16))
			}
			i += int(uint8(p >> 8))
			continue
		case peekStr:
			if i+1 >= len(w) {
				return 0, false
			}
			if depth == 0 {
				n++
			}
			i += 2 + int(w[i+1])
			continue
		case peekMark:
			depth++
		case peekEnd:
			if depth == 0 {
				if c != end || n < 0 {
					return 0, false
				}
				return n, true
			}
			depth--
			if c == op.Tuple && depth == 0 {
				n++
			}
		default:
			return 0, false
		}
		i++
	}
	return 0, false
}

// peekOps is what peekBatch knows of each opcode: its kind in the low
// byte, and for a simple opcode its length in the next and what it adds
// to the values at its depth (an int8) in the third.
var peekOps = func() (t [256]uint32) {
	simple := func(c byte, l uint8, v int8) { t[c] = uint32(peekSimple) | uint32(l)<<8 | uint32(uint8(v))<<16 }
	simple(op.Binint1, 2, 1)
	simple(op.Binget, 2, 1)
	simple(op.Binput, 2, 0)
	simple(op.Binint2, 3, 1)
	simple(op.Binint, 5, 1)
	simple(op.LongBinget, 5, 1)
	simple(op.LongBinput, 5, 0)
	simple(op.Binfloat, 9, 1)
	for _, c := range []byte{op.None, op.Newtrue, op.Newfalse, op.EmptyList, op.EmptyDict, op.EmptyTuple} {
		simple(c, 1, 1)
	}
	simple(op.Memoize, 1, 0)
	simple(op.Tuple1, 1, 0)
	simple(op.Tuple2, 1, -1)
	simple(op.Tuple3, 1, -2)
	t[op.ShortBinunicode] = uint32(peekStr)
	t[op.Mark] = uint32(peekMark)
	for _, c := range []byte{op.Appends, op.Setitems, op.Tuple} {
		t[c] = uint32(peekEnd)
	}
	return t
}()

const (
	peekUnknown uint8 = iota
	peekSimple
	peekStr
	peekMark
	peekEnd
)
