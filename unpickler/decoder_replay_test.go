package unpickler

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/py"
)

// replayBlob gives way (a None in its []int64) after a payload read
// straight from the io.Reader (≥ 64 KiB): the dynamic path must read that
// payload again from the input kept since Mark.
type replayBlob struct {
	Blob []byte  `pickle:"blob"`
	Late []int64 `pickle:"late"`
}

func TestDecoderReplayLargePayload(t *testing.T) {
	blob := bytes.Repeat([]byte("0123456789abcdef"), 20<<10) // 320 KiB
	for proto := 3; proto <= 5; proto++ {
		late := "x" // gives way (an error on both paths)
		data := mustPickle(t, py.DictOf("blob", blob, "late", late), proto)
		stream := append(append([]byte{}, data...), data...)
		for _, n := range []int{1 << 20, 5000, 7} {
			dec := NewDecoder(&chunkReader{bytes.NewReader(stream), n})
			ref := NewDecoder(&chunkReader{bytes.NewReader(stream), n})
			for i := range 2 {
				var got, want replayBlob
				errGot, errWant := dec.Decode(&got), ref.decode(&want, false)
				if (errGot == nil) != (errWant == nil) || errGot != nil && errGot.Error() != errWant.Error() {
					t.Fatalf("proto %d, reads of %d, #%d: Decode %v, dynamic %v", proto, n, i, errGot, errWant)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("proto %d, reads of %d, #%d: values differ", proto, n, i)
				}
			}
		}
	}
}

// TestDecoderKeptValuesStable: values decoded by earlier Decodes are not
// changed by later ones (no slice of a buffer reused after Release).
func TestDecoderKeptValuesStable(t *testing.T) {
	type rec struct {
		Name string            `pickle:"name"`
		B    []byte            `pickle:"b"`
		M    map[string]string `pickle:"m"`
		L    []string          `pickle:"l"`
	}
	var datas [][]byte
	var stream []byte
	for i := range 200 {
		s := strings.Repeat(string(rune('a'+i%26)), 1+i*37%300)
		big := bytes.Repeat([]byte{byte(i)}, 1+(i*7919)%(90<<10))
		v := py.DictOf("name", s, "b", big, "m", py.DictOf(s, s, "k"+s, s), "l", []any{s, s, s})
		d := mustPickle(t, v, 2+i%4)
		datas = append(datas, d)
		stream = append(stream, d...)
	}
	for k, n := range []int{1, 3, 4095, 4097, 65535, 65537, 100000} {
		// ZeroCopy asked for (a Decoder reads with it off) on every other.
		dec := NewDecoder(&chunkReader{bytes.NewReader(stream), n}, ZeroCopy(k%2 == 0))
		got := make([]rec, len(datas))
		for i := range datas {
			// Every third into an any: the dynamic path, whose reads go
			// into the reusable buffer from its start.
			var err error
			if i%3 == 2 {
				var v any
				err = dec.Decode(&v)
			} else {
				err = dec.Decode(&got[i])
			}
			if err != nil {
				t.Fatalf("reads of %d: #%d: %v", n, i, err)
			}
		}
		for i, d := range datas {
			if i%3 == 2 {
				continue
			}
			var want rec
			if err := Unmarshal(d, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[i], want) {
				t.Fatalf("reads of %d: #%d changed after later Decodes", n, i)
			}
		}
	}
}

// forgetReader reads its pieces in turn and drops each once read: it
// pins none of what it handed out.
type forgetReader struct{ pieces [][]byte }

func (f *forgetReader) Read(p []byte) (int, error) {
	for len(f.pieces) > 0 && len(f.pieces[0]) == 0 {
		f.pieces[0] = nil
		f.pieces = f.pieces[1:]
	}
	if len(f.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.pieces[0])
	f.pieces[0] = f.pieces[0][n:]
	return n, nil
}

func newForgetReader(data []byte, size int) *forgetReader {
	f := &forgetReader{}
	for len(data) > 0 {
		k := min(size, len(data))
		f.pieces = append(f.pieces, append([]byte(nil), data[:k]...))
		data = data[k:]
	}
	return f
}

// TestDecoderReplayDoesNotPin: once the dynamic path has read a replayed
// pickle, the Decoder holds none of the input kept for it (here 8 MB):
// a Decoder kept for its next pickle must not pin the last big one.
func TestDecoderReplayDoesNotPin(t *testing.T) {
	var dec *Decoder
	size := 0
	func() {
		items := make([]any, 1<<20)
		for i := range items {
			items[i] = int64(i) << 20 // 5 bytes of pickle each
		}
		items = append(items, "x") // gives way at the end (an error on both paths)
		data := mustPickle(t, items, 5)
		size = len(data)
		data = append(data, mustPickle(t, []any{int64(1)}, 5)...)
		dec = NewDecoder(newForgetReader(data, 1000))
		var got []int64
		if err := dec.Decode(&got); err == nil {
			t.Fatal("no error")
		}
	}()
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > uint64(size)/2 {
		t.Fatalf("after a %d-byte pickle replayed, %d bytes of heap are live", size, ms.HeapAlloc)
	}
	var next []int64
	if err := dec.Decode(&next); err != nil || len(next) != 1 {
		t.Fatalf("next pickle: %v %v", next, err)
	}
}

// TestDecoderTypedShortReadsMemory: the input kept while the typed path
// runs costs about what arrived, however short the reads: a 1 MB pickle
// read a byte at a time must not keep a slice header (24 bytes) a byte.
func TestDecoderTypedShortReadsMemory(t *testing.T) {
	ints := make([]any, 200000)
	for i := range ints {
		ints[i] = int64(i) << 8
	}
	data := mustPickle(t, ints, 5) // ~1 MB; the result is 1.6 MB of int64
	for _, n := range []int{1, 3} {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		var got []int64
		if err := NewDecoder(&chunkReader{bytes.NewReader(data), n}).Decode(&got); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms1)
		if len(got) != len(ints) || got[len(got)-1] != ints[len(ints)-1] {
			t.Fatalf("reads of %d: decoded %d ints", n, len(got))
		}
		if grown := ms1.TotalAlloc - ms0.TotalAlloc; grown > 12<<20 {
			t.Fatalf("reads of %d: decoding %d bytes allocated %d", n, len(data), grown)
		}
	}
}

// TestDecoderSmallPicklesAlloc: a stream of small pickles whose reads end
// mid-pickle (a pipe, a socket) costs about what the dynamic path costs
// to read, not a fresh 64 KiB chunk each.
func TestDecoderSmallPicklesAlloc(t *testing.T) {
	type rec struct {
		ID   int64  `pickle:"id"`
		Name string `pickle:"name"`
	}
	var stream []byte
	const count = 2000
	for i := range count {
		stream = append(stream, mustPickle(t, py.DictOf("id", int64(i), "name", "n"+strconv.Itoa(i)), 5)...)
	}
	alloc := func(typed bool) uint64 {
		var ms0, ms1 runtime.MemStats
		dec := NewDecoder(&chunkReader{bytes.NewReader(stream), 13})
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		for i := range count {
			var r rec
			if err := dec.decode(&r, typed); err != nil || r.ID != int64(i) {
				t.Fatalf("#%d: %v %v", i, r, err)
			}
		}
		runtime.ReadMemStats(&ms1)
		return ms1.TotalAlloc - ms0.TotalAlloc
	}
	dyn, typed := alloc(false), alloc(true)
	t.Logf("%d pickles of ~%d bytes: dynamic %d bytes allocated, typed %d", count, len(stream)/count, dyn, typed)
	if typed > 2*dyn {
		t.Fatalf("typed Decode allocated %d bytes, the dynamic path %d", typed, dyn)
	}
}

// flakyReader fails once, with err, when it reaches at; then reads on.
type flakyReader struct {
	data  []byte
	pos   int
	at    int
	err   error
	empty int // (0, nil) reads to give at at instead, when err is nil
	n     int
}

func (f *flakyReader) Read(p []byte) (int, error) {
	if f.pos == f.at {
		if f.err != nil {
			f.at = -1
			return 0, f.err
		}
		if f.empty > 0 {
			f.empty--
			return 0, nil
		}
	}
	end := min(len(f.data), f.pos+len(p), f.pos+f.n)
	if f.pos < f.at && end > f.at {
		end = f.at
	}
	if f.pos == len(f.data) {
		return 0, io.EOF
	}
	k := copy(p, f.data[f.pos:end])
	f.pos += k
	return k, nil
}

// TestDecoderReaderFailsThenResumes: a reader that fails (or makes no
// progress) once mid-stream, then would read on: Decode after Decode, the
// typed path gives what the dynamic path gives, errors and values.
func TestDecoderReaderFailsThenResumes(t *testing.T) {
	var stream []byte
	for i := range 6 {
		stream = append(stream, mustPickle(t, msgList(300+i), 2+i%4)...)
	}
	boom := io.ErrClosedPipe
	for _, n := range []int{1, 7, 5000, 1 << 20} {
		for _, at := range []int{0, 1, 30, 40000, 70000, len(stream) / 2, len(stream) - 1} {
			for _, fail := range []struct {
				err   error
				empty int
			}{{boom, 0}, {nil, 100}, {nil, 99}} {
				mk := func() io.Reader {
					return &flakyReader{data: stream, at: at, err: fail.err, empty: fail.empty, n: n}
				}
				dec, ref := NewDecoder(mk()), NewDecoder(mk())
				for i := range 8 {
					var got, want []tMsg
					errGot, errWant := dec.Decode(&got), ref.decode(&want, false)
					if (errGot == nil) != (errWant == nil) || errGot != nil && errGot.Error() != errWant.Error() {
						t.Fatalf("reads of %d, fails at %d (%v, %d): #%d: Decode %v, dynamic %v", n, at, fail.err, fail.empty, i, errGot, errWant)
					}
					if errGot == nil && !reflect.DeepEqual(got, want) {
						t.Fatalf("reads of %d, fails at %d: #%d: values differ", n, at, i)
					}
				}
			}
		}
	}
}

// TestDecoderTruncatedAgrees: a stream cut anywhere gives, Decode after
// Decode, the dynamic path's errors (same offset, same opcode) and values,
// into several typed targets, at protocols with and without frames.
func TestDecoderTruncatedAgrees(t *testing.T) {
	type target struct {
		name string
		mk   func() any
	}
	targets := []target{
		{"[]tMsg", func() any { return new([]tMsg) }},
		{"[]map[string]any", func() any { return new([]map[string]any) }},
		{"tOuter", func() any { return new(tOuter) }},
		{"[]string", func() any { return new([]string) }},
	}
	for proto := 0; proto <= 5; proto++ {
		var stream []byte
		stream = append(stream, mustPickle(t, msgList(40), proto)...)
		stream = append(stream, mustPickle(t, outerValue(3), proto)...)
		stream = append(stream, mustPickle(t, msgList(700), proto)...)
		var cuts []int
		step := 1 + len(stream)/40
		if raceEnabled {
			step = 1 + len(stream)/8 // fewer cuts under the race detector; all of them without it
		}
		for c := 1; c < len(stream); c += step {
			cuts = append(cuts, c)
		}
		for _, tg := range targets {
			for _, n := range []int{3, 5000} {
				for _, cut := range cuts {
					dec := NewDecoder(&chunkReader{bytes.NewReader(stream[:cut]), n})
					ref := NewDecoder(&chunkReader{bytes.NewReader(stream[:cut]), n})
					for i := range 4 {
						got, want := tg.mk(), tg.mk()
						errGot, errWant := dec.Decode(got), ref.decode(want, false)
						if (errGot == nil) != (errWant == nil) || errGot != nil && errGot.Error() != errWant.Error() {
							t.Fatalf("protocol %d, %s, reads of %d, cut at %d: #%d: Decode %v, dynamic %v", proto, tg.name, n, cut, i, errGot, errWant)
						}
						if errGot == nil && !reflect.DeepEqual(got, want) {
							t.Fatalf("protocol %d, %s, reads of %d, cut at %d: #%d: values differ", proto, tg.name, n, cut, i)
						}
						if errGot == io.EOF {
							break
						}
					}
				}
			}
		}
	}
}

// TestUnmarshalSegmentsLeavesSegs: segment input with empty segments
// anywhere decodes as the joined bytes do, typed and dynamic, and the
// caller's list is never written.
func TestUnmarshalSegmentsLeavesSegs(t *testing.T) {
	data := mustPickle(t, msgList(50), 5)
	for _, step := range []int{1, 3, 100, 4000} {
		var segs [][]byte
		segs = append(segs, nil, []byte{})
		for i := 0; i < len(data); i += step {
			segs = append(segs, data[i:min(i+step, len(data))], nil)
		}
		segs = append(segs, []byte{}, nil)
		before := append([][]byte(nil), segs...)
		var want, got []tMsg
		var wantAny, gotAny any
		if err := Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if err := UnmarshalSegments(segs, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: typed: %v, values equal %v", step, err, reflect.DeepEqual(got, want))
		}
		wantAny, _ = Load(data)
		if err := UnmarshalSegments(segs, &gotAny); err != nil || !reflect.DeepEqual(gotAny, wantAny) {
			t.Fatalf("step %d: dynamic: %v", step, err)
		}
		for i := range segs {
			if len(segs[i]) != len(before[i]) || (segs[i] == nil) != (before[i] == nil) ||
				len(segs[i]) > 0 && &segs[i][0] != &before[i][0] {
				t.Fatalf("step %d: the caller's segment %d was changed", step, i)
			}
		}
	}
}

// claimReader is a BINBYTES8 claiming 1 GiB in a list, of which size bytes
// arrive, n a Read; at the end it measures the live heap (nothing of the
// input is held by the test).
type claimReader struct {
	head      []byte
	pos, size int
	n         int
	live      uint64
}

func (c *claimReader) Read(p []byte) (int, error) {
	if c.pos >= len(c.head)+c.size {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		c.live = max(c.live, ms.HeapAlloc)
		return 0, io.EOF
	}
	k := 0
	for k < min(len(p), c.n) && c.pos < len(c.head)+c.size {
		if c.pos < len(c.head) {
			p[k] = c.head[c.pos]
		} else {
			p[k] = 'x'
		}
		k++
		c.pos++
	}
	return k, nil
}

// TestDecoderTypedClaimedLengthMemory: a length prefix claiming 1 GiB of
// which 16 MB arrive: the typed Decode, its replay included, keeps at most
// about what the dynamic path does (which doubles its destination as data
// arrives), not the first attempt's arrays besides the replay's: 48 MB
// against 16 MB before, 32 MB now.
func TestDecoderTypedClaimedLengthMemory(t *testing.T) {
	head := append([]byte{0x80, 5, ']', '(', 0x8e}, 0, 0, 0, 0x40, 0, 0, 0, 0)
	live := func(typed bool) uint64 {
		c := &claimReader{head: head, size: 16 << 20, n: 1000}
		var v [][]byte
		if err := NewDecoder(c, MaxLength(1<<31)).decode(&v, typed); !errors.Is(err, ErrTruncated) {
			t.Fatalf("typed %v: %v, want truncated", typed, err)
		}
		return c.live
	}
	dyn, typed := live(false), live(true)
	t.Logf("16 MB of a claimed 1 GiB: live at the end %d MB dynamic, %d MB typed", dyn>>20, typed>>20)
	if typed > dyn*5/2 {
		t.Fatalf("typed Decode kept %d bytes live, the dynamic path %d", typed, dyn)
	}
}
