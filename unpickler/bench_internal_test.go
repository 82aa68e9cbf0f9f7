package unpickler

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

type benchMsg struct {
	ID     int64    `pickle:"id"`
	Name   string   `pickle:"name"`
	Tags   []string `pickle:"tags"`
	Score  float64  `pickle:"score"`
	OK     bool     `pickle:"ok"`
	Parent *int64   `pickle:"parent"`
	Pos    [2]int64 `pickle:"pos"`
}

func benchInputs(b *testing.B) map[string][]byte {
	ints := make([]int64, 100000)
	strs := make([]string, 100000)
	for i := range ints {
		ints[i] = int64(i)
		strs[i] = fmt.Sprintf("s%d", i)
	}
	d := py.NewDict(10000)
	for i := 0; i < 10000; i++ {
		d.Set(fmt.Sprintf("key%d", i), float64(i)/3)
	}
	msgs := make([]any, 10000)
	for i := range msgs {
		msgs[i] = py.DictOf("id", int64(i), "name", fmt.Sprintf("user%d", i), "tags", []any{"red", "blue"},
			"score", float64(i)/7, "ok", i%2 == 0, "parent", nil, "pos", py.Tuple{int64(i), int64(-i)})
	}
	out := map[string][]byte{}
	for k, v := range map[string]any{"ints": ints, "strs": strs, "dict": d, "msgs": msgs} {
		p, err := pickler.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		out[k] = p
	}
	return out
}

func BenchmarkTypedInternal(b *testing.B) {
	in := benchInputs(b)
	b.Run("ints", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v []int64
			if err := Unmarshal(in["ints"], &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v []string
			if err := Unmarshal(in["strs"], &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v map[string]float64
			if err := Unmarshal(in["dict"], &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("msgs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v []benchMsg
			if err := Unmarshal(in["msgs"], &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, k := range []string{"ints", "strs", "dict", "msgs"} {
		b.Run("any-"+k, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load(in[k]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCPUTime prints CPU time per op (user+system, all threads) for the
// workloads: a load-independent figure on a shared machine. Run with
// SEGPICKLE_CPUTIME=1.
func TestCPUTime(t *testing.T) {
	if os.Getenv("SEGPICKLE_CPUTIME") == "" {
		t.Skip("set SEGPICKLE_CPUTIME=1 to measure")
	}
	b := &testing.B{}
	in := benchInputs(b)
	run := func(name string, f func() error) {
		var r0, r1 syscall.Rusage
		n := 0
		syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
		start := time.Now()
		for time.Since(start) < 2*time.Second {
			if err := f(); err != nil {
				t.Fatal(err)
			}
			n++
		}
		syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
		cpu := time.Duration(r1.Utime.Nano()+r1.Stime.Nano()-r0.Utime.Nano()-r0.Stime.Nano()) / time.Duration(n)
		t.Logf("%-12s %8.3f ms cpu/op", name, float64(cpu)/1e6)
	}
	run("ints", func() error { var v []int64; return Unmarshal(in["ints"], &v) })
	run("strs", func() error { var v []string; return Unmarshal(in["strs"], &v) })
	run("dict", func() error { var v map[string]float64; return Unmarshal(in["dict"], &v) })
	run("msgs", func() error { var v []benchMsg; return Unmarshal(in["msgs"], &v) })
	for _, k := range []string{"ints", "strs", "dict", "msgs"} {
		run("any-"+k, func() error { _, err := Load(in[k]); return err })
	}
}
