package numpy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// Kind is the kind of an element: numpy's dtype.kind.
type Kind byte

// The kinds the package supports.
const (
	Bool    Kind = 'b'
	Int     Kind = 'i'
	Uint    Kind = 'u'
	Float   Kind = 'f'
	Complex Kind = 'c'
)

// DType is a numpy data type of a supported kind: the kind, the size of an
// element in bytes, and the byte order. Size-1 types have no byte order
// (numpy writes '|'); BigEndian is false for them.
type DType struct {
	Kind      Kind
	Size      int
	BigEndian bool
}

// NativeBigEndian reports whether this machine stores numbers big-endian.
var NativeBigEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 0
}()

// supported lists the (kind, size) pairs the package reads and writes.
func (d DType) supported() bool {
	switch d.Kind {
	case Bool:
		return d.Size == 1
	case Int, Uint:
		return d.Size == 1 || d.Size == 2 || d.Size == 4 || d.Size == 8
	case Float:
		return d.Size == 2 || d.Size == 4 || d.Size == 8
	case Complex:
		return d.Size == 8 || d.Size == 16
	}
	return false
}

// Native reports whether elements are stored in this machine's byte order
// (always true for size-1 types).
func (d DType) Native() bool { return d.Size == 1 || d.BigEndian == NativeBigEndian }

// order returns numpy's byte-order character: '|', '<' or '>'.
func (d DType) order() byte {
	switch {
	case d.Size == 1:
		return '|'
	case d.BigEndian:
		return '>'
	}
	return '<'
}

// String returns numpy's dtype.str: "<f8", ">i4", "|b1".
func (d DType) String() string {
	return string(d.order()) + string(d.Kind) + strconv.Itoa(d.Size)
}

// Name returns numpy's name of the type: "float64", "bool", "complex128".
func (d DType) Name() string {
	switch d.Kind {
	case Bool:
		return "bool"
	case Int:
		return "int" + strconv.Itoa(8*d.Size)
	case Uint:
		return "uint" + strconv.Itoa(8*d.Size)
	case Float:
		return "float" + strconv.Itoa(8*d.Size)
	case Complex:
		return "complex" + strconv.Itoa(8*d.Size)
	}
	return fmt.Sprintf("%c%d", d.Kind, d.Size)
}

// ParseDType parses a dtype string of the form numpy's dtype.str uses
// ("<f8", ">i2", "|u1"; "=f8" or "f8" mean this machine's order).
func ParseDType(s string) (DType, error) {
	order := byte('=')
	if s != "" && strings.IndexByte("<>|=", s[0]) >= 0 {
		order, s = s[0], s[1:]
	}
	if len(s) < 2 {
		return DType{}, &Error{Err: ErrUnsupported, Detail: "dtype " + strconv.Quote(s)}
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n <= 0 || n > 64 {
		return DType{}, &Error{Err: ErrUnsupported, Detail: "dtype " + strconv.Quote(s)}
	}
	d := DType{Kind: Kind(s[0]), Size: n}
	if !d.supported() {
		return DType{}, &Error{Err: ErrUnsupported, Detail: "dtype " + describeTypestr(s)}
	}
	switch order {
	case '>':
		d.BigEndian = d.Size > 1
	case '<', '|':
	case '=':
		d.BigEndian = d.Size > 1 && NativeBigEndian
	}
	return d, nil
}

// describeTypestr names a numpy type string the package does not support.
func describeTypestr(s string) string {
	name := map[byte]string{'O': "object", 'V': "void (structured or opaque)", 'M': "datetime64",
		'm': "timedelta64", 'U': "str (unicode)", 'S': "bytes", 'a': "bytes", 'f': "float", 'c': "complex",
		'i': "int", 'u': "uint", 'b': "bool"}[s[0]]
	if name == "" {
		return strconv.Quote(s)
	}
	return name + " (" + strconv.Quote(s) + ")"
}

// Order is the memory order of an array's Data.
type Order byte

const (
	// C is row-major order: the last index varies fastest.
	C Order = 'C'
	// Fortran is column-major order: the first index varies fastest.
	Fortran Order = 'F'
)

// Array is a numpy.ndarray of a supported dtype: its type, its shape, the
// order its elements are stored in, and the elements themselves.
//
// Data holds the elements in Order (row-major for C, column-major for
// Fortran), each in DType's byte order, back to back: numpy makes every
// array contiguous when it pickles it, so there are no strides. A 0-d array
// has an empty Shape and one element; an array with a zero in its Shape
// has no elements.
//
// A decoded Array's Data may alias memory the caller supplied: an
// out-of-band buffer given with unpickler.Buffers, or the input itself with
// unpickler.ZeroCopy(true). Writing through View then writes into that
// memory, as numpy does with the buffers it is given.
type Array struct {
	DType DType
	Shape []int
	Order Order
	Data  []byte

	outOfBand bool // Data is an out-of-band buffer the caller supplied
}

// MaxDims is the largest number of dimensions accepted (numpy 2's limit).
const MaxDims = 64

// Len returns the number of elements: the product of Shape (1 for a 0-d
// array).
func (a *Array) Len() int {
	if a == nil {
		return 0
	}
	n, _ := elements(a.Shape)
	return n
}

// elements returns the product of shape and false if a dimension is
// negative or the product of the non-zero dimensions overflows (numpy
// refuses both).
func elements(shape []int) (int, bool) {
	n, nz := 1, 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			n = 0
			continue
		}
		if nz > math.MaxInt/d {
			return 0, false
		}
		nz *= d
		n *= d
	}
	return n, true
}

// Validate reports whether the array is consistent: a supported dtype, a
// shape of at most MaxDims non-negative dimensions whose product times the
// element size is len(Data), and an order of C or Fortran.
func (a *Array) Validate() error {
	if a == nil {
		return &Error{Err: ErrInvalid, Detail: "nil array"}
	}
	if !a.DType.supported() {
		return &Error{Err: ErrUnsupported, Detail: fmt.Sprintf("dtype %c%d", a.DType.Kind, a.DType.Size)}
	}
	if a.Order != C && a.Order != Fortran {
		return &Error{Err: ErrInvalid, Detail: fmt.Sprintf("order %q (want 'C' or 'F')", rune(a.Order))}
	}
	if len(a.Shape) > MaxDims {
		return &Error{Err: ErrInvalid, Detail: fmt.Sprintf("%d dimensions, at most %d", len(a.Shape), MaxDims)}
	}
	n, ok := elements(a.Shape)
	if !ok || n > math.MaxInt/a.DType.Size {
		return &Error{Err: ErrInvalid, Detail: "shape " + shapeString(a.Shape) + " is negative or too large"}
	}
	if n*a.DType.Size != len(a.Data) {
		return &Error{Err: ErrInvalid, Detail: fmt.Sprintf("shape %s of %s needs %d bytes, data has %d",
			shapeString(a.Shape), a.DType.Name(), n*a.DType.Size, len(a.Data))}
	}
	return nil
}

// cContiguous reports whether Data read in C order and in Fortran order
// are the same: at most one dimension longer than 1, or no elements. numpy
// then calls the array C-contiguous and pickles it as such.
func cContiguous(shape []int) bool {
	long := 0
	for _, d := range shape {
		if d == 0 {
			return true
		}
		if d > 1 {
			long++
		}
	}
	return long <= 1
}

func shapeString(shape []int) string {
	var sb strings.Builder
	sb.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		sb.WriteByte(',')
	}
	sb.WriteByte(')')
	return sb.String()
}

// String describes the array: "numpy.ndarray <f8 (2, 3) C".
func (a *Array) String() string {
	if a == nil {
		return "numpy.ndarray <nil>"
	}
	return fmt.Sprintf("numpy.ndarray %s %s %c", a.DType, shapeString(a.Shape), rune(a.Order))
}

// Errors of the package; match them with errors.Is.
var (
	// ErrUnsupported: a valid numpy pickle of something the package does
	// not represent (object arrays, structured and string dtypes,
	// datetime64, longdouble, subclasses of ndarray).
	ErrUnsupported = errors.New("unsupported")
	// ErrNotArray: the value is not a pickled numpy array, scalar or dtype.
	ErrNotArray = errors.New("not a numpy array")
	// ErrInvalid: the pickle names numpy but its arguments or state are
	// malformed (numpy itself would refuse them), or an Array's fields
	// disagree.
	ErrInvalid = errors.New("invalid array")
	// ErrNoBuffer: an out-of-band buffer was not supplied
	// (unpickler.Buffers).
	ErrNoBuffer = errors.New("out-of-band buffer not supplied (use unpickler.Buffers)")
	// ErrType: the Go element type does not match the array's dtype.
	ErrType = errors.New("element type does not match")
	// ErrByteOrder: the data is not in this machine's byte order.
	ErrByteOrder = errors.New("byte order is not native")
	// ErrMisaligned: the data does not start at a multiple of the element
	// type's alignment (in-band data sits wherever the pickle put it).
	ErrMisaligned = errors.New("data is not aligned")
)

// Error is every error of the package: a cause (one of the Err variables)
// and what was found.
type Error struct {
	Err    error
	Detail string
}

// Error returns "numpy: " + the cause + ": " + the detail.
func (e *Error) Error() string {
	if e.Detail == "" {
		return "numpy: " + e.Err.Error()
	}
	return "numpy: " + e.Err.Error() + ": " + e.Detail
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
