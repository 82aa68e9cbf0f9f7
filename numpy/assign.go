package numpy

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/segpickle/segpickle/unpickler"
)

// Importing the package registers numpy's array functions (_reconstruct,
// _frombuffer and scalar, under numpy.core and numpy._core) in
// unpickler.DefaultRegistry, so that typed Unmarshal stores arrays into
// Go slices and scalars (see AssignPickle). Registries made with
// unpickler.NewRegistry after that copy them too.
func init() {
	for mod := range reconstructMods {
		unpickler.DefaultRegistry.Register(mod, "_reconstruct", construct)
		unpickler.DefaultRegistry.Register(mod, "scalar", construct)
	}
	for mod := range frombufferMods {
		unpickler.DefaultRegistry.Register(mod, "_frombuffer", construct)
	}
}

func construct(c unpickler.Construct) (any, error) {
	return fromCall(c.Class, c.Args, c.State, c.HasState)
}

// UnmarshalPickle decodes a pickled numpy.ndarray or numpy scalar into a:
// unpickler.Unmarshal(p, &a) with a of type numpy.Array. None leaves the
// zero Array. It implements unpickler.Unmarshaler.
func (a *Array) UnmarshalPickle(v any) error {
	if v == nil { // None leaves the zero Array, as for other targets
		*a = Array{}
		return nil
	}
	b, err := FromValue(v)
	if err != nil {
		return err
	}
	*a = *b
	return nil
}

// UnmarshalPickle decodes a pickled numpy.dtype of a supported type.
func (d *DType) UnmarshalPickle(v any) error {
	dt, err := parseDType(v)
	if err != nil {
		return err
	}
	*d = dt
	return nil
}

// AssignPickle stores the array into dst, a Go value typed Unmarshal
// found it in front of (it implements unpickler.SelfAssigner):
//
//   - []T for a 1-D array, [][]T for 2-D, and so on (Go arrays [N]T too),
//     indexed as in numpy (x[i][j] is a[i, j], whatever the storage
//     order);
//   - T for a 0-d array or a numpy scalar;
//
// where T is a bool, integer, float or complex type (or Float16) that
// numpy can cast the array's dtype to without loss ("safe" casting: int32
// into int64 or float64, float32 into float64, never float64 into
// float32 or int64 into int32). Slices of exactly the array's dtype in
// native byte order, C order and aligned share the data the decoder made
// (no second copy), as []byte targets do; data in an out-of-band buffer
// the caller supplied is copied, as for []byte (use View to share it).
// An interface element type (any) gets the values of the dynamic model,
// as numpy's tolist(): bool, int64, uint64, float64, complex128. Other
// targets are an error that says why.
func (a *Array) AssignPickle(dst reflect.Value) (bool, error) {
	if !dst.IsValid() {
		return false, &Error{Err: ErrType, Detail: "no Go value to store into"}
	}
	t := dst.Type()
	depth, leaf := 0, t
	for leaf.Kind() == reflect.Slice || leaf.Kind() == reflect.Array {
		depth++
		leaf = leaf.Elem()
	}
	if err := a.Validate(); err != nil {
		return true, err
	}
	elem := leaf
	if leaf.Kind() == reflect.Interface {
		// Elements as the Go values of the dynamic model (numpy's
		// tolist()): bool, int64, uint64, float64 or complex128.
		elem = naturalType(a.DType)
		if !elem.AssignableTo(leaf) {
			return true, a.unfit("its elements are %s, not assignable to %s", elem, leaf)
		}
	}
	want, ok := dtypeOfType(elem)
	if !ok {
		return true, a.unfit("%s is not a bool or number type", leaf)
	}
	if depth != len(a.Shape) {
		return true, a.unfit("%d dimensions; %s has %d", len(a.Shape), t, depth)
	}
	if !canCast(a.DType, want) {
		return true, a.unfit("%s does not convert to %s without loss", a.DType.Name(), leaf)
	}
	if depth == 0 {
		v := reflect.New(elem)
		convert(a.DType, a.Data, want, v.UnsafePointer(), 1)
		dst.Set(v.Elem())
		return true, nil
	}
	// Rows (the outer dimensions) must not outnumber the input: an
	// array of shape (2^40, 0) has no data but would need 2^40 empty
	// Go slices.
	rows := 1
	for _, d := range a.Shape[:len(a.Shape)-1] {
		rows *= d
	}
	if n := a.Len(); rows > max(n, 1<<16) {
		return true, a.unfit("%d empty rows for %d elements", rows, n)
	}
	flat, err := a.flat(elem, want, !a.outOfBand && elem == leaf)
	if err != nil {
		return true, err
	}
	if elem != leaf {
		boxed := reflect.MakeSlice(reflect.SliceOf(leaf), flat.Len(), flat.Len())
		for i := range flat.Len() {
			boxed.Index(i).Set(flat.Index(i))
		}
		flat = boxed
	}
	if err := fill(dst, flat, a.Shape, 0); err != nil {
		return true, a.unfit("%v", err)
	}
	return true, nil
}

// unfit says why the array does not fit a Go target; the unpickler
// prints it as "cannot unmarshal Python <this> into Go <type> at <path>".
func (a *Array) unfit(format string, args ...any) error {
	return fmt.Errorf("numpy.ndarray %s of shape %s (%s)", a.DType.Name(), shapeString(a.Shape), fmt.Sprintf(format, args...))
}

// flat returns the elements as one Go slice of the leaf type, in C
// order: the array's own memory when it already is that (alias true), a
// converted copy otherwise.
func (a *Array) flat(leaf reflect.Type, want DType, alias bool) (reflect.Value, error) {
	n := a.Len()
	st := reflect.SliceOf(leaf)
	if n == 0 {
		return reflect.MakeSlice(st, 0, 0), nil
	}
	p := unsafe.Pointer(unsafe.SliceData(a.Data))
	same := a.DType == want && uintptr(p)%uintptr(leaf.Align()) == 0 && (a.Order == C || cContiguous(a.Shape))
	if same && alias && want.Kind != Bool {
		return reflect.SliceAt(leaf, p, n), nil // (not ArrayOf: it would make a type per length)
	}
	out := reflect.MakeSlice(st, n, n)
	dp := out.UnsafePointer()
	if a.Order == C || cContiguous(a.Shape) {
		convert(a.DType, a.Data, want, dp, n)
		return out, nil
	}
	// Fortran order: convert, then transpose into C order.
	tmp := reflect.MakeSlice(st, n, n)
	convert(a.DType, a.Data, want, tmp.UnsafePointer(), n)
	transposeFToC(tmp.UnsafePointer(), dp, a.Shape, int(leaf.Size()))
	return out, nil
}

// transposeFToC copies a Fortran-ordered array of shape into C order.
func transposeFToC(src, dst unsafe.Pointer, shape []int, size int) {
	n := len(shape)
	fstride := make([]int, n) // element strides of the Fortran layout
	s := 1
	for k := range n {
		fstride[k] = s
		s *= shape[k]
	}
	total := s
	idx := make([]int, n)
	off := 0
	for o := range total {
		copy(unsafe.Slice((*byte)(unsafe.Add(dst, o*size)), size), unsafe.Slice((*byte)(unsafe.Add(src, off*size)), size))
		for i := n - 1; i >= 0; i-- {
			idx[i]++
			off += fstride[i]
			if idx[i] < shape[i] {
				break
			}
			off -= idx[i] * fstride[i]
			idx[i] = 0
		}
	}
}

// fill stores the C-ordered flat elements into dst, a nest of slices or
// arrays as deep as shape[k:]: inner slices are windows of flat, not
// copies.
func fill(dst reflect.Value, flat reflect.Value, shape []int, k int) error {
	n := shape[k]
	inner := flat.Len()
	if n > 0 {
		inner /= n
	}
	if dst.Kind() == reflect.Array && dst.Len() != n {
		return fmt.Errorf("dimension %d has %d elements, %s has %d", k, n, dst.Type(), dst.Len())
	}
	if k == len(shape)-1 {
		if dst.Kind() == reflect.Slice {
			dst.Set(flat)
		} else {
			reflect.Copy(dst, flat)
		}
		return nil
	}
	if dst.Kind() == reflect.Slice {
		dst.Set(reflect.MakeSlice(dst.Type(), n, n))
	}
	for i := range n {
		if err := fill(dst.Index(i), flat.Slice3(i*inner, (i+1)*inner, (i+1)*inner), shape, k+1); err != nil {
			return err
		}
	}
	return nil
}

// naturalType is the Go type of the dynamic model for d's elements.
func naturalType(d DType) reflect.Type {
	switch d.Kind {
	case Bool:
		return reflect.TypeFor[bool]()
	case Int:
		return reflect.TypeFor[int64]()
	case Uint:
		return reflect.TypeFor[uint64]()
	case Float:
		return reflect.TypeFor[float64]()
	}
	return reflect.TypeFor[complex128]()
}

// canCast is numpy's can_cast(from, to, "safe") for the supported types.
func canCast(from, to DType) bool {
	if from.Kind == to.Kind {
		return to.Size >= from.Size
	}
	switch from.Kind {
	case Bool:
		return true
	case Uint:
		switch to.Kind {
		case Int:
			return to.Size > from.Size
		case Float:
			return to.Size > from.Size || to.Size == 8
		case Complex:
			return to.Size/2 > from.Size || to.Size == 16
		}
	case Int:
		switch to.Kind {
		case Float:
			return to.Size > from.Size || to.Size == 8
		case Complex:
			return to.Size/2 > from.Size || to.Size == 16
		}
	case Float:
		return to.Kind == Complex && to.Size/2 >= from.Size
	}
	return false
}
