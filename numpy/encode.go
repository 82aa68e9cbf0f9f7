package numpy

import (
	"strconv"
	"sync"
	"unsafe"

	"github.com/segpickle/segpickle/py"
)

// New returns an array over data, shaped by shape (one dimension of
// len(data) when shape is omitted; New(data, []int{}...) makes a 0-d
// array of data's one element), in C order and this machine's byte order.
// The array shares data's memory: nothing is copied, and a pickle of the
// array sends data itself. Validate (and Marshal) report a shape that does
// not fit len(data).
func New[T Element](data []T, shape ...int) *Array {
	d := DTypeOf[T]()
	if shape == nil {
		shape = []int{len(data)}
	}
	var b []byte
	if len(data) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), len(data)*d.Size)
	}
	return &Array{DType: d, Shape: append([]int{}, shape...), Order: C, Data: b}
}

// The globals the pickles name. numpy.core loads in numpy 1.x and 2.x
// alike: numpy 2 keeps numpy.core.multiarray._reconstruct (and scalar)
// for old pickles without a warning, and reaches numpy.core.numeric's
// names through a shim that issues a DeprecationWarning (not shown by
// default). numpy._core would not load in numpy 1.x at all.
var (
	reconstructGlobal = py.Global{Module: "numpy.core.multiarray", Name: "_reconstruct"}
	frombufferGlobal  = py.Global{Module: "numpy.core.numeric", Name: "_frombuffer"}
	ndarrayGlobal     = py.Global{Module: "numpy", Name: "ndarray"}
	dtypeGlobal       = py.Global{Module: "numpy", Name: "dtype"}
)

// MarshalPickle returns what the array pickles as at protocols 0–4 (and
// at 5 for a pickler that does not ask for the protocol): numpy's
// _reconstruct form, with the data as bytes. It implements
// pickler.Marshaler.
func (a Array) MarshalPickle() (any, error) { return a.MarshalPickleProtocol(4) }

// MarshalPickleProtocol returns what the array pickles as at the given
// protocol, as numpy's __reduce_ex__ does: at protocols 0–4
// numpy.core.multiarray._reconstruct with the state (1, shape, dtype,
// is_fortran, data bytes); at protocol 5
// numpy.core.numeric._frombuffer(PickleBuffer(data), dtype, shape, order),
// so that a pickler's BufferCallback can send Data out of band, and
// in band it is a bytearray. Either way numpy loads a writable array equal
// to a, and the pickle is byte for byte what numpy writes for it.
//
// The returned value shares Data and a dtype value cached for all arrays
// (as numpy's dtypes are shared objects): do not modify it.
func (a Array) MarshalPickleProtocol(protocol int) (any, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	shape := make(py.Tuple, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	fortran := a.Order == Fortran && !cContiguous(a.Shape)
	dt := dtypeCall(a.DType)
	if protocol >= 5 {
		order := "C"
		if fortran {
			order = "F"
		}
		return &py.Call{Callable: frombufferGlobal,
			Args: py.Tuple{py.PickleBuffer{Data: a.Data}, dt, shape, order}}, nil
	}
	data := a.Data
	if data == nil {
		data = []byte{}
	}
	return &py.Call{Callable: reconstructGlobal,
		Args:     py.Tuple{ndarrayGlobal, py.Tuple{int64(0)}, []byte("b")},
		State:    py.Tuple{int64(1), shape, dt, fortran, data},
		HasState: true}, nil
}

var dtypeCalls sync.Map // DType → *py.Call

// dtypeCall returns the pickled form of d, one shared value per dtype so
// that a pickle of many arrays writes each dtype once and refers to it
// after, as numpy's pickles do.
func dtypeCall(d DType) *py.Call {
	if c, ok := dtypeCalls.Load(d); ok {
		return c.(*py.Call)
	}
	c := &py.Call{Callable: dtypeGlobal,
		Args:     py.Tuple{string(d.Kind) + strconv.Itoa(d.Size), false, true},
		State:    py.Tuple{int64(3), string(d.order()), nil, nil, nil, int64(-1), int64(-1), int64(0)},
		HasState: true}
	v, _ := dtypeCalls.LoadOrStore(d, c)
	return v.(*py.Call)
}
