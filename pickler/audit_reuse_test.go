package pickler_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

// reuseValue is one of a few shapes that the encoder caches state for
// across encodes (record key orders, their memo indexes, the key cache,
// sort buffers): records of one shape, of one size with other keys, large
// maps, shared strs and keys that are also values.
func reuseValue(r *rand.Rand) any {
	keys := []string{"id", "name", "tags", "score", "ok", "parent", "pos", "when"}
	rec := func() map[string]any {
		m := map[string]any{}
		n := 1 + r.IntN(len(keys))
		for _, k := range keys[:n] {
			m[k] = []any{int64(r.IntN(1000)), "v" + fmt.Sprint(r.IntN(5)), k, py.Tuple{1.5, int64(2)}, nil, true}[r.IntN(6)]
		}
		if r.IntN(4) == 0 { // same size, another key
			delete(m, keys[0])
			m["other"+fmt.Sprint(r.IntN(3))] = int64(1)
		}
		return m
	}
	switch r.IntN(6) {
	case 0:
		return rec()
	case 1:
		l := make([]any, 1+r.IntN(50))
		for i := range l {
			l[i] = rec()
		}
		return l
	case 2:
		m := map[string]any{}
		for i := 0; i < 40+r.IntN(300); i++ {
			m[fmt.Sprint("k", r.IntN(1000))] = float64(i)
		}
		return m
	case 3:
		m := map[string]float64{}
		for i := 0; i < 1+r.IntN(300); i++ {
			m[fmt.Sprint("key", r.IntN(500))] = float64(i)
		}
		return m
	case 4:
		s := fmt.Sprint(r.IntN(10)) + string(make([]byte, 70))
		return []any{s, s, map[string]any{s: s}, []string{s, "name"}}
	}
	return []any{keys[r.IntN(len(keys))], rec(), map[string]any{"id": keys}}
}

// TestEncoderReuseMatchesMarshal: a value written by Marshal, by an
// Encoder that wrote others before it, by EncodeTo into a reused list, or
// while other goroutines encode, gives the bytes of save's general path:
// no state the encoder keeps across encodes (pooled encoders, record key
// orders and their memo indexes, the key cache) changes a pickle.
func TestEncoderReuseMatchesMarshal(t *testing.T) {
	for _, p := range []int{0, 2, 4, 5} {
		r := rand.New(rand.NewPCG(uint64(p), 99))
		vals := make([]any, 300)
		want := make([][]byte, len(vals))
		for i := range vals {
			vals[i] = reuseValue(r)
		}
		// The reference: each value through save's general path (a
		// PersistentID hook that declines every value turns the fast
		// paths and their caches off).
		decline := pickler.PersistentID(func(any) (any, bool) { return nil, false })
		for i, v := range vals {
			b, err := pickler.Marshal(v, pickler.Protocol(p), decline)
			if err != nil {
				t.Fatal(err)
			}
			want[i] = b
		}
		var buf bytes.Buffer
		enc := pickler.NewEncoder(&buf, pickler.Protocol(p))
		var l segments.List
		var wg sync.WaitGroup
		for g := 0; g < 3; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := len(vals) - 1; i >= 0; i -= g + 1 {
					if b, err := pickler.Marshal(vals[i], pickler.Protocol(p)); err != nil || !bytes.Equal(b, want[i]) {
						t.Errorf("protocol %d value %d: Marshal in goroutine %d differs", p, i, g)
						return
					}
				}
			}(g)
		}
		for i, v := range vals {
			buf.Reset()
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want[i]) {
				t.Fatalf("protocol %d value %d: the Encoder's bytes differ from Marshal's", p, i)
			}
			l.Reset()
			if err := pickler.EncodeTo(&l, v, pickler.Protocol(p)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(l.Bytes(), want[i]) {
				t.Fatalf("protocol %d value %d: EncodeTo's bytes differ from Marshal's", p, i)
			}
		}
		wg.Wait()
	}
}
