// Handlers of the opcodes that build lists, tuples, dicts and sets, and
// the fixups that give decoding-time forms their final form at STOP.

package unpickler

import (
	"time"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// listBox is a list while it is being built: APPENDS may reach it through
// the memo at any time, so the stack and the memo hold it by pointer, and
// containers hold its value, which points at its items (see value). It is
// 32 bytes: a 3-million-deep list keeps 3 million of them.
type listBox struct {
	items []any
	start int64 // input offset when made, to size the items (growBox); -1 when done (see final)
}

// done reports whether the list takes no more items.
func (b *listBox) done() bool { return b.start < 0 }

// growBox makes room for need items. It doubles (append's 1.25× growth
// for large slices copies a list of 100,000 items five times over), and
// from 512 items on sizes the items from what the input says: the bytes
// the need items took (to at, the offset parsed) against what is left.
// The items count is need, not the items already in the box: APPENDS
// grows the box after its batch is parsed (a list of 10,000 items in
// batches of 1,000 was grown four times, 33,000 slots, not once).
func (m *machine) growBox(l *listBox, need int, at int64) {
	c := max(need, 2*cap(l.items))
	if n := need; n >= 512 {
		if a := m.src.Available(); a > 0 {
			a -= at - m.src.Offset()
			if used := at - l.start; used > 0 && a > 0 {
				est := int64(n) + a*int64(n)/used + 16
				c = max(need, int(min(est, int64(2*cap(l.items))+a/2)))
			}
		}
	}
	grown := make([]any, len(l.items), c)
	copy(grown, l.items)
	l.items = grown
}

func (m *machine) opEmptyList() error {
	if m.typed && m.openFrame(true) {
		return nil
	}
	if !m.typed {
		if n, ok := peekBatch(m.src.Window(), op.Appends); ok && n > 0 {
			m.stack = append(m.stack, m.newBoxSized(n))
			return nil
		}
	}
	m.push(m.newBox(nil))
	return nil
}

// boxOf is a list box and the array its items go in.
type boxOf[A any] struct {
	b listBox
	a A
}

func boxWith[A any](x *boxOf[A], start int64) *listBox {
	x.b.items = unsafe.Slice((*any)(unsafe.Pointer(&x.a)), unsafe.Sizeof(x.a)/unsafe.Sizeof(any(nil)))[:0]
	x.b.start = start
	return &x.b
}

// newBoxSized is an empty list box with room for n items: for a short
// list, the box and its items are one allocation.
func (m *machine) newBoxSized(n int) *listBox {
	at := m.src.Offset()
	switch n {
	case 1:
		return boxWith(new(boxOf[[1]any]), at)
	case 2:
		return boxWith(new(boxOf[[2]any]), at)
	case 3:
		return boxWith(new(boxOf[[3]any]), at)
	case 4:
		return boxWith(new(boxOf[[4]any]), at)
	case 5:
		return boxWith(new(boxOf[[5]any]), at)
	case 6:
		return boxWith(new(boxOf[[6]any]), at)
	case 7:
		return boxWith(new(boxOf[[7]any]), at)
	case 8:
		return boxWith(new(boxOf[[8]any]), at)
	}
	return &listBox{items: make([]any, 0, n), start: at}
}

func (m *machine) opEmptyTuple() error {
	m.push(py.Tuple{})
	return nil
}

func (m *machine) opEmptyDict() error {
	if m.typed && m.openFrame(false) {
		return nil
	}
	if !m.typed {
		if _, ok := m.smallDict(nil, 0, nil); ok {
			return nil // the dict is on the stack, read or handed over
		}
		if n, ok := peekBatch(m.src.Window(), op.Setitems); ok && n > 0 && n%2 == 0 {
			m.stack = append(m.stack, py.NewDict(n/2))
			return nil
		}
	}
	m.push(py.NewDict(0))
	return nil
}

func (m *machine) opEmptySet() error {
	m.push(py.NewSet())
	return nil
}

func (m *machine) opTuple() error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	t, v := newTuple(len(items))
	copy(t, items)
	m.noteTuple(t)
	m.push(v)
	return nil
}

func (m *machine) opTupleN() error {
	n := int(m.code-op.Tuple1) + 1
	if len(m.stack)-n < m.floor() {
		return m.fail(ErrStackUnderflow, "")
	}
	if m.typed && m.tupleInPlace(n) {
		return nil
	}
	if !m.typed {
		if v, ok := m.scalarTuple(m.stack[len(m.stack)-n:]); ok {
			m.stack = m.stack[:len(m.stack)-n]
			m.push(v)
			return nil
		}
	}
	t, v := newTuple(n)
	copy(t, m.stack[len(m.stack)-n:])
	m.stack = m.stack[:len(m.stack)-n]
	m.noteTuple(t)
	m.push(v)
	return nil
}

// A tupleOf holds a short tuple's slice header and its items in one
// block: the tuple is one allocation, not its items and then its header
// boxed in an interface.
type tupleOf[A any] struct {
	t py.Tuple
	a A
}

var pyTupleType = typeOf(py.Tuple(nil))

// newTuple returns a tuple of n items to fill and the interface that
// holds it (pointing at the block's header).
func newTuple(n int) (py.Tuple, any) {
	var h *py.Tuple
	switch n {
	case 1:
		b := new(tupleOf[[1]any])
		b.t = b.a[:]
		h = &b.t
	case 2:
		b := new(tupleOf[[2]any])
		b.t = b.a[:]
		h = &b.t
	case 3:
		b := new(tupleOf[[3]any])
		b.t = b.a[:]
		h = &b.t
	case 4:
		b := new(tupleOf[[4]any])
		b.t = b.a[:]
		h = &b.t
	default:
		t := make(py.Tuple, n)
		return t, t
	}
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = pyTupleType, unsafe.Pointer(h)
	return *h, r
}

func (m *machine) opList() error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	m.push(m.newBox(append(make([]any, 0, len(items)), items...)))
	return nil
}

func (m *machine) opDict() error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return m.fail(ErrBadArgument, "odd number of items for DICT")
	}
	d := py.NewDict(len(items) / 2)
	for i := 0; i < len(items); i += 2 {
		if err := m.setItem(d, items[i], items[i+1]); err != nil {
			return err
		}
	}
	m.push(d)
	return nil
}

func (m *machine) opFrozenset() error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	f := py.NewFrozenSet()
	if err := m.addToSet(&f.Set, items); err != nil {
		return err
	}
	m.push(f)
	return nil
}

// addToSet adds items to s, each checked as a key: ints and strs in runs
// (py.Set.AddItems), other items one by one.
func (m *machine) addToSet(s *py.Set, items []any) error {
	for len(items) > 0 {
		n := s.AddItems(items)
		if n == len(items) {
			break
		}
		it, err := m.hashKey(items[n])
		if err != nil {
			return err
		}
		s.Add(it)
		items = items[n+1:]
	}
	return nil
}

func (m *machine) opAppend() error {
	v, err := m.pop()
	if err != nil {
		return err
	}
	t, err := m.top()
	if err != nil {
		return err
	}
	if m.typed {
		if f, ok := t.(*tframe); ok {
			return m.typedAppend(f, []any{v}, len(m.stack))
		}
		if isTyped(v) {
			return errFallback
		}
	}
	return m.appendTo(t, []any{v})
}

func (m *machine) opAppends() error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	t, err := m.top()
	if err != nil {
		return err
	}
	if m.typed {
		if f, ok := t.(*tframe); ok {
			if err := m.typedAppend(f, items, len(m.stack)); err != nil {
				return err
			}
			m.resumeStruct(f)
			return nil
		}
		if anyTyped(items) {
			return errFallback
		}
	}
	return m.appendTo(t, items)
}

func (m *machine) opSetitem() error {
	v, err := m.pop()
	if err != nil {
		return err
	}
	k, err := m.pop()
	if err != nil {
		return err
	}
	t, err := m.top()
	if err != nil {
		return err
	}
	if m.typed {
		if f, ok := t.(*tframe); ok {
			return m.typedSetItems(f, []any{k, v}, len(m.stack))
		}
		if isTyped(k) || isTyped(v) {
			return errFallback
		}
	}
	return m.setItems(t, []any{k, v})
}

func (m *machine) opSetitems() error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	if len(items)%2 != 0 {
		return m.fail(ErrBadArgument, "odd number of items for SETITEMS")
	}
	t, err := m.top()
	if err != nil {
		return err
	}
	if m.typed {
		if f, ok := t.(*tframe); ok {
			if err := m.typedSetItems(f, items, len(m.stack)); err != nil {
				return err
			}
			m.resumeList(f)
			return nil
		}
		if anyTyped(items) {
			return errFallback
		}
	}
	return m.setItems(t, items)
}

func (m *machine) opAdditems() error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	t, err := m.top()
	if err != nil {
		return err
	}
	s, ok := t.(*py.Set)
	if !ok {
		return m.failf(ErrBadType, "ADDITEMS on %s", typeName(t))
	}
	return m.addToSet(s, items)
}

func (m *machine) newBox(items []any) *listBox {
	b := &listBox{items: items, start: m.src.Offset()}
	for i, it := range items {
		if items[i] = m.fixed(it); needsFix(items[i]) {
			m.note(b, i, partItems)
		}
	}
	return b
}

// noteTuple records the tuple's slots that need a fixup.
func (m *machine) noteTuple(t py.Tuple) {
	for i, it := range t {
		if t[i] = m.fixed(it); needsFix(t[i]) {
			m.note(t, i, partItems)
		}
	}
}

func (m *machine) hashable(k any) error {
	// A tuple or frozenset reached again through the memo was checked
	// already: it is immutable, and hashing a large one at every reference
	// would cost its size each time.
	var id unsafe.Pointer
	switch x := k.(type) {
	case string, int64, float64, bool, nil:
		return nil // always hashable
	case py.Tuple:
		if len(x) >= 16 {
			id = unsafe.Pointer(&x[0])
		}
	case *py.FrozenSet:
		if x.Len() >= 16 {
			id = unsafe.Pointer(x)
		}
	}
	if id != nil {
		if _, ok := m.hashed[id]; ok {
			return nil
		}
	}
	if _, ok := py.Key(k); !ok {
		return m.failf(ErrUnhashable, "%s", typeName(k))
	}
	if id != nil {
		if m.hashed == nil {
			m.hashed = make(map[unsafe.Pointer]struct{})
		}
		m.hashed[id] = struct{}{}
	}
	return nil
}

func (m *machine) setItem(d *py.Dict, k, v any) error {
	if _, isStr := k.(string); !isStr {
		var err error
		if k, err = m.hashKey(k); err != nil {
			return err
		}
	}
	v = m.fixed(v)
	i, old, replaced := d.Swap(k, v)
	if replaced {
		m.discard(old) // d[k] set twice: building the first value may have had an effect
	}
	if needsFix(v) {
		m.note(d, i, partItems)
	}
	return nil
}

func (m *machine) setItems(t any, items []any) error {
	switch d := t.(type) {
	case *py.Dict:
		if m.strItems(items) {
			for _, old := range d.SetItems(items) {
				m.discard(old) // d[k] set twice: building the first value may have had an effect
			}
			return nil
		}
		d.Grow(len(items) / 2)
		for i := 0; i < len(items); i += 2 {
			if err := m.setItem(d, items[i], items[i+1]); err != nil {
				return err
			}
		}
	case *py.Call:
		m.addDictItems(d, &d.DictItems, items)
	case *py.Object:
		m.addDictItems(d, &d.DictItems, items)
	default:
		return m.failf(ErrBadType, "SETITEM(S) on %s", typeName(t))
	}
	return nil
}

// strItems fixes the values of items, key/value pairs, and reports
// whether the pairs can go into a dict as they are (SetItems): str keys,
// and values that need no fixup.
func (m *machine) strItems(items []any) bool {
	for i := 0; i+1 < len(items); i += 2 {
		if _, ok := items[i].(string); !ok {
			return false
		}
		switch v := items[i+1].(type) {
		case string, int64, float64, bool, nil:
		case *listBox:
			items[i+1] = v.value()
		case tzOffset:
			return false
		}
	}
	return len(items)%2 == 0
}

func (m *machine) appendTo(t any, items []any) error {
	switch l := t.(type) {
	case *listBox:
		if l.done() {
			return m.fail(ErrBadType, "APPEND to a finished list") // cannot happen before STOP
		}
		for i, it := range items {
			if items[i] = m.fixed(it); needsFix(items[i]) {
				m.note(l, len(l.items)+i, partItems)
			}
		}
		if need := len(l.items) + len(items); need > cap(l.items) {
			m.growBox(l, need, m.src.Offset())
		}
		l.items = append(l.items, items...)
	case *py.Call:
		m.addListItems(l, &l.ListItems, items)
	case *py.Object:
		m.addListItems(l, &l.ListItems, items)
	default:
		return m.failf(ErrBadType, "APPEND(S) on %s", typeName(t))
	}
	return nil
}

// addDictItems records SETITEM(S) on a Call or Object (owner).
func (m *machine) addDictItems(owner any, dst *[]py.Item, items []any) {
	for i := 0; i < len(items); i += 2 {
		if items[i+1] = m.fixed(items[i+1]); needsFix(items[i+1]) {
			m.note(owner, len(*dst), partDictItems)
		}
		*dst = append(*dst, py.Item{Key: items[i], Value: items[i+1]})
	}
}

// addListItems records APPEND(S) on a Call or Object (owner).
func (m *machine) addListItems(owner any, dst *[]any, items []any) {
	for i, it := range items {
		if items[i] = m.fixed(it); needsFix(items[i]) {
			m.note(owner, len(*dst)+i, partListItems)
		}
	}
	*dst = append(*dst, items...)
}

// A fixup records a container slot that holds a decoding-time form (a
// stray timezone; a list needs none, see listBox.value) to be replaced
// when the pickle is done. No walk over the decoded value is needed, and
// nothing recurses.
type fixup struct {
	c  any // *listBox, py.Tuple, *py.Dict, *py.Call, *py.Object
	ip int // slot index << 3 | part
}

const (
	partItems     uint8 = iota // list box items, tuple items, dict item values
	partListItems              // Call/Object ListItems
	partDictItems              // Call/Object DictItems values
	partState                  // Call/Object State
	partHead                   // Call.Callable, Object.Class
)

func needsFix(v any) bool {
	switch v.(type) {
	case *listBox, tzOffset:
		return true
	}
	return false
}

func (m *machine) note(c any, i int, part uint8) {
	m.fixups = append(m.fixups, fixup{c: c, ip: i<<3 | int(part)})
}

// value is the list as a container stores it: an []any whose slice header
// is the box's own (the interface points at b.items, no header boxed), so
// APPENDS that reach the box later through the memo still show in every
// container that holds the list, and no fixup is needed. The empty list
// gets capacity 1, an address of its own, so two references to it stay
// one list when re-encoded. Nothing reads the header through the
// interface before STOP but the decoder itself.
func (b *listBox) value() any {
	if cap(b.items) == 0 {
		b.items = make([]any, 0, 1)
	}
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = anySliceType, unsafe.Pointer(&b.items)
	return r
}

var anySliceType = typeOf([]any(nil))

// final is value for a list that takes no more items: the result at STOP,
// a persistent id.
func (b *listBox) final() any {
	b.start = -1
	return b.value()
}

// fixed is v as a container stores it: a list box becomes its value.
func (m *machine) fixed(v any) any {
	if b, ok := v.(*listBox); ok {
		return b.value()
	}
	return v
}

func resolve(v any) any {
	switch x := v.(type) {
	case *listBox:
		return x.final()
	case tzOffset:
		return &py.Call{Callable: py.Global{Module: "datetime", Name: "timezone"},
			Args: py.Tuple{time.Duration(x) * time.Second}} // x counts seconds
	}
	return v
}

// fixPart applies a fixup to one part of a Call or Object.
func fixPart(f fixup, head *any, list []any, dict []py.Item, state *any) {
	switch uint8(f.ip & 7) {
	case partListItems:
		list[f.ip>>3] = resolve(list[f.ip>>3])
	case partDictItems:
		dict[f.ip>>3].Value = resolve(dict[f.ip>>3].Value)
	case partState:
		*state = resolve(*state)
	case partHead:
		*head = resolve(*head)
	}
}

// finish applies the fixups and returns the final form of the result.
func (m *machine) finish(result any) any {
	for _, f := range m.fixups {
		switch c := f.c.(type) {
		case *listBox:
			c.items[f.ip>>3] = resolve(c.items[f.ip>>3])
		case py.Tuple:
			c[f.ip>>3] = resolve(c[f.ip>>3])
		case *py.Dict:
			it := &c.Items()[f.ip>>3]
			it.Value = resolve(it.Value)
		case *py.Call:
			fixPart(f, &c.Callable, c.ListItems, c.DictItems, &c.State)
		case *py.Object:
			fixPart(f, &c.Class, c.ListItems, c.DictItems, &c.State)
		}
	}
	m.fixups = m.fixups[:0]
	return resolve(result)
}
