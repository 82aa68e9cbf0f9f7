package py_test

import (
	"fmt"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// A Dict keeps insertion order and takes any hashable key; 1, 1.0 and
// True are one key, as in Python. It prints as Python's repr.
func ExampleDict() {
	d := py.DictOf("b", 2, "a", 1)
	d.Set(py.Tuple{int64(1), "x"}, "tuple key")
	d.Set(1.0, "one")
	d.Set(true, "True is 1") // replaces the value of 1.0, keeps its key
	v, ok := d.Get(int64(1))
	fmt.Println(d.Len(), v, ok)
	fmt.Println(d)
	// Output:
	// 4 True is 1 true
	// {'b': 2, 'a': 1, (1, 'x'): 'tuple key', 1.0: 'True is 1'}
}

// Values decoded into any print as Python would print them.
func ExampleRepr() {
	data, _ := pickler.Marshal(map[string]any{
		"tags": py.NewFrozenSet("x"),
		"raw":  []byte("\x00ab"),
		"pos":  py.Tuple{1.5, nil},
	}, pickler.SortMapKeys(true))
	v, _ := unpickler.Load(data)
	fmt.Println(py.Repr(v))
	fmt.Printf("%v\n", v) // the same, through Dict's String
	// Output:
	// {'pos': (1.5, None), 'raw': b'\x00ab', 'tags': frozenset({'x'})}
	// {'pos': (1.5, None), 'raw': b'\x00ab', 'tags': frozenset({'x'})}
}

// Classes and calls are data: a Global names one, a Call applies it.
func ExampleCall() {
	od := &py.Call{
		Callable:  py.Global{Module: "collections", Name: "OrderedDict"},
		DictItems: []py.Item{{Key: "a", Value: int64(1)}},
	}
	data, _ := pickler.Marshal(od, pickler.Protocol(2))
	v, _ := unpickler.Load(data)
	fmt.Println(v)
	// Output: <call collections.OrderedDict() dictitems={'a': 1}>
}
