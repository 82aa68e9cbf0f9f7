package py

import (
	"fmt"
	"math/big"
	"time"
)

// TypeName names a value of the model by its Python type, for error
// messages: "None", "int", "str", "list", "dict", "global mod.name",
// "call of mod.name", "mod.name object". A Go value outside the model is
// named by its Go type.
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case complex128:
		return "complex"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case ByteArray:
		return "bytearray"
	case ByteString:
		return "str (Python 2)"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case *FrozenSet:
		return "frozenset"
	case Global:
		return "global " + x.String()
	case *Call:
		if x == nil {
			return "call"
		}
		if g, ok := x.Callable.(Global); ok {
			return "call of " + g.String()
		}
		return "call"
	case *Object:
		if x == nil {
			return "object"
		}
		if g, ok := x.Class.(Global); ok {
			return g.String() + " object"
		}
		return "object"
	case PickleBuffer, OutOfBand:
		return "buffer"
	case PersistentID:
		return "persistent id"
	case time.Time:
		return "datetime"
	case time.Duration:
		return "timedelta"
	}
	return fmt.Sprintf("%T", v)
}
