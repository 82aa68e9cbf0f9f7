package py

import (
	"math/big"
	"testing"
	"time"
)

func TestTypeName(t *testing.T) {
	g := Global{Module: "collections", Name: "OrderedDict"}
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, "None"}, {true, "bool"}, {int64(1), "int"}, {big.NewInt(1), "int"}, {1.5, "float"},
		{complex(1, 2), "complex"}, {"s", "str"}, {[]byte("b"), "bytes"}, {ByteArray("b"), "bytearray"},
		{ByteString("s"), "str (Python 2)"}, {[]any{}, "list"}, {Tuple{}, "tuple"}, {NewDict(0), "dict"},
		{&Set{}, "set"}, {&FrozenSet{}, "frozenset"}, {g, "global collections.OrderedDict"},
		{&Call{Callable: g}, "call of collections.OrderedDict"}, {&Call{Callable: int64(1)}, "call"},
		{(*Call)(nil), "call"}, {&Object{Class: g}, "collections.OrderedDict object"}, {(*Object)(nil), "object"},
		{OutOfBand{}, "buffer"}, {PersistentID{}, "persistent id"}, {time.Time{}, "datetime"},
		{time.Second, "timedelta"}, {int8(1), "int8"},
	} {
		if got := TypeName(c.v); got != c.want {
			t.Errorf("TypeName(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
}
