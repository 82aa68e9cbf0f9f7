//go:build linux && (amd64 || arm64 || ppc64le || riscv64 || s390x || loong64)

package pickler_test

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

type bigField struct{ S string }

type bigMarshaler struct{ s string }

func (m bigMarshaler) MarshalPickle() (any, error) { return m.s, nil }

// TestLengthOver4GiBEveryWay: the 32-bit length check holds on every way
// a str or bytes reaches the writer, not only at top level: as a map key
// (the by-value memo's path), in a []string, a map[string]string, a
// tuple, a struct field, from a Marshaler, a writable PickleBuffer, a
// call's args, an object's state; and a Python 2 str of 2 GiB or more is
// refused at every binary protocol (BINSTRING's length is a signed 32-bit
// int). The error's path names a long key by its first 64 bytes: it
// copied the whole key, and a 5 GiB key ran the process out of memory.
func TestLengthOver4GiBEveryWay(t *testing.T) {
	b := hugeZeros(t)
	s := unsafe.String(unsafe.SliceData(b), len(b))
	values := map[string]any{
		"str key":            map[string]int{s: 1},
		"str key in any":     map[any]int{s: 1},
		"[]string":           []string{"a", s},
		"map[string]string":  map[string]string{"k": s},
		"tuple":              py.Tuple{1, s},
		"struct field":       bigField{s},
		"marshaler":          bigMarshaler{s},
		"writable buffer":    py.PickleBuffer{Data: b},
		"bytes in a call":    &py.Call{Callable: py.Global{Module: "m", Name: "f"}, Args: py.Tuple{b}},
		"bytes object state": &py.Object{Class: py.Global{Module: "m", Name: "C"}, State: b, HasState: true},
	}
	for proto := 1; proto <= 3; proto++ {
		for name, v := range values {
			_, err := pickler.Marshal(v, pickler.Protocol(proto))
			require.ErrorIs(t, err, pickler.ErrTooLarge, "protocol %d %s", proto, name)
		}
	}
	for proto := 1; proto <= 5; proto++ {
		_, err := pickler.Marshal([]any{py.ByteString(b)}, pickler.Protocol(proto))
		require.ErrorIs(t, err, pickler.ErrTooLarge, "protocol %d Python 2 str", proto)
	}
}
