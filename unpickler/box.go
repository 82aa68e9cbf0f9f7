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

// boxIn appends v to a slab and returns an interface of type typ
// pointing at it.
func boxIn[T any](slab *[]T, v T, typ unsafe.Pointer) any {
	if len(*slab) == cap(*slab) {
		*slab = make([]T, 0, slabSize)
	}
	*slab = append(*slab, v)
	var r any
	e := (*eface)(unsafe.Pointer(&r))
	e.typ, e.data = typ, unsafe.Pointer(&(*slab)[len(*slab)-1])
	return r
}

func (m *machine) boxInt(v int64) any {
	if v >= 0 && v < 256 {
		return v // the runtime has these without allocating
	}
	return boxIn(&m.ints, v, int64Type)
}

func (m *machine) boxFloat(v float64) any { return boxIn(&m.floats, v, float64Type) }

func (m *machine) boxString(s string) any { return boxIn(&m.strs, s, stringType) }

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
