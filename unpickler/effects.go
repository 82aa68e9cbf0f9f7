package unpickler

import (
	"unsafe"

	"github.com/segpickle/segpickle/py"
)

// Discarded values. POP and POP_MARK throw values away, but building them
// may have had an effect in CPython: cloudpickle restores a function's
// globals, defaults and closure with a state setter whose result is popped
// at once (_function_setstate(f, state), REDUCE, POP), as pickle's
// save_reduce writes every state_setter. Such a value is kept in the After
// list of the call or object that was on top of the stack when it was
// popped, and the pickler writes it back there, followed by POP: the
// effect happens at the same point of the rebuilt pickle.
//
// A discarded value is kept when building it did something: it is or holds
// a call, an object, a persistent id or an out-of-band buffer (which took
// its place in the buffers) that the result does not hold. Values the result still holds (pickle writes POP_MARK over
// the items of a tuple that contains itself) and plain data are dropped.
// A kept value with no call or object under it on the stack has no place
// in the value model: the pickle is refused rather than changed.

type discarded struct {
	v      any
	anchor any // the stack's top after the pop (nil: empty)
}

// discard records v, just popped, if it may have had an effect.
func (m *machine) discard(v any) {
	if plain(v) {
		return // building it did nothing
	}
	var anchor any
	if n := len(m.stack); n > 0 {
		anchor = m.stack[n-1]
	}
	m.discards = append(m.discards, discarded{v: v, anchor: anchor})
}

// plain reports whether v is a value whose building did nothing.
func plain(v any) bool {
	switch v.(type) {
	case nil, bool, int64, float64, string, []byte, py.ByteString, py.ByteArray:
		return true
	}
	return false
}

// discardRest discards what STOP leaves on the stack below the result
// (CPython ignores it, but building it happened), bottom up, each after the
// value under it.
func (m *machine) discardRest() {
	for i, v := range m.stack {
		var anchor any
		if i > 0 {
			anchor = m.stack[i-1]
		}
		if plain(v) {
			continue
		}
		m.discards = append(m.discards, discarded{v: v, anchor: anchor})
	}
	m.stack = m.stack[:0]
}

// secondBuild refuses a BUILD on an object that has a state already
// (CPython applies both; the value model holds one). BUILD with None is
// nothing, in CPython as here.
func (m *machine) secondBuild(has bool, old, state any) error {
	if has && old != nil && state != nil {
		return m.fail(ErrBadType, "a second BUILD on one object: segpickle keeps one state per object")
	}
	return nil
}

// placeDiscarded runs at STOP, after finish: it keeps the discarded values
// that had an effect, in order, in their anchors' After lists.
func (m *machine) placeDiscarded(result any) error {
	if len(m.discards) == 0 {
		return nil
	}
	inResult := newWalker()
	inResult.walk(result, nil)
	effects := newWalker() // shared: each value walked once
	for _, d := range m.discards {
		v := resolve(d.v)
		if inResult.has(v) {
			continue // the result holds it: built where it is referenced
		}
		effect := false
		switch v.(type) {
		case *py.Call, *py.Object, py.PersistentID, py.OutOfBand:
			effect = true // OutOfBand: it took an out-of-band buffer
		default: // a container: did building it build a call?
			effects.walk(v, &effect)
		}
		if !effect {
			continue
		}
		switch a := d.anchor.(type) {
		case *py.Call:
			a.After = append(a.After, v)
		case *py.Object:
			a.After = append(a.After, v)
		default:
			return m.failf(ErrBadType, "a discarded %s after %s: segpickle keeps a discarded call only after a call or object", typeName(v), anchorName(d.anchor))
		}
	}
	m.discards = nil
	return nil
}

func anchorName(a any) string {
	if a == nil {
		return "nothing"
	}
	return typeName(resolve(a))
}

// walker visits decoded values once each, without recursion (a decoded
// value may be millions deep). Containers and objects are known by their
// address (no boxing, 8-byte keys: a walk of a large result stays small
// next to the result); out-of-band placeholders by value.
type walker struct {
	seen  map[unsafe.Pointer]struct{}
	oob   map[py.OutOfBand]struct{}
	stack []any
}

func newWalker() *walker { return &walker{seen: make(map[unsafe.Pointer]struct{})} }

// visit marks v and reports whether it was new.
func (w *walker) visit(v any) bool {
	if k := py.ContainerID(v); k != nil {
		if _, ok := w.seen[k]; ok {
			return false
		}
		w.seen[k] = struct{}{}
		return true
	}
	if b, ok := v.(py.OutOfBand); ok {
		if _, ok := w.oob[b]; ok {
			return false
		}
		if w.oob == nil {
			w.oob = make(map[py.OutOfBand]struct{})
		}
		w.oob[b] = struct{}{}
	}
	return true
}

func (w *walker) has(v any) bool {
	if k := py.ContainerID(v); k != nil {
		_, ok := w.seen[k]
		return ok
	}
	if b, ok := v.(py.OutOfBand); ok {
		_, ok := w.oob[b]
		return ok
	}
	return false
}

// walk marks everything reachable from v; when effect is not nil, it
// reports whether any of what it newly marked is a call, an object, a
// persistent id or an out-of-band buffer. (A global's import is not counted: the decoder imports
// nothing, and a pickle that names one again imports it again.)
func (w *walker) walk(v any, effect *bool) {
	w.stack = append(w.stack[:0], v)
	for len(w.stack) > 0 {
		v := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		if !w.visit(v) {
			continue
		}
		switch x := v.(type) {
		case []any:
			w.stack = append(w.stack, x...)
		case py.Tuple:
			w.stack = append(w.stack, x...)
		case *py.Dict:
			for _, it := range x.Items() {
				w.stack = append(w.stack, it.Key, it.Value)
			}
		case *py.Set:
			w.stack = append(w.stack, x.Items()...)
		case *py.FrozenSet:
			w.stack = append(w.stack, x.Items()...)
		case *py.Call:
			w.mark(effect)
			w.stack = append(w.stack, x.Callable, x.Args, x.ListItems, x.State)
			for _, it := range x.DictItems {
				w.stack = append(w.stack, it.Key, it.Value)
			}
		case *py.Object:
			w.mark(effect)
			w.stack = append(w.stack, x.Class, x.Args, x.ListItems, x.State)
			if x.Kwargs != nil {
				w.stack = append(w.stack, x.Kwargs)
			}
			for _, it := range x.DictItems {
				w.stack = append(w.stack, it.Key, it.Value)
			}
		case py.PersistentID:
			w.mark(effect)
			w.stack = append(w.stack, x.ID)
		case py.OutOfBand:
			w.mark(effect)
		}
	}
}

func (w *walker) mark(effect *bool) {
	if effect != nil {
		*effect = true
	}
}
