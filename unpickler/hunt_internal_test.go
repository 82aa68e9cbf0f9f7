package unpickler

// RefUnmarshal is the reference typed decode (Load, then assign) for the
// external hunt tests.
func RefUnmarshal(data []byte, v any, opts ...Option) error { return referenceOpts(data, v, opts...) }
