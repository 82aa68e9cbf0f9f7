package numpy

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// Element is the set of Go types an array's elements can be viewed or
// copied as. Float16 stands for numpy's float16; int and uint are the
// 64-bit types on 64-bit platforms.
type Element interface {
	~bool | ~int8 | ~int16 | ~int32 | ~int64 | ~int | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uint |
		~float32 | ~float64 | ~complex64 | ~complex128
}

// Float16 is numpy's float16 (IEEE 754 binary16), as its bits.
type Float16 uint16

var float16Type = reflect.TypeFor[Float16]()

// Float64 returns h's value.
func (h Float16) Float64() float64 { return float64(halfToFloat32(uint16(h))) }

// NewFloat16 returns f rounded to the nearest float16 (ties to even, as
// numpy does; beyond the range, ±Inf).
func NewFloat16(f float64) Float16 { return Float16(float64ToHalf(f)) }

// DTypeOf returns the dtype that T's elements have in this machine's byte
// order: float64 is "<f8" on little-endian machines.
func DTypeOf[T Element]() DType {
	d, _ := dtypeOfType(reflect.TypeFor[T]())
	return d
}

// dtypeOfType maps a Go type to its numpy dtype, native byte order.
func dtypeOfType(t reflect.Type) (DType, bool) {
	if t == float16Type {
		return DType{Kind: Float, Size: 2, BigEndian: NativeBigEndian}, true
	}
	var k Kind
	switch t.Kind() {
	case reflect.Bool:
		k = Bool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		k = Int
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		k = Uint
	case reflect.Float32, reflect.Float64:
		k = Float
	case reflect.Complex64, reflect.Complex128:
		k = Complex
	default:
		return DType{}, false
	}
	size := int(t.Size())
	return DType{Kind: k, Size: size, BigEndian: size > 1 && NativeBigEndian}, true
}

// View returns the array's elements as a []T that shares the array's
// memory: no copy, O(1) (for bool, a scan checks every byte is 0 or 1, as
// Go requires). It fails, saying why, unless T is the array's dtype in
// this machine's byte order and Data starts at an address aligned for T;
// Copy works in every case.
//
// Elements come in storage order: row-major for C order, column-major
// for Fortran. Out-of-band arrays are aligned when the transport aligns
// the buffers (frame version 2 does); in-band data is aligned when the
// decoder copied it (the default) and, with unpickler.ZeroCopy(true),
// only where the pickle happened to place it.
func View[T Element](a *Array) ([]T, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	t := reflect.TypeFor[T]()
	want, _ := dtypeOfType(t)
	if a.DType.Kind != want.Kind || a.DType.Size != want.Size {
		gt := t.String()
		if gt != want.Name() {
			gt += " (" + want.Name() + ")"
		}
		return nil, &Error{Err: ErrType, Detail: fmt.Sprintf("array is %s, Go type is %s (use Copy to convert)",
			a.DType.Name(), gt)}
	}
	if !a.DType.Native() {
		return nil, &Error{Err: ErrByteOrder, Detail: fmt.Sprintf("array is %s on a %s machine (use Copy to convert)",
			a.DType, map[bool]string{false: "little-endian", true: "big-endian"}[NativeBigEndian])}
	}
	n := len(a.Data) / a.DType.Size
	if n == 0 {
		return []T{}, nil
	}
	p := unsafe.Pointer(unsafe.SliceData(a.Data))
	if al := uintptr(t.Align()); uintptr(p)%al != 0 {
		return nil, &Error{Err: ErrMisaligned, Detail: fmt.Sprintf("address %% %d = %d, %s needs %d (use Copy)",
			al, uintptr(p)%al, t, al)}
	}
	if a.DType.Kind == Bool {
		for i, c := range a.Data {
			if c > 1 {
				return nil, &Error{Err: ErrInvalid, Detail: fmt.Sprintf("bool element %d is %d, not 0 or 1 (use Copy)", i, c)}
			}
		}
	}
	return unsafe.Slice((*T)(p), n), nil
}

// Copy returns the array's elements converted to T in a new slice, in
// storage order (row-major for C order, column-major for Fortran). It
// converts byte order and, as numpy's astype does, type: integers wrap,
// floats to integers truncate (NaN and out-of-range values give an
// unspecified value, as in numpy), complex to real keeps the real part,
// anything to bool is "not zero". It returns nil if the array is not valid (see
// Validate).
func Copy[T Element](a *Array) []T {
	if a.Validate() != nil {
		return nil
	}
	t := reflect.TypeFor[T]()
	want, _ := dtypeOfType(t)
	n := len(a.Data) / a.DType.Size
	out := make([]T, n)
	if n == 0 {
		return out
	}
	convert(a.DType, a.Data, want, unsafe.Pointer(unsafe.SliceData(out)), n)
	return out
}

// convert writes n elements of src (dtype from) into dst as dtype to
// (native order, dst aligned for it).
func convert(from DType, src []byte, to DType, dst unsafe.Pointer, n int) {
	if from.Kind == to.Kind && from.Size == to.Size {
		out := unsafe.Slice((*byte)(dst), n*to.Size)
		copy(out, src)
		if !from.Native() {
			swapBytes(out, from)
		}
		if to.Kind == Bool {
			for i, c := range out {
				if c > 1 {
					out[i] = 1
				}
			}
		}
		return
	}
	load := loader(from)
	store := storer(to)
	for i := range n {
		store(unsafe.Add(dst, i*to.Size), load(src[i*from.Size:]))
	}
}

// swapBytes reverses the bytes of each number in b (each half of a
// complex).
func swapBytes(b []byte, d DType) {
	unit := d.Size
	if d.Kind == Complex {
		unit /= 2
	}
	for i := 0; i+unit <= len(b); i += unit {
		for j, k := i, i+unit-1; j < k; j, k = j+1, k-1 {
			b[j], b[k] = b[k], b[j]
		}
	}
}

// value is one element, widened.
type value struct {
	kind Kind
	i    int64
	u    uint64
	f    float64 // float, or complex's real part
	im   float64
}

func (v value) float() float64 {
	switch v.kind {
	case Int:
		return float64(v.i)
	case Uint, Bool:
		return float64(v.u)
	}
	return v.f
}

func (v value) nonzero() bool {
	switch v.kind {
	case Int:
		return v.i != 0
	case Uint, Bool:
		return v.u != 0
	}
	return v.f != 0 || v.im != 0
}

func (v value) int() int64 {
	switch v.kind {
	case Int:
		return v.i
	case Uint, Bool:
		return int64(v.u)
	}
	return floatToInt(v.f)
}

func (v value) uint() uint64 {
	switch v.kind {
	case Int:
		return uint64(v.i)
	case Uint, Bool:
		return v.u
	}
	if v.f < 0 {
		return uint64(floatToInt(v.f))
	}
	return floatToUint(v.f)
}

// floatToInt truncates toward zero; NaN and out-of-range values give
// math.MinInt64 (what x86-64 gives numpy), the same on every platform.
func floatToInt(f float64) int64 {
	if f != f || f >= 1<<63 || f < -(1<<63) {
		return math.MinInt64
	}
	return int64(f)
}

func floatToUint(f float64) uint64 {
	if f != f || f >= 1<<64 {
		return 1 << 63
	}
	return uint64(f)
}

func loader(d DType) func([]byte) value {
	var bo binary.ByteOrder = binary.LittleEndian
	if d.BigEndian {
		bo = binary.BigEndian
	}
	switch d.Kind {
	case Bool:
		return func(b []byte) value {
			if b[0] != 0 {
				return value{kind: Bool, u: 1}
			}
			return value{kind: Bool}
		}
	case Int:
		switch d.Size {
		case 1:
			return func(b []byte) value { return value{kind: Int, i: int64(int8(b[0]))} }
		case 2:
			return func(b []byte) value { return value{kind: Int, i: int64(int16(bo.Uint16(b)))} }
		case 4:
			return func(b []byte) value { return value{kind: Int, i: int64(int32(bo.Uint32(b)))} }
		}
		return func(b []byte) value { return value{kind: Int, i: int64(bo.Uint64(b))} }
	case Uint:
		switch d.Size {
		case 1:
			return func(b []byte) value { return value{kind: Uint, u: uint64(b[0])} }
		case 2:
			return func(b []byte) value { return value{kind: Uint, u: uint64(bo.Uint16(b))} }
		case 4:
			return func(b []byte) value { return value{kind: Uint, u: uint64(bo.Uint32(b))} }
		}
		return func(b []byte) value { return value{kind: Uint, u: bo.Uint64(b)} }
	case Float:
		switch d.Size {
		case 2:
			return func(b []byte) value { return value{kind: Float, f: float64(halfToFloat32(bo.Uint16(b)))} }
		case 4:
			return func(b []byte) value { return value{kind: Float, f: float64(math.Float32frombits(bo.Uint32(b)))} }
		}
		return func(b []byte) value { return value{kind: Float, f: math.Float64frombits(bo.Uint64(b))} }
	}
	if d.Size == 8 {
		return func(b []byte) value {
			return value{kind: Complex, f: float64(math.Float32frombits(bo.Uint32(b))),
				im: float64(math.Float32frombits(bo.Uint32(b[4:])))}
		}
	}
	return func(b []byte) value {
		return value{kind: Complex, f: math.Float64frombits(bo.Uint64(b)), im: math.Float64frombits(bo.Uint64(b[8:]))}
	}
}

// storer writes a value as d (native order) at p.
func storer(d DType) func(unsafe.Pointer, value) {
	switch d.Kind {
	case Bool:
		return func(p unsafe.Pointer, v value) { *(*bool)(p) = v.nonzero() }
	case Int:
		switch d.Size {
		case 1:
			return func(p unsafe.Pointer, v value) { *(*int8)(p) = int8(v.int()) }
		case 2:
			return func(p unsafe.Pointer, v value) { *(*int16)(p) = int16(v.int()) }
		case 4:
			return func(p unsafe.Pointer, v value) { *(*int32)(p) = int32(v.int()) }
		}
		return func(p unsafe.Pointer, v value) { *(*int64)(p) = v.int() }
	case Uint:
		switch d.Size {
		case 1:
			return func(p unsafe.Pointer, v value) { *(*uint8)(p) = uint8(v.uint()) }
		case 2:
			return func(p unsafe.Pointer, v value) { *(*uint16)(p) = uint16(v.uint()) }
		case 4:
			return func(p unsafe.Pointer, v value) { *(*uint32)(p) = uint32(v.uint()) }
		}
		return func(p unsafe.Pointer, v value) { *(*uint64)(p) = v.uint() }
	case Float:
		switch d.Size {
		case 2:
			return func(p unsafe.Pointer, v value) { *(*uint16)(p) = float64ToHalf(v.float()) }
		case 4:
			return func(p unsafe.Pointer, v value) { *(*float32)(p) = float32(v.float()) }
		}
		return func(p unsafe.Pointer, v value) { *(*float64)(p) = v.float() }
	}
	if d.Size == 8 {
		return func(p unsafe.Pointer, v value) { *(*complex64)(p) = complex64(complex(v.float(), v.im)) }
	}
	return func(p unsafe.Pointer, v value) { *(*complex128)(p) = complex(v.float(), v.im) }
}

// halfToFloat32 decodes IEEE 754 binary16 (exact: every half is a float32).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		f := float32(mant) / (1 << 24) // zero or subnormal: mant × 2^-24
		return math.Float32frombits(math.Float32bits(f) | sign)
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// float64ToHalf rounds f to binary16, ties to even, straight from the
// double (no double rounding), as numpy's npy_double_to_half.
func float64ToHalf(f float64) uint16 {
	b := math.Float64bits(f)
	sign := uint16(b>>48) & 0x8000
	exp := int(b>>52) & 0x7ff
	mant := b & (1<<52 - 1)
	if exp == 0x7ff {
		if mant == 0 {
			return sign | 0x7c00
		}
		h := 0x7c00 | uint16(mant>>42) // NaN keeps its top payload bits, as numpy
		if h == 0x7c00 {
			h++ // and stays a NaN
		}
		return sign | h
	}
	m := mant | 1<<52
	if exp == 0 {
		m = mant // subnormal double: far below half's range
		exp = 1
	}
	e := exp - 1023 + 15 // half's biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half: units of 2^-24; m × 2^(exp-1075) / 2^-24.
		s := uint(1051 - exp)
		return sign | uint16(roundShift(m, s))
	}
	q := roundShift(m, 42) // 2^10 ≤ q ≤ 2^11; a carry into 2^11 moves the exponent up
	return sign | (uint16(e-1)<<10 + uint16(q))
}

// roundShift returns m >> s rounded to nearest, ties to even.
func roundShift(m uint64, s uint) uint64 {
	if s >= 64 {
		return 0
	}
	q := m >> s
	r := m & (1<<s - 1)
	half := uint64(1) << (s - 1)
	if r > half || (r == half && q&1 == 1) {
		q++
	}
	return q
}
