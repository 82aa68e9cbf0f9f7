package unpickler_test

import (
	"errors"
	"fmt"

	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// A pickle made by CPython: pickle.dumps({"name": "ada", "langs": ["py", "go"], "pos": (1, 2)}, 2).
var adaPickle = []byte("\x80\x02}q\x00(X\x04\x00\x00\x00nameq\x01X\x03\x00\x00\x00adaq\x02X\x05\x00\x00\x00langsq\x03]q\x04(X\x02\x00\x00\x00pyq\x05X\x02\x00\x00\x00goq\x06eX\x03\x00\x00\x00posq\x07K\x01K\x02\x86q\x08u.")

func ExampleUnmarshal() {
	var p struct {
		Name  string   `pickle:"name"`
		Langs []string `pickle:"langs"`
		Pos   [2]int   `pickle:"pos"`
	}
	if err := unpickler.Unmarshal(adaPickle, &p); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", p)
	// Output: {Name:ada Langs:[py go] Pos:[1 2]}
}

func ExampleLoad() {
	v, err := unpickler.Load(adaPickle)
	if err != nil {
		panic(err)
	}
	d := v.(*py.Dict)
	pos, _ := d.Get("pos")
	fmt.Printf("%d keys; pos is a %T %v\n", d.Len(), pos, pos)
	// Output: 3 keys; pos is a py.Tuple (1, 2)
}

func ExampleError() {
	_, err := unpickler.Load([]byte("\x80\x05\x8e\x00\x00\x00\x00\x00\x00\x00\x40"))
	var ue *unpickler.Error
	fmt.Println(errors.As(err, &ue), errors.Is(err, unpickler.ErrLimit), ue.Offset)
	fmt.Println(err)
	// Output:
	// true true 2
	// unpickler: offset 2, opcode BINBYTES8: limit exceeded: length 4611686018427387904 over MaxLength 4294967296
}
