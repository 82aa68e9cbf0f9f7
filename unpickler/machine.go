// The machine: its state, the loop that reads one opcode at a time and
// dispatches it to its handler, the stack and MARK handlers, and errors.

package unpickler

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/internal/stream"
	"github.com/segpickle/segpickle/py"
)

type machine struct {
	src    stream.Reader
	begin  int64 // the input's offset where this pickle starts (sizeHint)
	cfg    *config
	stack  []any
	marks  []int
	memo   [][]any        // see memoSlot
	memoX  map[uint32]any // sparse indexes
	nmemo  int
	proto  int
	alloc  int64
	fixups []fixup // see finish
	ints   []int64 // slabs that box decoded values without one allocation each
	floats []float64
	strs   []string
	arena  []byte // string bytes, see str
	sarena []byte // string headers and bytes, see strBox
	opOff  int64
	code   byte
	bufIdx int

	discards []discarded // popped values that may have had an effect (effects.go)

	// typed path (typed.go)
	typed    bool
	rootT    reflect.Type
	rootP    unsafe.Pointer
	rootUsed bool
	frames   []tframe
	pends    []pend
	fdone    []int             // fastStruct's fields stored in the current batch
	runs     []memoRun         // memo entries kept in typed lists (memo.go)
	arrs     []arrRef          // slab of memo entries for tuples stored in arrays
	sputs    []specPut         // memo entries of a dict read in line, put when it is done (inline.go)
	slo, shi uint32            // bounds of their indexes
	pexp     []int16           // the pattern an in-line dict is expected to repeat (inline.go: patMemo)
	pnext    int               // entries of pexp counted so far
	pbase    uint32            // the index of pexp's first entry
	palign   bool              // MEMOIZE's index is pbase+pnext (the count is pbase)
	sitems   []scalar          // items of a list read in line
	sstrs    []string          // items of a []string read in line (specStrs)
	keyHits  [keyHitN]keyHit   // fields named by BINGET keys (specKey)
	memoGen  uint64            // dense memo entries overwritten so far (keyHit)
	lstrs    []string          // slab of small []string read in line
	pairs    []any             // fastBox's first items (dynfast.go)
	like     *py.Dict          // the last dict smallDict made with SetItems (py.NewDictLike)
	tup1     tupleSlab[[1]any] // tuples of scalars (box.go)
	tup2     tupleSlab[[2]any]
	tup3     tupleSlab[[3]any]
	tup4     tupleSlab[[4]any]
	tcache   typeCache
	hashed   map[unsafe.Pointer]struct{} // large tuples and frozensets known hashable (containers.go)
}

// run executes opcodes until STOP and returns the value left on the stack.
func (m *machine) run() (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, m.failf(ErrInternal, "%v", r)
		}
	}()
	m.begin = m.src.Offset()
	for {
		m.opOff = m.src.Offset()
		c, ok := m.src.Byte()
		if !ok {
			m.code = 0
			return nil, m.fail(ErrNoStop, "")
		}
		m.code = c
		if c == op.Stop {
			v, err := m.pop() // fails if a MARK is above the result, as CPython
			if err != nil {
				return nil, err
			}
			m.discardRest()
			v = m.finish(v)
			if err := m.placeDiscarded(v); err != nil {
				return nil, err
			}
			return v, nil
		}
		if m.typed && m.typedGuard(c) {
			return nil, errFallback
		}
		if err := m.step(c); err != nil {
			return nil, err
		}
		if len(m.stack) > m.cfg.maxStack {
			return nil, m.failf(ErrLimit, "stack over %d values", m.cfg.maxStack)
		}
	}
}

// step runs one opcode: one named handler per opcode (or per family of
// opcodes that differ only in their argument's size).
func (m *machine) step(c byte) error {
	switch c {
	case op.Proto:
		return m.opProto()
	case op.Frame:
		return m.opFrame()
	case op.None:
		return m.opNone()
	case op.Newtrue:
		return m.opNewtrue()
	case op.Newfalse:
		return m.opNewfalse()
	case op.Binint1:
		return m.opBinint1()
	case op.Binint2:
		return m.opBinint2()
	case op.Binint:
		return m.opBinint()
	case op.Long1, op.Long4:
		return m.opLongBin()
	case op.Int:
		return m.opInt()
	case op.Long:
		return m.opLongText()
	case op.Binfloat:
		return m.opBinfloat()
	case op.Float:
		return m.opFloat()
	case op.ShortBinunicode, op.Binunicode, op.Binunicode8:
		return m.opBinunicode()
	case op.Unicode:
		return m.opUnicode()
	case op.ShortBinbytes, op.Binbytes, op.Binbytes8:
		return m.opBinbytes()
	case op.Bytearray8:
		return m.opBytearray8()
	case op.ShortBinstring, op.Binstring:
		return m.opBinstring()
	case op.String:
		return m.opString()
	case op.NextBuffer:
		return m.opNextBuffer()
	case op.ReadonlyBuffer:
		return m.opReadonlyBuffer()
	case op.EmptyList:
		return m.opEmptyList()
	case op.EmptyTuple:
		return m.opEmptyTuple()
	case op.EmptyDict:
		return m.opEmptyDict()
	case op.EmptySet:
		return m.opEmptySet()
	case op.Mark:
		return m.opMark()
	case op.PopMark:
		return m.opPopMark()
	case op.Pop:
		return m.opPop()
	case op.Dup:
		return m.opDup()
	case op.Tuple:
		return m.opTuple()
	case op.Tuple1, op.Tuple2, op.Tuple3:
		return m.opTupleN()
	case op.List:
		return m.opList()
	case op.Dict:
		return m.opDict()
	case op.Frozenset:
		return m.opFrozenset()
	case op.Append:
		return m.opAppend()
	case op.Appends:
		return m.opAppends()
	case op.Setitem:
		return m.opSetitem()
	case op.Setitems:
		return m.opSetitems()
	case op.Additems:
		return m.opAdditems()
	case op.Get:
		return m.opGet()
	case op.Binget:
		return m.opBinget()
	case op.LongBinget:
		return m.opLongBinget()
	case op.Put:
		return m.opPut()
	case op.Binput:
		return m.opBinput()
	case op.LongBinput:
		return m.opLongBinput()
	case op.Memoize:
		return m.opMemoize()
	case op.Global:
		return m.opGlobal()
	case op.StackGlobal:
		return m.opStackGlobal()
	case op.Ext1, op.Ext2, op.Ext4:
		return m.opExt()
	case op.Reduce:
		return m.opReduce()
	case op.Newobj:
		return m.opNewobj()
	case op.NewobjEx:
		return m.opNewobjEx()
	case op.Inst:
		return m.opInst()
	case op.Obj:
		return m.opObj()
	case op.Build:
		return m.opBuild()
	case op.Persid:
		return m.opPersid()
	case op.Binpersid:
		return m.opBinpersid()
	}
	return m.fail(ErrUnknownOpcode, fmt.Sprintf("byte 0x%02x", c))
}

func (m *machine) fail(err error, detail string) error {
	return &Error{Offset: m.opOff, Op: m.code, Err: err, Detail: detail}
}

func (m *machine) failf(err error, format string, a ...any) error {
	return m.fail(err, fmt.Sprintf(format, a...))
}

func (m *machine) push(v any) {
	if m.typed {
		m.tpush(v)
		return
	}
	m.stack = append(m.stack, v)
}

func (m *machine) pop() (any, error) {
	n := len(m.stack)
	if n == 0 || (len(m.marks) > 0 && m.marks[len(m.marks)-1] >= n) {
		return nil, m.fail(ErrStackUnderflow, "")
	}
	v := m.stack[n-1]
	m.stack = m.stack[:n-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	n := len(m.stack)
	if n == 0 || (len(m.marks) > 0 && m.marks[len(m.marks)-1] >= n) {
		return nil, m.fail(ErrStackUnderflow, "")
	}
	return m.stack[n-1], nil
}

// popMark returns the items above the topmost MARK and removes them and
// the mark. The slice aliases the stack: copy before pushing again.
func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, m.fail(ErrNoMark, "")
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := m.stack[k:]
	m.stack = m.stack[:k]
	return items, nil
}

// floor is the lowest stack index the current opcode may consume.
func (m *machine) floor() int {
	if len(m.marks) > 0 {
		return m.marks[len(m.marks)-1]
	}
	return 0
}

func (m *machine) need(n int64) ([]byte, error) {
	b, _, ok := m.src.Read(n)
	if !ok {
		return nil, m.failf(ErrTruncated, "need %d bytes", n)
	}
	return b, nil
}

func (m *machine) u8() (byte, error) {
	c, ok := m.src.Byte()
	if !ok {
		return 0, m.fail(ErrTruncated, "need 1 byte")
	}
	return c, nil
}

// payload reads an n-byte payload after checking the limits; copy says
// whether the result must be a private copy.
func (m *machine) payload(n uint64, copyOut bool) ([]byte, error) {
	if n > uint64(m.cfg.maxLength) {
		return nil, m.failf(ErrLimit, "length %d over MaxLength %d", n, m.cfg.maxLength)
	}
	if a := m.src.Available(); a >= 0 && uint64(a) < n {
		return nil, m.failf(ErrTruncated, "length %d, only %d bytes left", n, a)
	}
	b, where, ok := m.src.Read(int64(n))
	if !ok {
		return nil, m.failf(ErrTruncated, "length %d", n)
	}
	if copyOut && (where == stream.Transient || (where == stream.InInput && !m.cfg.zeroCopy)) {
		if err := m.charge(int64(n)); err != nil {
			return nil, err
		}
		if len(b) == 0 {
			b = make([]byte, 0)
		} else {
			// append, not make and copy: the copy's memory is not
			// zeroed first (a third of the time of 1 MiB bytes).
			b = append([]byte(nil), b...)
		}
	}
	return b, nil
}

func (m *machine) charge(n int64) error {
	m.alloc += n
	if m.alloc > m.cfg.maxAlloc {
		return m.failf(ErrLimit, "allocation over MaxAlloc %d", m.cfg.maxAlloc)
	}
	return nil
}

// line reads a text-protocol argument. Its bound is MaxLength: a
// protocol-0 pickle carries a whole str or long on one line.
func (m *machine) line() ([]byte, error) {
	l, ok, tooLong := m.src.ReadLine(int(min(m.cfg.maxLength, math.MaxInt)))
	if tooLong {
		return nil, m.failf(ErrLimit, "line over MaxLength %d", m.cfg.maxLength)
	}
	if !ok {
		return nil, m.fail(ErrTruncated, "no newline")
	}
	return l, nil
}

func (m *machine) opProto() error {
	p, err := m.u8()
	if err != nil {
		return err
	}
	if p > op.HighestProtocol {
		return m.failf(ErrBadArgument, "unsupported protocol %d", p)
	}
	m.proto = int(p)
	return nil
}

func (m *machine) opFrame() error {
	b, err := m.need(8)
	if err != nil {
		return err
	}
	n := binary.LittleEndian.Uint64(b)
	if a := m.src.Available(); a >= 0 && uint64(a) < n {
		return m.failf(ErrTruncated, "frame of %d bytes, only %d left", n, a)
	}
	return nil
}

func (m *machine) opMark() error {
	if len(m.marks) >= m.cfg.maxDepth {
		return m.failf(ErrLimit, "MARK nesting over %d", m.cfg.maxDepth)
	}
	m.marks = append(m.marks, len(m.stack))
	if len(m.marks) > 1 && m.marks[len(m.marks)-2] == len(m.stack) {
		// The top item is under the mark before: APPENDS or SETITEMS on
		// it is a stack underflow (as in CPython), not a batch of it.
		return nil
	}
	if !m.typed && len(m.stack) > 0 {
		switch t := m.stack[len(m.stack)-1].(type) {
		case *listBox:
			if !t.done() {
				m.fastBox(t)
			}
		case *py.Dict:
			m.fastDict(t)
		}
	}
	if m.typed && len(m.stack) > 0 {
		if f, ok := m.stack[len(m.stack)-1].(*tframe); ok && f.open && !f.used {
			switch {
			case f.kind == fList && (f.ek != kOther || f.sd != nil):
				m.fastList(f)
			case f.kind == fMap && f.mp.fmap != nil:
				m.fastMap(f)
			case f.kind == fStruct:
				m.fastStruct(f)
			}
		}
	}
	return nil
}

func (m *machine) opPopMark() error {
	items, err := m.popMark()
	for _, it := range items {
		m.discard(it) // see effects.go
	}
	return err
}

func (m *machine) opPop() error {
	if len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack) {
		// As CPython: POP with nothing above the mark discards the mark.
		m.marks = m.marks[:len(m.marks)-1]
		return nil
	}
	v, err := m.pop()
	if err == nil {
		m.discard(v) // see effects.go
	}
	return err
}

func (m *machine) opDup() error {
	v, err := m.top()
	if err != nil {
		return err
	}
	m.push(v)
	return nil
}

// typeName is the Python type name of a decoded value, for messages: the
// machine's own boxes, then py.TypeName.
func typeName(v any) string {
	if _, ok := v.(*listBox); ok {
		return "list"
	}
	return py.TypeName(v)
}
