package bench

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports CPU time per op (user + system, the whole process: GC
// included) next to ns/op: on a machine shared with other work, wall time
// measures the sharing as much as the code, and CPU time much less so.
// cpython_bench.py reports the same metric with time.process_time.
type cpuTimer struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuTimer { return cpuTimer{start: processCPU()} }

func (c cpuTimer) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-c.start)/float64(b.N), "cpu-ns/op")
	}
}
