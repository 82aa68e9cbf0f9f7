package unpickler

import (
	"time"

	"github.com/segpickle/segpickle/py"
)

// call is REDUCE. A few callables whose result Go has an exact type for
// (and that re-encode to an equal object) are evaluated; everything else
// stays a *py.Call.
func (m *machine) call(callable any, args py.Tuple) (any, error) {
	if g, ok := callable.(py.Global); ok {
		if v, ok := m.builtin(g, args); ok {
			return v, nil
		}
		if g.Module == "copyreg" && g.Name == "__newobj__" && len(args) > 0 {
			return m.newObject(args[0], args[1:], nil), nil
		}
	}
	c := &py.Call{Callable: callable, Args: args}
	if needsFix(callable) {
		m.note(c, 0, partHead)
	}
	return c, nil
}

func (m *machine) newObject(cls any, args py.Tuple, kw *py.Dict) any {
	if kw != nil && kw.Len() == 0 {
		kw = nil
	}
	o := &py.Object{Class: cls, Args: args, Kwargs: kw}
	if needsFix(cls) {
		m.note(o, 0, partHead)
	}
	return o
}

// instantiate is INST and OBJ: cls(*args), or cls.__new__(cls) without args.
func (m *machine) instantiate(cls any, args py.Tuple) any {
	m.noteTuple(args)
	if len(args) == 0 {
		return m.newObject(cls, py.Tuple{}, nil)
	}
	c, _ := m.call(cls, args)
	return c
}

// builtin evaluates the standard callables the dynamic model has exact Go
// types for. ok is false when g is not one, or its arguments are not the
// shapes CPython writes (then the call is kept as data).
func (m *machine) builtin(g py.Global, args py.Tuple) (any, bool) {
	switch g {
	case py.Global{Module: "_codecs", Name: "encode"}:
		// How protocols < 3 write bytes: encode(str, 'latin1').
		if b, ok := m.encodeArgs(args); ok {
			return b, true
		}
	case py.Global{Module: "builtins", Name: "bytes"}:
		if len(args) == 0 {
			return []byte{}, true
		}
		if b, ok := m.encodeArgs(args); ok && len(args) == 2 {
			return b, true
		}
	case py.Global{Module: "builtins", Name: "bytearray"}:
		switch len(args) {
		case 0:
			return py.ByteArray{}, true
		case 1:
			if b, ok := args[0].([]byte); ok {
				return py.ByteArray(append([]byte{}, b...)), true
			}
		case 2: // bytearray(str, 'latin-1'), as Python 2 writes it
			if b, ok := m.encodeArgs(args); ok {
				return py.ByteArray(b), true
			}
		}
	case py.Global{Module: "builtins", Name: "set"}, py.Global{Module: "builtins", Name: "frozenset"}:
		var items []any
		switch len(args) {
		case 0:
		case 1:
			b, ok := args[0].(*listBox)
			if !ok {
				return nil, false
			}
			items = b.items
		default:
			return nil, false
		}
		for _, it := range items {
			if _, ok := py.Key(it); !ok {
				return nil, false
			}
		}
		if g.Name == "set" {
			return py.NewSet(items...), true
		}
		return py.NewFrozenSet(items...), true
	case py.Global{Module: "builtins", Name: "complex"}:
		if len(args) == 2 {
			re, ok1 := args[0].(float64)
			im, ok2 := args[1].(float64)
			if ok1 && ok2 {
				return complex(re, im), true
			}
		}
	case py.Global{Module: "datetime", Name: "timedelta"}:
		if len(args) == 3 {
			d, ok1 := args[0].(int64)
			s, ok2 := args[1].(int64)
			us, ok3 := args[2].(int64)
			// time.Duration spans ±292 years; a larger timedelta stays a call.
			if ok1 && ok2 && ok3 && d > -106000 && d < 106000 && s >= 0 && s < 86400 && us >= 0 && us < 1000000 {
				return time.Duration(d)*24*time.Hour + time.Duration(s)*time.Second + time.Duration(us)*time.Microsecond, true
			}
		}
	case py.Global{Module: "datetime", Name: "timezone"}:
		if len(args) == 1 {
			if d, ok := args[0].(time.Duration); ok && d > -24*time.Hour && d < 24*time.Hour && d%time.Second == 0 {
				return tzOffset(d / time.Second), true
			}
		}
	case py.Global{Module: "datetime", Name: "datetime"}:
		if len(args) == 1 || len(args) == 2 {
			st, ok := m.stateBytes(args[0]) // bytes, or Python 2's str
			if !ok || len(st) != 10 || st[2]&0x7f < 1 || st[2]&0x7f > 12 || st[2]&0x80 != 0 {
				return nil, false
			}
			loc := py.Naive
			if len(args) == 2 {
				switch tz := args[1].(type) {
				case nil:
				case tzOffset:
					loc = tz.location()
				default:
					return nil, false
				}
			}
			year := int(st[0])<<8 | int(st[1])
			us := int(st[7])<<16 | int(st[8])<<8 | int(st[9])
			if year < 1 || st[3] < 1 || st[3] > 31 || st[4] > 23 || st[5] > 59 || st[6] > 59 || us > 999999 {
				return nil, false
			}
			t := time.Date(year, time.Month(st[2]), int(st[3]), int(st[4]), int(st[5]), int(st[6]), us*1000, loc)
			if t.Day() != int(st[3]) { // e.g. February 30th
				return nil, false
			}
			return t, true
		}
	}
	return nil, false
}

// tzOffset is a decoded datetime.timezone(timedelta(seconds=n)) while it
// waits to become a time.Time's location. Alone, it finishes as a Call.
type tzOffset time.Duration

func (z tzOffset) location() *time.Location {
	if z == 0 {
		return time.UTC
	}
	return time.FixedZone("", int(z))
}

func latin1Bytes(s string) ([]byte, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return []byte(s), true
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 255 {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}

// A fixup records a container slot that holds a decoding-time form (a
// list box, a stray timezone) to be replaced when the pickle is done. Lists
// stay boxes while APPENDS may still reach them through the memo; at STOP,
// each recorded slot gets the box's final []any. No walk over the decoded
// value is needed, and nothing recurses.
type fixup struct {
	c    any // *listBox, py.Tuple, *py.Dict, *py.Call, *py.Object
	i    int
	part uint8
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
	m.fixups = append(m.fixups, fixup{c: c, i: i, part: part})
}

// final is a box's []any; the empty list gets capacity 1, an address of its
// own, so two references to it stay one list when re-encoded.
func (b *listBox) final() []any {
	if !b.done {
		b.done = true
		b.out = b.items
		if cap(b.out) == 0 {
			b.out = make([]any, 0, 1)
		}
	}
	return b.out
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
	switch f.part {
	case partListItems:
		list[f.i] = resolve(list[f.i])
	case partDictItems:
		dict[f.i].Value = resolve(dict[f.i].Value)
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
			c.items[f.i] = resolve(c.items[f.i])
		case py.Tuple:
			c[f.i] = resolve(c[f.i])
		case *py.Dict:
			it := &c.Items()[f.i]
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
