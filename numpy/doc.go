// Package numpy reads and writes numpy arrays in pickles, so that a Go
// program and a Python program exchange ndarrays as numpy itself pickles
// them, with no copy where the transport allows.
//
// Decoding: unpickler.Unmarshal(p, &a) with a of type numpy.Array accepts
// what numpy 1.20 and later and numpy 2 write at protocols 2 to 5
// (numpy.core or numpy._core names; _reconstruct with its BUILD state,
// _frombuffer with a PickleBuffer in band or out of band through
// unpickler.Buffers, numpy scalars), for bool, int8–int64, uint8–uint64,
// float16, float32, float64, complex64 and complex128, in either byte
// order, in C or Fortran order. Anything else numpy can pickle (object
// arrays, structured, string and datetime64 dtypes, longdouble, ndarray
// subclasses) is an *Error wrapping ErrUnsupported or ErrNotArray. Once
// the package is imported, typed Unmarshal also stores arrays straight
// into []float64, [][]float32, a scalar and so on (see Array.AssignPickle),
// through unpickler's SelfAssigner hook.
//
// The data: View returns the elements as a []T sharing the array's memory
// when the type, byte order and alignment allow, and says why not
// otherwise; Copy converts in every case.
//
// Encoding: New wraps a Go slice (no copy) and pickler.Marshal writes it
// as numpy does: byte for byte numpy's own pickle of the same array, at
// protocols 2–4 the _reconstruct form and at 5 _frombuffer over a
// PickleBuffer, which a pickler.BufferCallback can send out of band — the
// Go slice itself becomes the out-of-band segment. numpy loads either as a
// writable array.
//
// Aliasing: a decoded array's Data is the decoder's copy of the payload
// by default; it is the caller's out-of-band buffer when the pickle put
// the data out of band, and the input itself for in-band data with
// unpickler.ZeroCopy(true) (protocol-5 BYTEARRAY8 payloads included).
// Writing through View writes into that memory.
package numpy
