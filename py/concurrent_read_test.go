package py_test

import (
	"sync"
	"testing"

	"github.com/segpickle/segpickle/py"
)

// Reading one collection from several goroutines at once is safe: lookups
// write nothing, whatever the key (a long tuple's key was once cached in
// the index by the lookup that computed it, a data race that -race sees
// here).
func TestConcurrentReadsOfTupleKeys(t *testing.T) {
	long := func(i int) py.Tuple {
		tu := make(py.Tuple, 20)
		for j := range tu {
			tu[j] = int64(i*100 + j)
		}
		return tu
	}
	d := py.NewDict(0)
	s := py.NewSet()
	keys := make([]py.Tuple, 64)
	for i := range keys {
		keys[i] = long(i)
		d.Set(keys[i], int64(i))
		s.Add(keys[i])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				for i, k := range keys {
					probe := k // by identity, then an equal copy
					if r%2 == 1 {
						probe = long(i)
					}
					if v, ok := d.Get(probe); !ok || v != int64(i) {
						errs <- "dict lookup of an existing tuple key failed"
						return
					}
					if !s.Has(probe) {
						errs <- "set lookup of an existing tuple failed"
						return
					}
				}
				if _, ok := d.Get(long(1000 + r)); ok {
					errs <- "a missing tuple key was found"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
