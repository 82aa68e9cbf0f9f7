package unpickler_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// allocated returns the bytes the Go heap handed out while f ran (the
// process's TotalAlloc grows by it; nothing else runs in parallel in this
// package's tests).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The README's memory claims for hostile input, measured: a forged length
// prefix allocates nothing it names ("checked against what the input can
// still provide before anything is allocated"), and a sparse memo index is
// one entry, not a table. Each bound is 64 KiB, where a broken check would
// allocate from 2 GiB (LONG4) to 2^62 bytes (or die trying).
func TestHostileAllocations(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"BINBYTES8 claims 2^62", cat([]byte{0x80, 5, 0x8e}, le8(1<<62))},
		{"BINBYTES8 claims 2^40", cat([]byte{0x80, 5, 0x8e}, le8(1<<40), []byte("abc"))},
		{"BINBYTES8 claims 4 GiB - 1", cat([]byte{0x80, 5, 0x8e}, le8(1<<32-1), []byte("abc"))},
		{"BINUNICODE8 claims 2^62", cat([]byte{0x8d}, le8(1<<62))},
		{"BYTEARRAY8 claims 2^32", cat([]byte{0x96}, le8(1<<32), []byte("x"))},
		{"BINUNICODE claims 2^32-1", cat([]byte{'X'}, le4(1<<32-1), []byte("x"))},
		{"BINBYTES claims 2^32-1", cat([]byte{'B'}, le4(1<<32-1), []byte("x"))},
		{"BINSTRING claims 2^31-1", cat([]byte{'T'}, le4(1<<31-1), []byte("x"))},
		{"FRAME claims 2^40", cat([]byte{0x80, 4, 0x95}, le8(1<<40), []byte("N."))},
		{"LONG4 claims 2^31-1", cat([]byte{0x8b}, le4(1<<31-1))},
		{"LONG_BINPUT 2^32-1", cat([]byte("K\x07r"), le4(0xffffffff), []byte("0j"), le4(0xffffffff), []byte("."))},
		{"LONG_BINPUT 2^31 and 2^31-1", cat([]byte("K\x07r"), le4(1<<31), []byte("r"), le4(1<<31-1), []byte("0j"), le4(1<<31), []byte("."))},
		{"PUT 4294967295", []byte("N\np4294967295\n0g4294967295\n.")},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := allocated(func() { _, _ = unpickler.Load(c.data) })
			segs := allocated(func() {
				var v any
				_ = unpickler.UnmarshalSegments([][]byte{c.data[:len(c.data)/2], c.data[len(c.data)/2:]}, &v)
			})
			t.Logf("allocated %d bytes (bytes), %d (segments)", n, segs)
			if n > 64<<10 || segs > 64<<10 {
				t.Fatalf("allocated %d bytes (bytes input), %d (segments) for a %d-byte input", n, segs, len(c.data))
			}
		})
	}
}

// limitedBytes is a reader of n payload bytes and then the end.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

// From a reader, memory grows only as bytes arrive: a BINBYTES8 claiming
// 8 GiB (under a MaxLength that allows it) followed by n bytes and the end
// of the stream allocates a small multiple of n, never the claim. (The
// buffer grows by doubling: the total handed out, garbage included, was
// about 4n here.)
func TestReaderAllocatesWhatArrives(t *testing.T) {
	for _, n := range []int{100, 64 << 10, 1 << 20, 8 << 20} {
		data := cat([]byte{0x80, 5, 0x8e}, le8(8<<30), bytes.Repeat([]byte("x"), n))
		var err error
		got := allocated(func() {
			var v any
			err = unpickler.NewDecoder(&slowReader{r: bytes.NewReader(data), n: 1 << 16}, unpickler.MaxLength(16<<30)).Decode(&v)
		})
		if !errors.Is(err, unpickler.ErrTruncated) {
			t.Fatalf("%d bytes: %v, want ErrTruncated", n, err)
		}
		t.Logf("%d bytes arrived: %d allocated", n, got)
		if limit := uint64(5*n + 1<<20); got > limit {
			t.Fatalf("%d bytes arrived, %d allocated (bound %d)", n, got, limit)
		}
	}
}

// MaxAlloc bounds what payloads may take: a pickle of 64 payloads of 64 KiB
// under MaxAlloc(1 MiB) fails having allocated about the limit, not the 4
// MiB the payloads would need.
func TestMaxAllocBoundsAllocation(t *testing.T) {
	data := []byte{0x80, 5, '('}
	for i := 0; i < 64; i++ {
		data = cat(data, []byte{0x8e}, le8(64<<10), bytes.Repeat([]byte{byte(i)}, 64<<10))
	}
	data = cat(data, []byte("l."))
	var err error
	got := allocated(func() { _, err = unpickler.Load(data, unpickler.MaxAlloc(1<<20)) })
	if !errors.Is(err, unpickler.ErrLimit) {
		t.Fatalf("%v, want ErrLimit", err)
	}
	t.Logf("allocated %d bytes", got)
	if got > 2<<20 {
		t.Fatalf("MaxAlloc(1 MiB) let %d bytes be allocated", got)
	}
	// Control: without the limit it decodes, having copied the 4 MiB.
	got = allocated(func() { _, err = unpickler.Load(data) })
	if err != nil || got < 4<<20 {
		t.Fatalf("unlimited: %v, %d bytes allocated", err, got)
	}
}

// Memo entries cost memory by count, not by index: 10,000 PUTs at indexes
// 2^20 apart take under 1 KiB each (about 130 bytes measured, with the list
// they fill), where a table up to the highest index would take 80 GB.
func TestSparseMemoMemory(t *testing.T) {
	data := []byte{0x80, 2, ']', '('}
	for i := uint32(0); i < 10000; i++ {
		data = cat(data, []byte("K\x01r"), le4(i<<20))
	}
	data = cat(data, []byte("e."))
	var err error
	got := allocated(func() { _, err = unpickler.Load(data) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 sparse memo entries: %d bytes allocated", got)
	if got > 10000*1024 {
		t.Fatalf("10,000 sparse memo entries allocated %d bytes", got)
	}
}

// Deep nesting (TestDeepList decodes the 3-million-deep list): nesting by
// MARK beyond MaxDepth fails before it allocates much.
func TestDeepMarksMemory(t *testing.T) {
	var err error
	marks := bytes.Repeat([]byte("("), 1<<20)
	got := allocated(func() { _, err = unpickler.Load(marks, unpickler.MaxDepth(1000)) })
	if !errors.Is(err, unpickler.ErrLimit) || got > 256<<10 {
		t.Fatalf("a million MARKs under MaxDepth(1000): %v, %d bytes allocated", err, got)
	}
}

// deepListMeasured decodes a deep list with the goroutine's stack capped at
// 1 MiB (a recursive decoder would need hundreds of MiB and die of
// "goroutine stack exceeds"), and checks that memory stays linear: the
// value kept is under 128 bytes a level (a list of one item and its slot),
// and all that was handed out on the way, garbage included, under 768
// (about 370 measured: the stack and box slices grow by doubling).
func deepListMeasured(t *testing.T, depth int) any {
	data := deepList(depth)
	old := debug.SetMaxStack(1 << 20)
	defer debug.SetMaxStack(old)
	var err error
	var v any
	var live uint64
	got := allocated(func() {
		v, err = unpickler.Load(data)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		runtime.GC()
		runtime.ReadMemStats(&after)
		live = after.HeapAlloc
	})
	debug.SetMaxStack(old)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d levels: %d bytes allocated (%.0f a level), %d live after GC (%.0f a level)",
		depth, got, float64(got)/float64(depth), live, float64(live)/float64(depth))
	if got > 768*uint64(depth) || live > 128*uint64(depth)+(64<<20) {
		t.Fatalf("%d levels: %d bytes allocated, %d live", depth, got, live)
	}
	return v
}

// Dicts and lists nested in each other, each dict's batch handed over at
// its list (too deep for the look-ahead to size it): the fast loops that
// read them (smallDict, fastDict, fastBox) do not call each other once a
// level, so the goroutine's stack stays small (capped at 1 MiB here;
// 4,000 levels took over 5 MiB when a hand-over inside a list went on
// into fastDict).
func TestNestedDictsStack(t *testing.T) {
	const depth = 4000
	var p []byte
	p = append(p, "\x80\x04"...)
	for range depth {
		p = append(p, "}(\x8c\x01a]("...)
	}
	p = append(p, "K\x01"...)
	for range depth {
		p = append(p, "eu"...)
	}
	p = append(p, '.')
	old := debug.SetMaxStack(1 << 20)
	defer debug.SetMaxStack(old)
	v, err := unpickler.Load(p)
	debug.SetMaxStack(old)
	if err != nil {
		t.Fatal(err)
	}
	for range depth {
		l, _ := v.(*py.Dict).Get("a")
		v = l.([]any)[0]
	}
	if v != any(int64(1)) {
		t.Fatalf("innermost %#v", v)
	}
}
