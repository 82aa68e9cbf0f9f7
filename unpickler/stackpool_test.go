package unpickler

import (
	"bytes"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// TestPooledStackIsCleared: a decode that grew the machine's stack gives it
// back to the pool with no value left in it, so a pooled stack pins no
// decoded value (a 1 MiB bytes here), and the next decode on it gets the
// same values as on a fresh one.
func TestPooledStackIsCleared(t *testing.T) {
	items := make([]any, 5000)
	for i := range items {
		items[i] = int64(i * 31)
	}
	items[4321] = bytes.Repeat([]byte("x"), 1<<20)
	data, err := pickler.Marshal(py.Tuple(items))
	if err != nil {
		t.Fatal(err)
	}
	// DUP after DUP: a value pushed per byte, the most the stack holds
	// for its input (the bound releaseStack clears to).
	dups := append([]byte("\x80\x04(K\x07"), bytes.Repeat([]byte("2"), 3000)...)
	dups = append(dups, "t."...)
	for _, in := range [][]byte{data, dups} {
		got := 0
		for try := 0; try < 50 && got < 3; try++ { // the race detector drops pooled items at random
			v, err := Load(in)
			if err != nil {
				t.Fatal(err)
			}
			if tu, ok := v.(py.Tuple); !ok || len(tu) < 3000 {
				t.Fatalf("decoded %T of %d", v, len(tu))
			}
			p, ok := stackPool.Get().(*[]any)
			if !ok {
				continue
			}
			got++
			st := *p
			if cap(st) < minPooledStack {
				t.Fatalf("a stack of %d was pooled", cap(st))
			}
			for i, x := range st[:cap(st)] {
				if x != nil {
					t.Fatalf("pooled stack holds %T at %d of %d", x, i, cap(st))
				}
			}
			stackPool.Put(p)
		}
		if got == 0 {
			t.Fatal("no stack was pooled")
		}
	}
}
