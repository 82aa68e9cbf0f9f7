package bench

import (
	"bytes"
	"io"
	"testing"

	ogorek "github.com/kisielk/og-rek"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/segments"
)

// BenchmarkEncode/segpickle-segments: encode into a segment list (what is
// sent with writev); segpickle-bytes: Marshal, one contiguous slice;
// segpickle-unsorted: Marshal with SortMapKeys(false) (Go's map order, as
// og-rek; the default sorts map keys); ogrek: og-rek's Encoder into a
// reused bytes.Buffer; go-result-floor: no encoding, only what handing
// back a fresh slice of the pickle's size costs in this heap (one
// allocation, not zeroed, and one copy, as Marshal's join does; the
// collector's share comes with it), the floor under segpickle-bytes. All
// at protocol 5, each with cpu-ns/op.
func BenchmarkEncode(b *testing.B) {
	for _, w := range Workloads() {
		size := encodedSize(b, w.Ours)
		b.Run(w.Name+"/go-result-floor", func(b *testing.B) {
			out, err := pickler.Marshal(w.Ours)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			cpu := startCPU()
			for b.Loop() {
				floorSink = append([]byte(nil), out...)
			}
			cpu.report(b)
		})
		b.Run(w.Name+"/segpickle-segments", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			var l segments.List
			cpu := startCPU()
			for b.Loop() {
				if err := pickler.EncodeTo(&l, w.Ours); err != nil {
					b.Fatal(err)
				}
				l.Reset()
			}
			cpu.report(b)
		})
		b.Run(w.Name+"/segpickle-bytes", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			cpu := startCPU()
			for b.Loop() {
				if _, err := pickler.Marshal(w.Ours); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
		b.Run(w.Name+"/segpickle-unsorted", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			cpu := startCPU()
			for b.Loop() {
				if _, err := pickler.Marshal(w.Ours, pickler.SortMapKeys(false)); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
		b.Run(w.Name+"/ogrek", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			var buf bytes.Buffer
			cfg := &ogorek.EncoderConfig{Protocol: 5}
			cpu := startCPU()
			for b.Loop() {
				buf.Reset()
				if err := ogorek.NewEncoderWithConfig(&buf, cfg).Encode(w.OgRek); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
	}
}

func encodedSize(b *testing.B, v any) int {
	out, err := pickler.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return len(out)
}

// BenchmarkEncodeToWriter includes the write: segments with writev-capable
// sinks versus og-rek, both to io.Discard.
func BenchmarkEncodeToWriter(b *testing.B) {
	for _, w := range Workloads()[:1] {
		b.Run(w.Name+"/segpickle", func(b *testing.B) {
			b.ReportAllocs()
			enc := pickler.NewEncoder(io.Discard)
			for b.Loop() {
				if err := enc.Encode(w.Ours); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
