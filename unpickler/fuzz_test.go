package unpickler_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

// seedCorpus adds CPython's pickles of the golden corpus (every protocol)
// and a few hostile shapes.
func seedCorpus(f *testing.F) {
	g := goldenPickles(f)
	for _, c := range g.Cases {
		for _, p := range c.Pickles {
			if data := p.bytes(f); data != nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{"", "\xff", "\x8a", "N(.", "((lp0\ng0\nt.", "}]K\x01s.", "\x80\x05\x97\x98.",
		"\x80\x04\x95\xff\xff\xff\xff\xff\x00\x00\x00N.", "cos\nsystem\n(S'echo'\ntR.", "]\x94h\x00a.", "}\x94K\x01h\x00s."} {
		f.Add([]byte(s))
	}
}

// maxSlowInput bounds the inputs that go through the slow paths, so that
// no single execution outlasts the fuzzer's shutdown grace.
const maxSlowInput = 16 << 10

// limits keep the fuzzer's allocations small.
var fuzzLimits = []unpickler.Option{unpickler.MaxAlloc(1 << 24), unpickler.MaxLength(1 << 22), unpickler.MaxMemo(1 << 16), unpickler.MaxDepth(2000)}

// FuzzLoad: no input panics, hangs or fails without an *unpickler.Error.
func FuzzLoad(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := unpickler.Load(data, fuzzLimits...)
		if err != nil {
			var ue *unpickler.Error
			if !errors.As(err, &ue) {
				t.Fatalf("error is not an *unpickler.Error: %T %v", err, err)
			}
		}
		if len(data) > maxSlowInput {
			return // the per-byte paths below would take seconds on it
		}
		// The same through one-byte segments must agree.
		segs := make([][]byte, len(data))
		for i := range data {
			segs[i] = data[i : i+1]
		}
		var v2 any
		err2 := unpickler.UnmarshalSegments(segs, &v2, fuzzLimits...)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("bytes and segments disagree: %v vs %v", err, err2)
		}
		// From a reader with short reads: no panic, typed errors. (It may
		// accept what bytes refuse: a reader cannot check a FRAME length
		// against what is still to come.)
		dec := unpickler.NewDecoder(&slowReader{r: bytes.NewReader(data), n: 3}, fuzzLimits...)
		var v3 any
		if err3 := dec.Decode(&v3); err3 != nil && err3 != io.EOF {
			var ue *unpickler.Error
			if !errors.As(err3, &ue) {
				t.Fatalf("reader error is not an *unpickler.Error: %T %v", err3, err3)
			}
		} else if err == nil && err3 == nil {
			a, _ := pickler.Marshal(v, pickler.MaxDepth(4000))
			b, _ := pickler.Marshal(v3, pickler.MaxDepth(4000))
			if !bytes.Equal(a, b) {
				t.Fatalf("bytes and reader decode differently")
			}
		}
	})
}

// FuzzRoundTrip: whatever decodes re-encodes, and the re-encoding is a
// fixed point: decode(encode(v)) encodes to the same bytes.
func FuzzRoundTrip(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxSlowInput {
			return // six encodes and decodes of a large seed take seconds
		}
		v, err := unpickler.Load(data, fuzzLimits...)
		if err != nil {
			return
		}
		for proto := 0; proto <= 5; proto++ {
			out, err := pickler.Marshal(v, pickler.Protocol(proto), pickler.MaxDepth(4000))
			if err != nil {
				var te *pickler.UnsupportedValueError
				if errors.As(err, &te) {
					continue // e.g. out-of-band buffer below protocol 5
				}
				t.Fatalf("protocol %d: re-encode failed: %v", proto, err)
			}
			v2, err := unpickler.Load(out, fuzzLimits...)
			if err != nil {
				t.Fatalf("protocol %d: our own output does not decode: %v\n%q", proto, err, out)
			}
			out2, err := pickler.Marshal(v2, pickler.Protocol(proto), pickler.MaxDepth(4000))
			if err != nil {
				t.Fatalf("protocol %d: second encode failed: %v", proto, err)
			}
			if !bytes.Equal(out, out2) {
				t.Fatalf("protocol %d: not a fixed point\n%q\n%q", proto, out, out2)
			}
		}
	})
}
