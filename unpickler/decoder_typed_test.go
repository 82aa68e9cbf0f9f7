package unpickler

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/segpickle/segpickle/py"
)

// chunkReader hands out at most n bytes a Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.n)])
}

type selfList []selfList

// decoderCase is a pickle and the typed target it is decoded into.
type decoderCase struct {
	name   string
	data   []byte
	target func() any
	noFall bool // the typed path takes it without giving way
}

func decoderCases(t *testing.T) []decoderCase {
	ints := make([]any, 30000) // over the reader's 64 KiB buffer at every protocol
	strs := make([]any, 3000)
	for i := range ints {
		ints[i] = int64(i * 1000)
	}
	for i := range strs {
		strs[i] = "s" + strconv.Itoa(i)
	}
	bigDict := py.NewDict(0)
	for i := 0; i < 2500; i++ {
		bigDict.Set("k"+strconv.Itoa(i), float64(i)/3)
	}
	// Gives way at its last item, past the first 64 KiB: a None in []int64.
	late := append(append([]any{}, ints...), nil)
	big := py.DictOf("id", int64(1), "blob", bytes.Repeat([]byte("b"), 200<<10), "name", "x")
	type blobMsg struct {
		ID   int64  `pickle:"id"`
		Blob []byte `pickle:"blob"`
		Name string `pickle:"name"`
	}
	// Gives way after a payload over 64 KiB (read past the reader's
	// buffer), at a list inside itself: the dynamic path reads the payload
	// again from what was kept. {"blob": b"q" * 300 KiB, "l": l}, l = [l].
	type blobSelf struct {
		Blob []byte   `pickle:"blob"`
		L    selfList `pickle:"l"`
	}
	blobLate := []byte("\x80\x04}\x94(\x8c\x04blob\x94B")
	blobLate = binary.LittleEndian.AppendUint32(blobLate, 300<<10)
	blobLate = append(blobLate, bytes.Repeat([]byte("q"), 300<<10)...)
	blobLate = append(blobLate, "\x94\x8c\x01l\x94]\x94h\x04au."...)
	var cs []decoderCase
	for proto := 0; proto <= 5; proto++ {
		p := func(v any) []byte { return mustPickle(t, v, proto) }
		fall := proto >= 1
		cs = append(cs,
			decoderCase{"ints", p(ints), func() any { return new([]int64) }, fall},
			decoderCase{"strs", p(strs), func() any { return new([]string) }, fall},
			decoderCase{"dict", p(bigDict), func() any { return new(map[string]float64) }, fall},
			decoderCase{"messages", p(msgList(500)), func() any { return new([]tMsg) }, fall},
			decoderCase{"struct", p(outerValue(7)), func() any { return new(tOuter) }, fall},
			decoderCase{"blob", p(big), func() any { return new(blobMsg) }, false},
			decoderCase{"none late", p(late), func() any { return new([]*int64) }, false},
			decoderCase{"blob, then gives way", blobLate, func() any { return new(blobSelf) }, false},
			decoderCase{"tuple into slice", p(py.Tuple{int64(1), int64(2)}), func() any { return new([]int64) }, false},
		)
	}
	return cs
}

// TestDecoderTypedMatchesUnmarshal: a stream of pickles decoded one after
// another by a Decoder into typed targets gives what Unmarshal gives for
// each, through readers that return any number of bytes, with the typed
// path taken (no fallback) where Unmarshal takes it; where it gives way,
// past the reader's buffer, the dynamic path reads the same input again
// and the next pickle follows.
func TestDecoderTypedMatchesUnmarshal(t *testing.T) {
	cs := decoderCases(t)
	var stream []byte
	for _, c := range cs {
		stream = append(stream, c.data...)
	}
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
		"7 bytes":  func() io.Reader { return &chunkReader{bytes.NewReader(stream), 7} },
		"5000":     func() io.Reader { return &chunkReader{bytes.NewReader(stream), 5000} },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) },
	}
	for rname, mk := range readers {
		dec := NewDecoder(mk())
		for i, c := range cs {
			want, got := c.target(), c.target()
			errWant := Unmarshal(c.data, want)
			before := typedFallbacks.Load()
			errGot := dec.Decode(got)
			if (errWant == nil) != (errGot == nil) || (errWant != nil && errWant.Error() != errGot.Error()) {
				t.Fatalf("%s: #%d %s: errors differ: Unmarshal %v, Decoder %v", rname, i, c.name, errWant, errGot)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s: #%d %s: Unmarshal and Decoder differ", rname, i, c.name)
			}
			if c.noFall && typedFallbacks.Load() != before {
				t.Fatalf("%s: #%d %s: the typed path gave way", rname, i, c.name)
			}
		}
		var v any
		if err := dec.Decode(&v); err != io.EOF {
			t.Fatalf("%s: after the last pickle: %v, want io.EOF", rname, err)
		}
	}
}

// TestDecoderTypedErrors: truncated input and a failing reader give the
// errors a Decoder's dynamic path gives (into an any: a reader cannot
// check a FRAME's length against what is still to come, as Unmarshal
// does), through the typed path's replay.
func TestDecoderTypedErrors(t *testing.T) {
	data := mustPickle(t, msgList(3000), 5)
	for _, cut := range []int{1, 100, 70000, len(data) - 1} {
		var want any
		var got []tMsg
		errWant := NewDecoder(&chunkReader{bytes.NewReader(data[:cut]), 999}).Decode(&want)
		errGot := NewDecoder(&chunkReader{bytes.NewReader(data[:cut]), 999}).Decode(&got)
		if errWant == nil || errGot == nil || errWant.Error() != errGot.Error() {
			t.Fatalf("cut at %d: Unmarshal %v, Decoder %v", cut, errWant, errGot)
		}
	}
	boom := errors.New("boom")
	var got []tMsg
	err := NewDecoder(io.MultiReader(bytes.NewReader(data[:80000]), iotest.ErrReader(boom))).Decode(&got)
	if !errors.Is(err, boom) {
		t.Fatalf("a failing reader: %v, want one that wraps boom", err)
	}
}

// TestDecoderTypedMemory: the input kept while a typed decode runs grows
// with what arrives, not a buffer a read: 2 MiB read 512 bytes at a time
// (4,096 reads) must not take a 64 KiB buffer each.
func TestDecoderTypedMemory(t *testing.T) {
	strs := make([]any, 200000)
	for i := range strs {
		strs[i] = "s" + strconv.Itoa(i)
	}
	data := mustPickle(t, strs, 5)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	var got []string
	if err := NewDecoder(&chunkReader{bytes.NewReader(data), 512}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms1)
	if len(got) != len(strs) || got[199999] != "s199999" {
		t.Fatalf("decoded %d strs", len(got))
	}
	// The result is 200,000 strs (3.2 MB of headers, ~1.4 MB of bytes);
	// a 64 KiB buffer a read would be 256 MiB.
	if grown := ms1.TotalAlloc - ms0.TotalAlloc; grown > 32<<20 {
		t.Fatalf("decoding %d bytes allocated %d", len(data), grown)
	}
}

// TestDecoderSmallMessagesCostAsUnmarshal: a Decoder reading a stream of
// small pickles (an RPC connection) allocates about what Unmarshal does
// for each, into any and into a struct, whatever the reads: it cannot know
// how much input is left, so its arenas, slabs, memo and frames grow with
// what the pickle has taken instead of starting at 32 KiB. (They started
// there: 42 KB a 60-byte message into any, against 3 KB for Unmarshal.)
func TestDecoderSmallMessagesCostAsUnmarshal(t *testing.T) {
	type msg struct {
		ID    int64    `pickle:"id"`
		Name  string   `pickle:"name"`
		Tags  []string `pickle:"tags"`
		Score float64  `pickle:"score"`
	}
	one := mustPickle(t, py.DictOf("id", int64(123456), "name", "user42", "tags", []any{"red", "blue"}, "score", 1.5), 5)
	const count = 1000
	stream := bytes.Repeat(one, count)
	allocs := func(f func()) uint64 {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		f()
		runtime.ReadMemStats(&ms1)
		return (ms1.TotalAlloc - ms0.TotalAlloc) / count
	}
	for name, target := range map[string]func() any{"any": func() any { return new(any) }, "struct": func() any { return new(msg) }} {
		per := allocs(func() {
			for range count {
				if err := Unmarshal(one, target()); err != nil {
					t.Fatal(err)
				}
			}
		})
		for _, n := range []int{13, 1 << 20} {
			dec := NewDecoder(&chunkReader{bytes.NewReader(stream), n})
			got := allocs(func() {
				for range count {
					if err := dec.Decode(target()); err != nil {
						t.Fatal(err)
					}
				}
			})
			t.Logf("%s, reads of %d: %d bytes a Decode, Unmarshal %d", name, n, got, per)
			if got > 2*per+512 {
				t.Errorf("%s, reads of %d: a Decode allocated %d bytes, Unmarshal %d", name, n, got, per)
			}
		}
	}
}

// repeatReader is head, then rep n times, then tail, read in pieces of
// at most 64 KiB; it notes the largest live heap seen every 4 MiB.
type repeatReader struct {
	head, rep, tail []byte
	n, i            int
	left            []byte
	read            int64
	peak            uint64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if len(r.left) == 0 {
		switch {
		case r.head != nil:
			r.left, r.head = r.head, nil
		case r.i < r.n:
			r.left = r.rep
			r.i++
		case r.tail != nil:
			r.left, r.tail = r.tail, nil
		default:
			return 0, io.EOF
		}
	}
	k := copy(p[:min(len(p), 64<<10)], r.left)
	r.left = r.left[k:]
	if r.read/(4<<20) != (r.read+int64(k))/(4<<20) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r.peak = max(r.peak, ms.HeapAlloc)
	}
	r.read += int64(k)
	return k, nil
}

// TestDecoderTypedLongPickleBounded: a Decoder keeps a typed pickle's input
// while the typed path runs (to read it again if that gives way), but not
// past stream.MarkedMax (64 MiB) of opcodes: a pickle of 192 MiB that
// builds nothing (an empty list, then None and POP 100 million times: CPython
// reads it in constant memory) is given up by the typed path at 64 MiB and
// read by the dynamic one, which keeps nothing; the next pickle follows.
func TestDecoderTypedLongPickleBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("192 MiB of opcodes twice over take minutes under the race detector; the plain run checks it")
	}
	next := mustPickle(t, []any{int64(7)}, 5)
	r := &repeatReader{head: []byte("\x80\x04]"), rep: bytes.Repeat([]byte("N0"), 1<<20), n: 96, tail: append([]byte("."), next...)}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	dec := NewDecoder(r)
	var got, again []int64
	if err := dec.Decode(&got); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
	if err := dec.Decode(&again); err != nil || len(again) != 1 || again[0] != 7 {
		t.Fatalf("the next pickle: %v %v", again, err)
	}
	t.Logf("%d MiB read, live heap at most %d MiB over the start", r.read>>20, (r.peak-min(r.peak, base))>>20)
	if r.peak > base+96<<20 {
		t.Fatalf("live heap reached %d MiB over the start reading %d MiB: the input was kept past MarkedMax", (r.peak-base)>>20, r.read>>20)
	}
}
