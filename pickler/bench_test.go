package pickler_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

// The four workloads (bench/ compares them with CPython and
// og-rek); here for profiling the pickler alone.
func benchWorkloads() map[string]any {
	ints := make([]any, 100000)
	for i := range ints {
		ints[i] = int64(i)
	}
	fl := make(map[string]any, 10000)
	tfl := make(map[string]float64, 10000) // the same, typed
	for i := 0; i < 10000; i++ {
		fl[fmt.Sprintf("key%d", i)] = float64(i) / 3
		tfl[fmt.Sprintf("key%d", i)] = float64(i) / 3
	}
	msgs := make([]any, 10000)
	for i := range msgs {
		msgs[i] = map[string]any{"id": int64(i), "name": fmt.Sprintf("user%d", i), "tags": []any{"red", "blue"},
			"score": float64(i) / 7, "ok": i%2 == 0, "parent": nil, "pos": py.Tuple{int64(i), int64(-i)}}
	}
	strs := make([]any, 100000)
	for i := range strs {
		strs[i] = fmt.Sprintf("s%d", i)
	}
	return map[string]any{"ints_100k": ints, "dict_str_float_10k": fl, "typed_str_float_10k": tfl, "messages_10k": msgs, "strings_100k": strs}
}

func BenchmarkMarshal(b *testing.B) {
	for name, v := range benchWorkloads() {
		for _, sorted := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/sorted=%v", name, sorted), func(b *testing.B) {
				b.ReportAllocs()
				var l segments.List
				cpu0 := processCPU()
				for b.Loop() {
					if err := pickler.EncodeTo(&l, v, pickler.SortMapKeys(sorted)); err != nil {
						b.Fatal(err)
					}
					l.Reset()
				}
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU is the process's CPU time (user + system): on a shared
// machine, a steadier measure than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
