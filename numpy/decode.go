package numpy

import (
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"

	"github.com/segpickle/segpickle/py"
)

// How numpy pickles (numpy/_core/src/multiarray/methods.c, descriptor.c;
// numpy/_core/numeric.py):
//
//   - protocols 0–4, and protocol 5 for arrays that are not contiguous:
//     numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') with the
//     BUILD state (1, shape, dtype, is_fortran, data bytes); data is the
//     array in Fortran order if is_fortran, else in C order. Version-0
//     state lacks the leading 1.
//   - protocol 5: numpy.core.numeric._frombuffer(buffer, dtype, shape,
//     order), buffer a PickleBuffer over the array's memory (in band a
//     bytearray, BYTEARRAY8, or bytes if read-only; out of band
//     NEXT_BUFFER), order 'C' or 'F'. Newer numpy also writes order 'K'
//     with a fifth argument, the axis order to transpose to.
//   - a dtype: numpy.dtype('f8', False, True) with the BUILD state
//     (3, '<', None, None, None, -1, -1, 0): version, byte order,
//     subarray, names, fields, elsize, alignment, flags (and metadata in
//     version 4).
//   - a scalar (numpy.float64(1.5)): numpy.core.multiarray.scalar(dtype,
//     bytes).
//
// numpy 2 writes numpy._core instead of numpy.core; both are accepted.

// Function names numpy writes, by module.
var (
	reconstructMods = map[string]bool{"numpy.core.multiarray": true, "numpy._core.multiarray": true,
		"numpy.core._multiarray_umath": true, "numpy._core._multiarray_umath": true}
	frombufferMods = map[string]bool{"numpy.core.numeric": true, "numpy._core.numeric": true}
	dtypeMods      = map[string]bool{"numpy": true, "numpy.core.multiarray": true, "numpy._core.multiarray": true,
		"numpy.core._multiarray_umath": true, "numpy._core._multiarray_umath": true}
)

// IsArrayGlobal reports whether g is a function numpy pickles arrays or
// scalars with (_reconstruct, _frombuffer, scalar, under numpy.core or
// numpy._core).
func IsArrayGlobal(g py.Global) bool {
	switch g.Name {
	case "_reconstruct", "scalar":
		return reconstructMods[g.Module]
	case "_frombuffer":
		return frombufferMods[g.Module]
	}
	return false
}

// FromValue returns the array a decoded pickle value stands for: the
// *py.Call that unpickler.Load gives for a pickled numpy.ndarray or numpy
// scalar (a scalar is a 0-d array). The array's Data is the decoded
// payload itself, not a copy, except for order-'K' pickles whose axes must
// be permuted.
func FromValue(v any) (*Array, error) {
	c, ok := v.(*py.Call)
	if !ok || c == nil {
		return nil, &Error{Err: ErrNotArray, Detail: "a " + py.TypeName(v)}
	}
	g, ok := c.Callable.(py.Global)
	if !ok || !IsArrayGlobal(g) {
		return nil, &Error{Err: ErrNotArray, Detail: "a call of " + py.TypeName(c.Callable)}
	}
	return fromCall(g, c.Args, c.State, c.HasState)
}

func fromCall(g py.Global, args py.Tuple, state any, hasState bool) (*Array, error) {
	switch g.Name {
	case "_reconstruct":
		return fromReconstruct(args, state, hasState)
	case "_frombuffer":
		return fromFrombuffer(args)
	case "scalar":
		return fromScalar(args)
	}
	return nil, &Error{Err: ErrNotArray, Detail: g.String()}
}

func invalid(format string, a ...any) error {
	return &Error{Err: ErrInvalid, Detail: fmt.Sprintf(format, a...)}
}

func fromReconstruct(args py.Tuple, state any, hasState bool) (*Array, error) {
	if len(args) != 3 {
		return nil, invalid("_reconstruct takes 3 arguments, got %d", len(args))
	}
	cls, ok := args[0].(py.Global)
	if !ok {
		return nil, invalid("_reconstruct of a %s", py.TypeName(args[0]))
	}
	if cls.Name != "ndarray" || !dtypeMods[cls.Module] {
		return nil, &Error{Err: ErrUnsupported, Detail: "ndarray subclass " + cls.String()}
	}
	if !hasState {
		return nil, invalid("_reconstruct without state")
	}
	st, ok := state.(py.Tuple)
	if !ok {
		return nil, invalid("ndarray state is a %s, not a tuple", py.TypeName(state))
	}
	switch len(st) {
	case 5:
		if v, ok := st[0].(int64); !ok || (v != 1 && v != 0) {
			return nil, invalid("ndarray pickle version %v", st[0])
		}
		st = st[1:]
	case 4: // version 0
	default:
		return nil, invalid("ndarray state of %d items", len(st))
	}
	dt, err := parseDType(st[1])
	if err != nil {
		return nil, err
	}
	shape, err := parseShape(st[0])
	if err != nil {
		return nil, err
	}
	fortran, ok := truth(st[2])
	if !ok {
		return nil, invalid("is_fortran is a %s", py.TypeName(st[2]))
	}
	data, err := dataBytes(st[3])
	if err != nil {
		return nil, err
	}
	a := &Array{DType: dt, Shape: shape, Order: C, Data: data}
	if fortran {
		a.Order = Fortran
	}
	if err := a.checkSize(); err != nil {
		return nil, err
	}
	return a, nil
}

func fromFrombuffer(args py.Tuple) (*Array, error) {
	if len(args) != 4 && len(args) != 5 {
		return nil, invalid("_frombuffer takes 4 or 5 arguments, got %d", len(args))
	}
	dt, err := parseDType(args[1])
	if err != nil {
		return nil, err
	}
	var data []byte
	oob := false
	switch b := args[0].(type) {
	case py.ByteArray:
		data = b
	case py.PickleBuffer:
		data, oob = b.Data, true
	case []byte:
		data = b
	case py.OutOfBand:
		return nil, &Error{Err: ErrNoBuffer, Detail: fmt.Sprintf("buffer %d", b.Index)}
	default:
		return nil, invalid("_frombuffer of a %s", py.TypeName(args[0]))
	}
	shape, err := parseShape(args[2])
	if err != nil {
		return nil, err
	}
	order, err := str(args[3])
	if err != nil || len(order) != 1 {
		return nil, invalid("order %v", args[3])
	}
	a := &Array{DType: dt, Shape: shape, Order: Order(order[0]), Data: data, outOfBand: oob}
	var axes any
	if len(args) == 5 {
		axes = args[4]
	}
	switch {
	case a.Order == 'K' && axes != nil:
		if err := a.checkSize(); err != nil {
			return nil, err
		}
		return a.permute(axes)
	case a.Order == 'A' || a.Order == C:
		a.Order = C // reshape(order='A') of a 1-D buffer is C order
	case a.Order == Fortran:
	default:
		return nil, invalid("order %q", order)
	}
	if err := a.checkSize(); err != nil {
		return nil, err
	}
	return a, nil
}

func fromScalar(args py.Tuple) (*Array, error) {
	if len(args) != 2 {
		if len(args) == 1 {
			// numpy.core.multiarray.scalar(dtype): a zeroed scalar of an
			// object dtype; supported dtypes always carry their bytes.
			if _, err := parseDType(args[0]); err != nil {
				return nil, err
			}
		}
		return nil, invalid("scalar takes 2 arguments, got %d", len(args))
	}
	dt, err := parseDType(args[0])
	if err != nil {
		return nil, err
	}
	data, err := dataBytes(args[1])
	if err != nil {
		return nil, err
	}
	a := &Array{DType: dt, Shape: []int{}, Order: C, Data: data}
	if err := a.checkSize(); err != nil {
		return nil, err
	}
	return a, nil
}

// checkSize is Validate's size rule with numpy's message.
func (a *Array) checkSize() error {
	n, _ := elements(a.Shape)
	if n > math.MaxInt/a.DType.Size || n*a.DType.Size != len(a.Data) {
		return invalid("buffer size does not match array size: shape %s of %s needs %d bytes, data has %d",
			shapeString(a.Shape), a.DType.Name(), uint64(n)*uint64(a.DType.Size), len(a.Data))
	}
	return nil
}

// permute handles _frombuffer's order 'K': Data is C-contiguous for
// Shape, and the array is its transpose by axes. The reversed
// permutation is Fortran order as it stands; others are copied into C
// order.
func (a *Array) permute(axes any) (*Array, error) {
	p, err := parseShape(axes)
	if err != nil || len(p) != len(a.Shape) {
		return nil, invalid("axis order %v for %d dimensions", axes, len(a.Shape))
	}
	n := len(p)
	seen := make([]bool, n)
	identity, reversed := true, true
	for i, x := range p {
		if x >= n || seen[x] {
			return nil, invalid("axis order %v is not a permutation", axes)
		}
		seen[x] = true
		identity = identity && x == i
		reversed = reversed && x == n-1-i
	}
	shape := make([]int, n)
	for i, x := range p {
		shape[i] = a.Shape[x]
	}
	switch {
	case identity:
		a.Order = C
		return a, nil
	case reversed:
		a.Shape, a.Order = shape, Fortran
		return a, nil
	}
	// General permutation: gather into C order.
	size := a.DType.Size
	stride := make([]int, n) // element strides of the source, by source axis
	s := 1
	for k := n - 1; k >= 0; k-- {
		stride[k] = s
		s *= a.Shape[k]
	}
	out := make([]byte, len(a.Data))
	if len(out) > 0 {
		idx := make([]int, n)
		src := 0
		for o := 0; o < len(out); o += size {
			copy(out[o:o+size], a.Data[src*size:src*size+size])
			for i := n - 1; i >= 0; i-- { // next index of the result, C order
				idx[i]++
				src += stride[p[i]]
				if idx[i] < shape[i] {
					break
				}
				src -= idx[i] * stride[p[i]]
				idx[i] = 0
			}
		}
	}
	return &Array{DType: a.DType, Shape: shape, Order: C, Data: out}, nil
}

// parseDType reads a pickled numpy.dtype: a call of numpy.dtype with its
// type string, and the BUILD state that carries the byte order.
func parseDType(v any) (DType, error) {
	c, ok := v.(*py.Call)
	if !ok || c == nil {
		if d, ok := v.(DType); ok {
			return d, nil
		}
		return DType{}, invalid("dtype is a %s", py.TypeName(v))
	}
	g, ok := c.Callable.(py.Global)
	if !ok || g.Name != "dtype" || !dtypeMods[g.Module] {
		return DType{}, invalid("dtype is a call of %s", py.TypeName(c.Callable))
	}
	if len(c.Args) < 1 {
		return DType{}, invalid("dtype without arguments")
	}
	typestr, err := str(c.Args[0])
	if err != nil {
		return DType{}, invalid("dtype argument is a %s", py.TypeName(c.Args[0]))
	}
	if len(typestr) < 2 || len(typestr) > 16 {
		return DType{}, &Error{Err: ErrUnsupported, Detail: "dtype " + fmt.Sprintf("%q", typestr)}
	}
	order := "="
	if c.HasState {
		st, ok := c.State.(py.Tuple)
		if !ok || len(st) < 5 || len(st) > 9 {
			return DType{}, invalid("dtype state %s", py.TypeName(c.State))
		}
		// The byte order, then subarray, names and fields: all None for
		// the plain dtypes (version 0 has no version and no names;
		// version 1's six items have no names).
		endian, rest := st[1], st[2:5]
		switch len(st) {
		case 5:
			endian, rest = st[0], st[1:3]
		case 6:
			rest = st[2:4]
		}
		for _, x := range rest {
			if x != nil {
				return DType{}, &Error{Err: ErrUnsupported, Detail: "structured or subarray dtype " + fmt.Sprintf("%q", typestr)}
			}
		}
		if order, err = str(endian); err != nil || len(order) != 1 {
			return DType{}, invalid("dtype byte order %v", endian)
		}
	}
	switch order {
	case "<", ">", "=":
	case "|":
		order = "="
	default:
		return DType{}, invalid("dtype byte order %q", order)
	}
	return ParseDType(order + typestr)
}

// parseShape reads a tuple (or list) of non-negative ints.
func parseShape(v any) ([]int, error) {
	var items []any
	switch x := v.(type) {
	case py.Tuple:
		items = x
	case []any:
		items = x
	default:
		return nil, invalid("shape is a %s", py.TypeName(v))
	}
	if len(items) > MaxDims {
		return nil, invalid("%d dimensions, at most %d", len(items), MaxDims)
	}
	shape := make([]int, len(items))
	for i, it := range items {
		d, ok := it.(int64)
		if !ok || d < 0 || d > math.MaxInt {
			return nil, invalid("impossible dimension %v", it)
		}
		shape[i] = int(d)
	}
	if _, ok := elements(shape); !ok {
		return nil, invalid("shape %s is too large", shapeString(shape))
	}
	return shape, nil
}

// dataBytes reads the raw data of a state or scalar: bytes, or a str that
// numpy encodes as latin-1 (pickles from Python 2 loaded as str).
func dataBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case py.ByteString:
		return x, nil
	case py.ByteArray:
		return x, nil
	case py.PickleBuffer:
		return x.Data, nil
	case string:
		b := make([]byte, 0, len(x))
		for _, r := range x {
			if r > 0xff || r == utf8.RuneError && !utf8.ValidString(x) {
				return nil, invalid("data str is not latin-1")
			}
			b = append(b, byte(r))
		}
		return b, nil
	case []any:
		return nil, &Error{Err: ErrUnsupported, Detail: "object array (data is a list)"}
	case py.OutOfBand:
		return nil, &Error{Err: ErrNoBuffer, Detail: fmt.Sprintf("buffer %d", x.Index)}
	}
	return nil, invalid("data is a %s", py.TypeName(v))
}

func str(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case py.ByteString:
		return string(x), nil
	case []byte:
		return string(x), nil
	}
	return "", invalid("not a str: %s", py.TypeName(v))
}

func truth(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int64:
		return x != 0, true
	case *big.Int:
		return x.Sign() != 0, true
	}
	return false, false
}
