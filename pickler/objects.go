package pickler

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/segpickle/segpickle/internal/compat"
	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// Objects: globals, calls (REDUCE), objects (NEWOBJ), persistent IDs,
// buffers, and the reduce forms of package py (datetime, timedelta,
// complex, …) written as the calls they are.

func (e *encoder) saveGlobal(g py.Global) error {
	if i, ok := e.globMemo[g]; ok {
		e.MemoGet(i)
		return nil
	}
	if e.proto >= 4 {
		// Module names are memoized by value: CPython interns them, so a
		// second global from one module refers to the first one's str.
		if err := e.saveStr(g.Module, true); err != nil {
			return err
		}
		if err := e.saveStr(g.Name, false); err != nil {
			return err
		}
		e.Byte(op.StackGlobal)
	} else {
		mod, name := g.Module, g.Name
		if e.proto < 3 {
			mod, name = compat.ToPy2(mod, name)
		}
		// Protocol 3 writes the names as UTF-8, as CPython does; below
		// it, ASCII only (CPython: "can't pickle module identifier").
		for _, s := range [2]string{mod, name} {
			for i := 0; i < len(s); i++ {
				if s[i] == '\n' || (s[i] >= 0x80 && e.proto < 3) {
					return valueErr(ErrProtocol, "global name "+quote(s)+" cannot be written by GLOBAL at protocol "+strconv.Itoa(e.proto))
				}
			}
			if e.proto == 3 && !utf8.ValidString(s) {
				return valueErr(ErrInvalidString, "global name "+quote(s)+" is not valid UTF-8")
			}
		}
		b := e.bigBuf(len(mod) + len(name) + 3)
		b = append(b, op.Global)
		b = append(b, mod...)
		b = append(b, '\n')
		b = append(b, name...)
		b = append(b, '\n')
		e.Copy(b)
	}
	if e.globMemo == nil {
		e.globMemo = make(map[py.Global]uint32)
	}
	e.globMemo[g] = e.MemoPut()
	return nil
}
func (e *encoder) savePersistent(id any) error {
	if e.proto == 0 {
		s, ok := id.(string)
		if !ok {
			return valueErr(ErrProtocol, "persistent ID must be a str at protocol 0")
		}
		for i := 0; i < len(s); i++ {
			if s[i] == '\n' || s[i] >= 0x80 {
				return valueErr(ErrProtocol, "persistent ID must be ASCII without newline at protocol 0")
			}
		}
		e.Copy(([]byte("P" + s + "\n")))
		return nil
	}
	// A py.PersistentID may hold another (a pickle of nested BINPERSIDs
	// decodes so): a level of nesting like any container's, or a chain of
	// millions would overflow the stack.
	if err := e.enter(); err != nil {
		return err
	}
	// The id itself is not looked up again by the hook; restored by a
	// defer, as a panic in a Marshaler inside the id is recovered and an
	// Encoder's config lives on to its next Encode.
	hook := e.cfg.persistentID
	e.cfg.persistentID = nil
	defer func() { e.cfg.persistentID = hook }()
	err := e.save(id)
	if err != nil {
		return withPath(err, ".pid")
	}
	e.depth--
	e.Byte(op.Binpersid)
	return nil
}
func (e *encoder) savePickleBuffer(b py.PickleBuffer) error {
	if e.inKey > 0 && !b.ReadOnly {
		return e.unhashable("a writable buffer")
	}
	// A key goes in band: out of band, it would be whatever object the
	// reader supplies (a bytearray or an array is unhashable, and
	// pickle.loads fails), and CPython's PickleBuffer is never a key.
	if e.proto >= 5 && e.cfg.bufferCB != nil && e.inKey == 0 && !e.cfg.bufferCB(b) {
		e.Byte(op.NextBuffer)
		if b.ReadOnly {
			e.Byte(op.ReadonlyBuffer)
		}
		return nil
	}
	if b.ReadOnly {
		_, err := e.saveBytesData(b.Data)
		return err
	}
	return e.saveByteArray(py.ByteArray(b.Data))
}

// saveReduced writes what follows a REDUCE or NEWOBJ's head (which head
// writes, its opcode included): the memo entry (by identity k when set),
// then, in CPython's save_reduce order, list items, dict items and BUILD
// state, then the values discarded after it (py.Call.After: each, then
// POP, as CPython writes a state_setter call). k was looked up by the
// caller; calls and objects share this.
func (e *encoder) saveReduced(k memoKey, head func() error, list []any, dict []py.Item, has bool, state any, after []any) error {
	if err := e.enter(); err != nil {
		return err
	}
	// What a call returns is hashable as far as the pickle can tell; its
	// arguments and state are not keys.
	defer e.outOfKey()()
	if err := head(); err != nil {
		return err
	}
	if k.p != nil {
		e.rememberPtr(k)
	} else {
		e.MemoPut()
	}
	for b := e.batches(len(list), op.Append, op.Appends); b.next(); {
		for i := b.start; i < b.end; i++ {
			if err := e.save(list[i]); err != nil {
				return withPath(withPath(err, indexPath(i)), ".listitems")
			}
		}
	}
	if len(dict) > 0 {
		if err := e.saveItemsOf(dict, false); err != nil {
			return withPath(err, ".dictitems")
		}
	}
	if has {
		if err := e.save(state); err != nil {
			return withPath(err, ".state")
		}
		e.Byte(op.Build)
	}
	for _, v := range after {
		if err := e.save(v); err != nil {
			return withPath(err, ".after")
		}
		e.Byte(op.Pop)
	}
	e.depth--
	return nil
}

func (e *encoder) saveCall(c *py.Call, k memoKey) error {
	if k.p != nil && e.lookup(k) {
		return nil
	}
	if g, ok := c.Callable.(py.Global); ok && g == py.CopyregNewobj && e.proto >= 2 && len(c.Args) > 0 {
		// Written as CPython writes __reduce__ results that name it.
		o := py.Object{Class: c.Args[0], Args: c.Args[1:], ListItems: c.ListItems, DictItems: c.DictItems, State: c.State, HasState: c.HasState, After: c.After}
		return e.saveObject(&o, k)
	}
	return e.saveReduced(k, func() error {
		if err := e.save(c.Callable); err != nil {
			return withPath(err, ".callable")
		}
		if err := e.saveTuple(c.Args); err != nil {
			return withPath(err, ".args")
		}
		e.Byte(op.Reduce)
		return nil
	}, c.ListItems, c.DictItems, c.HasState, c.State, c.After)
}

// saveFreshCall saves a Call as CPython's save_reduce does for an object
// it builds on the fly (bytearray, complex): args are a fresh tuple.
func (e *encoder) saveFreshCall(c *py.Call) error { return e.saveCall(c, memoKey{}) }

func (e *encoder) saveObject(o *py.Object, k memoKey) error {
	if k.p != nil && e.lookup(k) {
		return nil
	}
	return e.saveReduced(k, func() error {
		hasKw := o.Kwargs.Len() > 0
		if e.proto >= 4 || (e.proto >= 2 && !hasKw) {
			if err := e.save(o.Class); err != nil {
				return withPath(err, ".class")
			}
			if err := e.saveTuple(o.Args); err != nil {
				return withPath(err, ".args")
			}
			if hasKw {
				if err := e.saveDict(o.Kwargs); err != nil {
					return withPath(err, ".kwargs")
				}
				e.Byte(op.NewobjEx)
			} else {
				e.Byte(op.Newobj)
			}
			return nil
		}
		// Protocols without NEWOBJ(_EX): copyreg.__newobj__(cls, *args)
		// or copyreg.__newobj_ex__(cls, args, kwargs), which Python defines.
		g, args := py.CopyregNewobj, append(py.Tuple{o.Class}, o.Args...)
		if hasKw {
			g, args = py.CopyregNewobjEx, py.Tuple{o.Class, o.Args, o.Kwargs}
		}
		if err := e.saveGlobal(g); err != nil {
			return err
		}
		if err := e.saveTuple(args); err != nil {
			return withPath(err, ".args")
		}
		e.Byte(op.Reduce)
		return nil
	}, o.ListItems, o.DictItems, o.HasState, o.State, o.After)
}

func (e *encoder) saveOutOfBand(x py.OutOfBand) error {
	if e.proto < 5 {
		return valueErr(ErrProtocol, "out-of-band buffer needs protocol 5")
	}
	if e.inKey > 0 && !x.ReadOnly {
		return e.unhashable("a writable buffer")
	}
	e.Byte(op.NextBuffer)
	if x.ReadOnly {
		e.Byte(op.ReadonlyBuffer)
	}
	return nil
}

func (e *encoder) saveComplex(c complex128) error {
	call := py.ComplexCall(c)
	return e.saveFreshCall(&call)
}

func (e *encoder) saveTime(t time.Time) error {
	c, err := py.DatetimeCall(t)
	if err != nil {
		return valueErr(err, err.Error())
	}
	return e.saveFreshCall(&c)
}

func (e *encoder) saveDuration(d time.Duration) error {
	c := py.TimedeltaCall(d)
	return e.saveFreshCall(&c)
}
