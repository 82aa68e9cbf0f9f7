package unpickler_test

import (
	"errors"
	"testing"

	"github.com/segpickle/segpickle/unpickler"
)

// The memo's chunks are pooled from one decode to the next (memoPool):
// they come back cleared, so a decode never reads another's entries. A
// pickle of 1,100 memoized ints fills the memo's second chunk; the next
// pickle puts entry 1050 and reads 1051, which it never put.
func TestMemoChunksComeBackCleared(t *testing.T) {
	a := []byte("\x80\x04(")
	for range 1100 {
		a = append(a, "K\x07\x94"...)
	}
	a = append(a, "l."...)
	b := []byte("\x80\x04Nr\x1a\x04\x00\x000j\x1b\x04\x00\x00.")
	for range 20 { // the pool may drop what it was given: try a few times
		v, err := unpickler.Load(a)
		if err != nil || len(v.([]any)) != 1100 {
			t.Fatalf("%v, %v", err, v)
		}
		got, err := unpickler.Load(b)
		if !errors.Is(err, unpickler.ErrMissingMemo) {
			t.Fatalf("memo entry 1051 read back as %#v (%v), want ErrMissingMemo", got, err)
		}
	}
}
