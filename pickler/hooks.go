package pickler

import (
	"fmt"
	"reflect"
)

// ProtocolMarshaler is a Marshaler whose Python form depends on the
// protocol, as a Python class's __reduce_ex__(protocol) does: a numpy
// array pickles its data as bytes below protocol 5 and as a PickleBuffer
// (out of band with a BufferCallback) at 5. For a type that has both
// methods, the pickler calls MarshalPickleProtocol with the protocol it
// writes, never MarshalPickle.
type ProtocolMarshaler interface {
	Marshaler
	MarshalPickleProtocol(protocol int) (any, error)
}

// marshalFor asks m for its Python form at protocol proto. A nil pointer
// is None, as on the reflect path (a value method cannot be called on it).
// A panic in the method is its error (ErrMarshaler), not the encoder's
// (ErrInternal).
func marshalFor(m Marshaler, proto int) (r any, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	if rv := reflect.ValueOf(m); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, nil
	}
	if pm, ok := m.(ProtocolMarshaler); ok {
		return pm.MarshalPickleProtocol(proto)
	}
	return m.MarshalPickle()
}
