package unpickler

import (
	"time"
	"unsafe"

	"github.com/segpickle/segpickle/py"
)

// PlainMaps decodes dicts into plain Go maps, as encoding/json does for an
// any target: a dict whose keys are all str becomes a map[string]any (a
// Python 2 str key counts as a str, read with the Encoding option, unless
// that is "bytes"); else one whose keys are all None, bool, int (within
// int64), float, complex, timedelta (time.Duration) or a global becomes a
// map[any]any; any other dict (a tuple, bytes, big int, frozenset, datetime
// or object key) stays a *py.Dict, its values converted. It applies
// wherever a dict lands in an any: Load, an any target, an any field or
// element of a typed one. A dict the pickle shares stays shared (one Go
// map), a dict that contains itself too. Go maps have no order: insertion
// order is lost, and re-encoding such a map sorts its keys (see the
// pickler's SortMapKeys). Lists, tuples, calls and objects that hold dicts
// are copies, shared as the pickle shares them; sets and dict keys (which
// hold no dicts) are kept as they are. With it, typed targets take the
// general path (no direct typed decoding).
func PlainMaps(on bool) Option { return func(c *config) { c.plainMaps = on } }

// plainer makes the Go-map version of a decoded value: the lists, tuples,
// calls and objects that hold dicts are copied with their dicts converted
// (the decoded value itself is not changed: a typed slot elsewhere may
// still read it); each is copied once, so sharing and cycles are kept.
// Sets and dict keys are hashable, so they hold no dicts, and are kept as
// they are.
type plainer struct {
	enc  string
	done map[any]any // *py.Dict, *py.Call, *py.Object or sliceID -> its copy
}

type sliceID struct {
	p unsafe.Pointer
	n int
}

func newPlainer(c *config) *plainer {
	return &plainer{enc: c.encoding, done: map[any]any{}}
}

func (p *plainer) value(v any) any {
	switch x := v.(type) {
	case *py.Dict:
		return p.dict(x)
	case []any:
		if len(x) == 0 {
			return x
		}
		id := sliceID{unsafe.Pointer(unsafe.SliceData(x)), len(x)}
		if c, ok := p.done[id]; ok {
			return c
		}
		c := make([]any, len(x))
		p.done[id] = c // before the items: a list may contain itself
		p.slice(c, x)
		return c
	case py.Tuple:
		if len(x) == 0 {
			return x
		}
		id := sliceID{unsafe.Pointer(unsafe.SliceData(x)), len(x)}
		if c, ok := p.done[id]; ok {
			return c
		}
		c := make(py.Tuple, len(x))
		p.done[id] = c
		p.slice(c, x)
		return c
	case *py.Call:
		if c, ok := p.done[x]; ok {
			return c
		}
		c := new(py.Call)
		p.done[x] = c
		*c = py.Call{Callable: p.value(x.Callable), Args: p.tuple(x.Args), ListItems: p.list(x.ListItems),
			DictItems: p.items(x.DictItems), State: p.value(x.State), HasState: x.HasState, After: p.list(x.After)}
		return c
	case *py.Object:
		if c, ok := p.done[x]; ok {
			return c
		}
		c := new(py.Object)
		p.done[x] = c
		*c = py.Object{Class: p.value(x.Class), Args: p.tuple(x.Args), Kwargs: p.kwargs(x.Kwargs), ListItems: p.list(x.ListItems),
			DictItems: p.items(x.DictItems), State: p.value(x.State), HasState: x.HasState, After: p.list(x.After)}
		return c
	}
	return v
}

func (p *plainer) slice(dst, src []any) {
	for i, e := range src {
		dst[i] = p.value(e)
	}
}

func (p *plainer) list(l []any) []any {
	if l == nil {
		return nil
	}
	return p.value(l).([]any)
}

func (p *plainer) tuple(t py.Tuple) py.Tuple {
	if t == nil {
		return nil
	}
	return p.value(t).(py.Tuple)
}

func (p *plainer) items(items []py.Item) []py.Item {
	if items == nil {
		return nil
	}
	c := make([]py.Item, len(items))
	for i, it := range items {
		c[i] = py.Item{Key: it.Key, Value: p.value(it.Value)}
	}
	return c
}

// kwargs stays a *py.Dict (its keys are str: a map would lose their
// order), its values converted.
func (p *plainer) kwargs(d *py.Dict) *py.Dict {
	if d == nil {
		return nil
	}
	if c, ok := p.done[d]; ok {
		if cd, ok := c.(*py.Dict); ok {
			return cd
		}
		return d // the same dict also held elsewhere, there as a map
	}
	c := py.NewDict(d.Len())
	p.done[d] = c
	for _, it := range d.Items() {
		c.Set(it.Key, p.value(it.Value))
	}
	return c
}

func (p *plainer) dict(d *py.Dict) any {
	if m, ok := p.done[d]; ok {
		return m
	}
	items := d.Items()
	if m, ok := p.strMap(items); ok {
		p.done[d] = m // before the values: a dict may contain itself
		for _, it := range items {
			k, _ := p.str(it.Key)
			m[k] = p.value(it.Value)
		}
		return m
	}
	if plainKeys(items) {
		m := make(map[any]any, len(items))
		p.done[d] = m
		for _, it := range items {
			m[it.Key] = p.value(it.Value)
		}
		return m
	}
	c := py.NewDict(len(items))
	p.done[d] = c
	for _, it := range items {
		c.Set(it.Key, p.value(it.Value))
	}
	return c
}

// str is a str key as a Go string: a string, or a Python 2 str read with
// the Encoding option (not under "bytes", where CPython gives bytes).
func (p *plainer) str(k any) (string, bool) {
	switch x := k.(type) {
	case string:
		return x, true
	case py.ByteString:
		if normEncoding(p.enc) == "bytes" {
			return "", false
		}
		s, err := py2Str(p.enc, x)
		return s, err == nil
	}
	return "", false
}

// strMap returns an empty map for items whose keys are all str and stay
// distinct as Go strings (a Python 2 str and a str of the same text are
// two keys in Python 3).
func (p *plainer) strMap(items []py.Item) (map[string]any, bool) {
	py2 := false
	for _, it := range items {
		switch it.Key.(type) {
		case string:
		case py.ByteString:
			py2 = true
		default:
			return nil, false
		}
	}
	m := make(map[string]any, len(items))
	if py2 {
		for _, it := range items {
			k, ok := p.str(it.Key)
			if !ok {
				return nil, false
			}
			m[k] = nil
		}
		if len(m) != len(items) {
			return nil, false
		}
	}
	return m, true
}

// plainKeys reports whether every key is a Go value that compares as
// Python compares it.
func plainKeys(items []py.Item) bool {
	for _, it := range items {
		switch it.Key.(type) {
		case nil, bool, int64, float64, complex128, string, time.Duration, py.Global:
		default:
			return false
		}
	}
	return true
}
