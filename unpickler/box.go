package unpickler

import "unsafe"

// Decoded ints, floats and strings are stored in interfaces. Converting
// each to an interface would allocate once per value; instead they are
// appended to slabs and the interfaces point into them. An interface's
// data word may point anywhere in the heap: the slab stays alive as long as
// any value in it is referenced, and nothing writes to a slot once made.

type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	int64Type   = typeOf(int64(0))
	float64Type = typeOf(float64(0))
	stringType  = typeOf("")
)

const slabSize = 512

func (m *machine) boxInt(v int64) any {
	if v >= 0 && v < 256 {
		return v // the runtime has these without allocating
	}
	if len(m.ints) == cap(m.ints) {
		m.ints = make([]int64, 0, slabSize)
	}
	m.ints = append(m.ints, v)
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = int64Type, unsafe.Pointer(&m.ints[len(m.ints)-1])
	return r
}

func (m *machine) boxFloat(v float64) any {
	if len(m.floats) == cap(m.floats) {
		m.floats = make([]float64, 0, slabSize)
	}
	m.floats = append(m.floats, v)
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = float64Type, unsafe.Pointer(&m.floats[len(m.floats)-1])
	return r
}

func (m *machine) boxString(s string) any {
	if len(m.strs) == cap(m.strs) {
		m.strs = make([]string, 0, slabSize)
	}
	m.strs = append(m.strs, s)
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = stringType, unsafe.Pointer(&m.strs[len(m.strs)-1])
	return r
}

// str copies a short payload into an arena of string bytes, so that many
// small strings cost one allocation; longer ones get their own.
func (m *machine) str(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > 256 {
		return string(b)
	}
	if cap(m.arena)-len(m.arena) < n {
		m.arena = make([]byte, 0, 32<<10)
	}
	start := len(m.arena)
	m.arena = append(m.arena, b...)
	return unsafe.String(&m.arena[start], n)
}
