package pickler

import (
	"reflect"
	"strings"
)

// UnsupportedTypeError is returned for a Go value that has no pickle form
// (chan, func, unsafe.Pointer, …). Path says where it was, e.g. ".Items[3].Ch".
type UnsupportedTypeError struct {
	Type reflect.Type
	Path string
}

func (e *UnsupportedTypeError) Error() string {
	return "pickler: unsupported type " + e.Type.String() + " at " + pathOrRoot(e.Path)
}

// UnsupportedValueError is returned for a value of a supported type that
// cannot be encoded: invalid UTF-8, a cycle that cannot be memoized, too
// deep nesting, a protocol that lacks the needed opcode.
type UnsupportedValueError struct {
	Reason string
	Path   string
}

func (e *UnsupportedValueError) Error() string {
	return "pickler: " + e.Reason + " at " + pathOrRoot(e.Path)
}

func pathOrRoot(p string) string {
	if p == "" {
		return "top level"
	}
	return "path " + p
}

// withPath prefixes the path of a pickler error as it unwinds.
func withPath(err error, elem string) error {
	switch e := err.(type) {
	case *UnsupportedTypeError:
		e.Path = elem + e.Path
	case *UnsupportedValueError:
		e.Path = elem + e.Path
	}
	return err
}

func keyPath(k string) string {
	if strings.ContainsAny(k, "[]. ") {
		return "[" + quote(k) + "]"
	}
	return "[" + k + "]"
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// Marshaler is implemented by Go types that say how they pickle: the
// returned value (often a py.Call, py.Object or py.Global) is encoded in
// their place, as Python's __reduce__.
type Marshaler interface {
	MarshalPickle() (any, error)
}
