// Package bench compares segpickle with the Go peers (og-rek, gopickle) and
// CPython on five workloads (the rows of the README's benchmark tables). It
// is a module of its own so that the peers are benchmark-only dependencies.
package bench

import (
	"fmt"

	ogorek "github.com/kisielk/og-rek"

	"github.com/segpickle/segpickle/py"
)

// Workload is one benchmark input in the forms each library takes.
type Workload struct {
	Name  string
	Ours  any // what segpickle encodes
	OgRek any // the same value in og-rek's types
}

// Workloads returns the five workloads, in the README's order: (a) a 1 MiB
// []byte, (b) 100,000 ints, (c) a dict of 10,000 str→float, (d) 10,000
// message dicts, (e) 100,000 short strings.
func Workloads() []Workload {
	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = 'x'
	}
	ints := make([]any, 100000)
	for i := range ints {
		ints[i] = int64(i)
	}
	fl := make(map[string]any, 10000)
	for i := 0; i < 10000; i++ {
		fl[fmt.Sprintf("key%d", i)] = float64(i) / 3
	}
	msgs := make([]any, 10000)
	ogMsgs := make([]any, 10000)
	for i := range msgs {
		m := map[string]any{"id": int64(i), "name": fmt.Sprintf("user%d", i), "tags": []any{"red", "blue"},
			"score": float64(i) / 7, "ok": i%2 == 0, "parent": nil}
		om := map[any]any{}
		for k, v := range m {
			om[k] = v
		}
		m["pos"] = py.Tuple{int64(i), int64(-i)}
		om["pos"] = ogorek.Tuple{int64(i), int64(-i)}
		msgs[i], ogMsgs[i] = m, om
	}
	strs := make([]any, 100000)
	for i := range strs {
		strs[i] = fmt.Sprintf("s%d", i)
	}
	ogFl := map[any]any{}
	for k, v := range fl {
		ogFl[k] = v
	}
	return []Workload{
		{"bytes_1MiB", payload, ogorek.Bytes(payload)},
		{"ints_100k", ints, ints},
		{"dict_str_float_10k", fl, ogFl},
		{"messages_10k", msgs, ogMsgs},
		{"strings_100k", strs, strs},
	}
}
