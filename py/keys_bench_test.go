package py

import (
	"syscall"
	"testing"
	"time"
)

// cpuNow is the process's CPU time (user + system, GC included): on a
// shared machine it measures the code more than wall time does.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
}

// frozenInts is the items of frozenset(range(0, 65000*31, 31)), boxed as
// the decoder boxes them.
func frozenInts() []any {
	items := make([]any, 65000)
	for i := range items {
		items[i] = int64(i * 31)
	}
	return items
}

// BenchmarkSetAddInts builds the set of BenchmarkHostileKeys's frozenset
// key, as the decoder does: sized once, then item by item.
func BenchmarkSetAddInts(b *testing.B) {
	items := frozenInts()
	b.ReportAllocs()
	defer reportCPU(b, cpuNow())
	for b.Loop() {
		f := NewFrozenSet()
		f.Grow(len(items))
		for _, it := range items {
			f.Add(it)
		}
	}
}

// BenchmarkFrozenSetKey is the Key of that frozenset.
func BenchmarkFrozenSetKey(b *testing.B) {
	f := NewFrozenSet(frozenInts()...)
	b.ReportAllocs()
	defer reportCPU(b, cpuNow())
	for b.Loop() {
		if _, ok := Key(f); !ok {
			b.Fatal("unhashable")
		}
	}
}
