package unpickler_test

import (
	"errors"
	"fmt"

	"github.com/segpickle/segpickle/unpickler"
)

// The rules of the package doc, on one pickle made by CPython:
// pickle.dumps({"name": "ada", "AGE": 36, "ids": {3, 4}, "pos": (1.5, 2.5), "extra": None}, 2).
func ExampleUnmarshal_rules() {
	data := []byte("\x80\x02}q\x00(X\x04\x00\x00\x00nameq\x01X\x03\x00\x00\x00adaq\x02X\x03\x00\x00\x00AGEq\x03K$X\x03\x00\x00\x00idsq\x04c__builtin__\x0aset\x0aq\x05]q\x06(K\x03K\x04e\x85q\x07Rq\x08X\x03\x00\x00\x00posq\x09G?\xf8\x00\x00\x00\x00\x00\x00G@\x04\x00\x00\x00\x00\x00\x00\x86q\x0aX\x05\x00\x00\x00extraq\x0bNu.")
	type Point struct{ X, Y float64 }
	var p struct {
		Name  string           `pickle:"name"` // by tag
		Age   uint8            // "AGE": case-insensitively
		IDs   map[int]struct{} `pickle:"ids"` // a set
		Pos   Point            `pickle:"pos"` // a tuple fills fields in order
		Extra *string          `pickle:"extra"`
	}
	if err := unpickler.Unmarshal(data, &p); err != nil {
		panic(err)
	}
	fmt.Printf("%s %d %d ids %+v %v\n", p.Name, p.Age, len(p.IDs), p.Pos, p.Extra)

	// pickle.dumps({"small": 300}, 2) into an int8: the error names the value.
	var small struct{ Small int8 }
	err := unpickler.Unmarshal([]byte("\x80\x02}q\x00X\x05\x00\x00\x00smallq\x01M,\x01s."), &small)
	var te *unpickler.UnmarshalTypeError
	fmt.Println(errors.As(err, &te), err)
	// Output:
	// ada 36 2 ids {X:1.5 Y:2.5} <nil>
	// true unpickler: cannot unmarshal Python int 300 into Go int8 at .Small
}
