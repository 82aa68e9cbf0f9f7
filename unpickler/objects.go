// Handlers of the opcodes that name globals and build objects (GLOBAL,
// STACK_GLOBAL, EXT*, REDUCE, NEWOBJ*, INST, OBJ, BUILD, PERSID*), and the
// few reduce forms evaluated into exact Go types.

package unpickler

import (
	"encoding/binary"
	"time"

	"github.com/segpickle/segpickle/internal/compat"
	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

func (m *machine) opGlobal() error {
	g, err := m.namePair()
	if err != nil {
		return err
	}
	m.push(g)
	return nil
}

func (m *machine) opStackGlobal() error {
	name, err := m.pop()
	if err != nil {
		return err
	}
	mod, err := m.pop()
	if err != nil {
		return err
	}
	g, err := m.stackGlobal(mod, name)
	if err != nil {
		return err
	}
	m.push(g)
	return nil
}

func (m *machine) opExt() error {
	return m.ext(m.code)
}

func (m *machine) opReduce() error {
	args, err := m.pop()
	if err != nil {
		return err
	}
	callable, err := m.pop()
	if err != nil {
		return err
	}
	t, ok := args.(py.Tuple)
	if !ok {
		return m.failf(ErrBadType, "REDUCE arguments must be a tuple, got %s", typeName(args))
	}
	v, err := m.call(callable, t)
	if err != nil {
		return err
	}
	m.push(v)
	return nil
}

func (m *machine) opNewobj() error {
	args, err := m.pop()
	if err != nil {
		return err
	}
	cls, err := m.pop()
	if err != nil {
		return err
	}
	t, ok := args.(py.Tuple)
	if !ok {
		return m.failf(ErrBadType, "NEWOBJ arguments must be a tuple, got %s", typeName(args))
	}
	m.push(m.newObject(cls, t, nil))
	return nil
}

func (m *machine) opNewobjEx() error {
	kw, err := m.pop()
	if err != nil {
		return err
	}
	args, err := m.pop()
	if err != nil {
		return err
	}
	cls, err := m.pop()
	if err != nil {
		return err
	}
	t, ok := args.(py.Tuple)
	d, ok2 := kw.(*py.Dict)
	if !ok || !ok2 {
		return m.failf(ErrBadType, "NEWOBJ_EX needs a tuple and a dict, got %s and %s", typeName(args), typeName(kw))
	}
	m.push(m.newObject(cls, t, d))
	return nil
}

func (m *machine) opInst() error {
	g, err := m.namePair()
	if err != nil {
		return err
	}
	items, err := m.popMark()
	if err != nil {
		return err
	}
	m.push(m.instantiate(g, py.Tuple(append([]any(nil), items...))))
	return nil
}

func (m *machine) opObj() error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return m.fail(ErrStackUnderflow, "OBJ without a class")
	}
	cls := items[0]
	m.push(m.instantiate(cls, py.Tuple(append([]any(nil), items[1:]...))))
	return nil
}

func (m *machine) opBuild() error {
	state, err := m.pop()
	if err != nil {
		return err
	}
	t, err := m.top()
	if err != nil {
		return err
	}
	switch o := t.(type) {
	case *py.Call:
		if err := m.secondBuild(o.HasState, o.State, state); err != nil || state == nil && o.HasState {
			return err
		}
		state = m.fixed(state)
		o.State, o.HasState = state, true
		if needsFix(state) {
			m.note(o, 0, partState)
		}
	case *py.Object:
		if err := m.secondBuild(o.HasState, o.State, state); err != nil || state == nil && o.HasState {
			return err
		}
		state = m.fixed(state)
		o.State, o.HasState = state, true
		if needsFix(state) {
			m.note(o, 0, partState)
		}
	default:
		if state == nil {
			return nil // as CPython: BUILD with None does nothing, to anything
		}
		return m.failf(ErrBadType, "BUILD on %s", typeName(t))
	}
	return nil
}

func (m *machine) opPersid() error {
	l, err := m.line()
	if err != nil {
		return err
	}
	if err := m.checkPersid(l); err != nil {
		return err
	}
	return m.persistent(string(l))
}

func (m *machine) opBinpersid() error {
	id, err := m.pop()
	if err != nil {
		return err
	}
	return m.persistent(id)
}

func (m *machine) namePair() (py.Global, error) {
	mod, err := m.line()
	if err != nil {
		return py.Global{}, err
	}
	ms := string(mod) // copy before the next read may reuse the buffer
	name, err := m.line()
	if err != nil {
		return py.Global{}, err
	}
	ns := string(name)
	if err := m.checkNames(ms, ns); err != nil {
		return py.Global{}, err
	}
	if m.proto < 3 {
		ms, ns = compat.ToPy3(ms, ns)
	}
	return py.Global{Module: ms, Name: ns}, nil
}

func (m *machine) ext(c byte) error {
	var code int64
	switch c {
	case op.Ext1:
		b, err := m.u8()
		if err != nil {
			return err
		}
		code = int64(b)
	case op.Ext2:
		b, err := m.need(2)
		if err != nil {
			return err
		}
		code = int64(binary.LittleEndian.Uint16(b))
	default:
		b, err := m.need(4)
		if err != nil {
			return err
		}
		code = int64(int32(binary.LittleEndian.Uint32(b)))
	}
	g, ok := m.cfg.extensions[int32(code)]
	if !ok || code <= 0 {
		return m.failf(ErrExtension, "code %d", code)
	}
	m.push(g)
	return nil
}

func (m *machine) persistent(id any) error {
	if b, ok := id.(*listBox); ok {
		id = b.final() // a persistent id is a value, not a container
	}
	if m.cfg.persistentLoad == nil {
		m.push(py.PersistentID{ID: id})
		return nil
	}
	v, err := m.cfg.persistentLoad(id)
	if err != nil {
		return m.failf(ErrPersistent, "%v", err)
	}
	m.push(v)
	return nil
}

// call is REDUCE. A few callables whose result Go has an exact type for
// (and that re-encode to an equal object) are evaluated; everything else
// stays a *py.Call.
func (m *machine) call(callable any, args py.Tuple) (any, error) {
	if g, ok := callable.(py.Global); ok {
		if v, ok := m.builtin(g, args); ok {
			return v, nil
		}
		if g == py.CopyregNewobj && len(args) > 0 {
			return m.newObject(args[0], args[1:], nil), nil
		}
		if g == py.CopyregNewobjEx && len(args) == 3 {
			// copyreg.__newobj_ex__(cls, args, kwargs) is
			// cls.__new__(cls, *args, **kwargs): NEWOBJ_EX.
			t, ok := args[1].(py.Tuple)
			d, ok2 := args[2].(*py.Dict)
			if ok && ok2 {
				return m.newObject(args[0], t, d), nil
			}
		}
	}
	if p, ok := callable.(*py.Call); ok && len(args) == 0 {
		if cls, a, kw, ok := partialNew(p); ok {
			return m.newObject(cls, a, kw), nil
		}
	}
	callable = m.fixed(callable)
	c := &py.Call{Callable: callable, Args: args}
	if needsFix(callable) {
		m.note(c, 0, partHead)
	}
	return c, nil
}

// partialNew recognizes how CPython's save_reduce writes NEWOBJ_EX below
// protocol 4: partial(cls.__new__, cls, *args, **kwargs)(), the partial
// pickled as functools.partial(f) with the state (f, (cls, *args), kwargs,
// None) and f as getattr(X, "__new__"). That is cls.__new__(cls, *args,
// **kwargs) when X is cls or builtins.object (X.__new__ is then the one
// cls.__new__ found: CPython writes the owner of the __new__ it pickles);
// a __new__ taken from any other class stays a call.
func partialNew(p *py.Call) (cls any, args py.Tuple, kw *py.Dict, ok bool) {
	if p.Callable != functoolsPartial || len(p.Args) != 1 || !p.HasState ||
		len(p.ListItems) > 0 || len(p.DictItems) > 0 || len(p.After) > 0 {
		return nil, nil, nil, false
	}
	st, _ := p.State.(py.Tuple)
	if len(st) != 4 {
		return nil, nil, nil, false
	}
	f, _ := st[0].(*py.Call)
	if f == nil || f != p.Args[0] || f.Callable != builtinGetattr || len(f.Args) != 2 || f.Args[1] != "__new__" ||
		f.HasState || len(f.ListItems) > 0 || len(f.DictItems) > 0 || len(f.After) > 0 {
		return nil, nil, nil, false
	}
	a, _ := st[1].(py.Tuple)
	if len(a) == 0 {
		return nil, nil, nil, false
	}
	if st[2] != nil {
		if kw, _ = st[2].(*py.Dict); kw == nil {
			return nil, nil, nil, false
		}
	}
	if st[3] != nil {
		if d, _ := st[3].(*py.Dict); d == nil || d.Len() > 0 {
			return nil, nil, nil, false
		}
	}
	owner, _ := f.Args[0].(py.Global)
	if c, _ := a[0].(py.Global); owner != builtinObject && (owner != c || c == py.Global{}) {
		return nil, nil, nil, false
	}
	return a[0], a[1:], kw, true
}

var (
	functoolsPartial = py.Global{Module: "functools", Name: "partial"}
	builtinGetattr   = py.Global{Module: "builtins", Name: "getattr"}
	builtinObject    = py.Global{Module: "builtins", Name: "object"}
)

func (m *machine) newObject(cls any, args py.Tuple, kw *py.Dict) any {
	if kw != nil && kw.Len() == 0 {
		kw = nil
	}
	cls = m.fixed(cls)
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
			switch b := args[0].(type) {
			case *listBox:
				items = b.items
			case []any:
				items = b
			default:
				return nil, false
			}
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
	case py.BuiltinComplex, py.DatetimeTimedelta:
		// Recognized by the reduce forms the pickler builds (py/forms.go).
		return py.Reduce(g, args)
	case py.DatetimeTimezone:
		if len(args) == 1 {
			if d, ok := py.TimezoneOf(args); ok {
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
