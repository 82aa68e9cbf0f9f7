package py

import "unsafe"

// ContainerID is the identity of a container of the value model, what
// Python's id() tells apart: the first item's address for a list or tuple
// (a list held twice is one []any over one array), the pointer for a dict,
// set, frozenset, call or object; nil for an empty list or tuple and for
// other values (scalars have no identity that matters here). Walks that
// must not go round a container inside itself mark these.
func ContainerID(v any) unsafe.Pointer {
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			return unsafe.Pointer(unsafe.SliceData(x))
		}
	case Tuple:
		if len(x) > 0 {
			return unsafe.Pointer(unsafe.SliceData(x))
		}
	case *Dict:
		return unsafe.Pointer(x)
	case *Set:
		return unsafe.Pointer(x)
	case *FrozenSet:
		return unsafe.Pointer(x)
	case *Call:
		return unsafe.Pointer(x)
	case *Object:
		return unsafe.Pointer(x)
	}
	return nil
}
