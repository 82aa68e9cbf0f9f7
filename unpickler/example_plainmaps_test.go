package unpickler_test

import (
	"fmt"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// PlainMaps decodes dicts into Go maps, as encoding/json does for an any.
func ExamplePlainMaps() {
	// pickle.dumps({"name": "ada", "tags": [{"k": 1}], "ids": {7: "x"}})
	data, _ := pickler.Marshal(py.DictOf("name", "ada", "tags", []any{py.DictOf("k", 1)}, "ids", py.DictOf(7, "x")))
	v, err := unpickler.Load(data, unpickler.PlainMaps(true))
	if err != nil {
		panic(err)
	}
	m := v.(map[string]any)
	fmt.Printf("%T %v\n", m["tags"].([]any)[0], m["tags"])
	fmt.Printf("%T %v\n", m["ids"], m["ids"])
	// Output:
	// map[string]interface {} [map[k:1]]
	// map[interface {}]interface {} map[7:x]
}
