package unpickler_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

// seedCorpus adds CPython's pickles of the golden corpus (every protocol),
// one sample per opcode and a few hostile shapes.
func seedCorpus(f *testing.F) {
	g := goldenPickles(f)
	for _, c := range g.Cases {
		for _, p := range c.Pickles {
			if data := goldenBytes(f, p); data != nil {
				f.Add(data)
			}
		}
	}
	for _, s := range opcodeSamples { // every opcode at least once
		f.Add([]byte(s.data))
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

// FuzzLoad: no input panics (a recovered panic, ErrInternal, fails the
// target), hangs or fails without an *unpickler.Error; bytes, one-byte
// segments and a short-read reader give equal values (identity included) or
// errors of the same cause; typed decoding and re-encoding what decoded
// never panic either.
func FuzzLoad(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := unpickler.Load(data, fuzzLimits...)
		if msg := internalError(err); msg != "" {
			t.Fatalf("bytes: %s", msg)
		}
		if err == nil {
			// What decoded encodes, or fails with a typed error (too
			// deep, a placeholder the protocol cannot write, …).
			_, perr := pickler.Marshal(v, pickler.MaxDepth(4000))
			if msg := internalError(perr); msg != "" {
				t.Fatalf("re-encode: %s", msg)
			}
		}
		// Typed decoding goes through assignment code of its own.
		var typed struct {
			A []string
			B map[string]int
			C *float64
			D [2]any
		}
		if msg := internalError(unpickler.Unmarshal(data, &typed, fuzzLimits...)); msg != "" {
			t.Fatalf("typed: %s", msg)
		}
		var m map[any]any
		if msg := internalError(unpickler.Unmarshal(data, &m, fuzzLimits...)); msg != "" {
			t.Fatalf("typed map: %s", msg)
		}
		if len(data) > maxSlowInput {
			return // the per-byte paths below would take seconds on it
		}
		// The same through one-byte segments: the same value or cause.
		segs := make([][]byte, len(data))
		for i := range data {
			segs[i] = data[i : i+1]
		}
		var v2 any
		err2 := unpickler.UnmarshalSegments(segs, &v2, fuzzLimits...)
		if msg := internalError(err2); msg != "" {
			t.Fatalf("segments: %s", msg)
		}
		if d := sameOutcome(v, err, v2, err2); d != "" {
			t.Fatalf("bytes and one-byte segments disagree: %s", d)
		}
		// From a reader with short reads. (It may accept what bytes refuse:
		// a reader cannot check a FRAME length against what is still to
		// come; and an empty input is io.EOF.)
		dec := unpickler.NewDecoder(&slowReader{r: bytes.NewReader(data), n: 3}, fuzzLimits...)
		var v3 any
		err3 := dec.Decode(&v3)
		if err3 == io.EOF {
			if len(data) != 0 {
				t.Fatalf("reader: io.EOF for %d bytes", len(data))
			}
			return
		}
		if msg := internalError(err3); msg != "" {
			t.Fatalf("reader: %s", msg)
		}
		if err == nil {
			if err3 != nil {
				t.Fatalf("bytes decode, reader fails: %v", err3)
			}
			if d := valueDiff(v, v3); d != "" {
				t.Fatalf("bytes and reader decode differently: %s", d)
			}
		}
	})
}

// sameOutcome: both decoded to equal values, or both failed with the same
// cause.
func sameOutcome(v1 any, err1 error, v2 any, err2 error) string {
	switch {
	case err1 == nil && err2 == nil:
		return valueDiff(v1, v2)
	case err1 == nil || err2 == nil:
		return fmt.Sprintf("errors %v vs %v", err1, err2)
	}
	if c1, c2 := errors.Unwrap(err1), errors.Unwrap(err2); c1 != c2 {
		return fmt.Sprintf("causes differ: %v vs %v", err1, err2)
	}
	return ""
}

// FuzzRoundTrip: whatever decodes re-encodes at every protocol that can
// write it (a refusal is a typed error; at protocol 5 only a depth limit)
// and decodes back to an equal value, identity included.
func FuzzRoundTrip(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxSlowInput {
			return // six encodes and decodes of a large seed take seconds
		}
		v, err := unpickler.Load(data, fuzzLimits...)
		if msg := internalError(err); msg != "" {
			t.Fatal(msg)
		}
		if err != nil {
			return
		}
		for proto := 0; proto <= 5; proto++ {
			out, err := pickler.Marshal(v, pickler.Protocol(proto), pickler.MaxDepth(4000))
			if msg := internalError(err); msg != "" {
				t.Fatalf("protocol %d: %s", proto, msg)
			}
			if err != nil {
				if proto == 5 && !strings.Contains(err.Error(), "deep") {
					t.Fatalf("protocol 5 cannot write what decoded: %v", err)
				}
				continue // e.g. an out-of-band buffer below protocol 5
			}
			v2, err := unpickler.Load(out, fuzzLimits...)
			if err != nil {
				t.Fatalf("protocol %d: our own output does not decode: %v\n%q", proto, err, out)
			}
			if d := valueDiff(v, v2); d != "" {
				t.Fatalf("protocol %d: decode(encode(v)) differs from v: %s\n%q", proto, d, out)
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

// FuzzCPython: what the Go decoder reads, CPython reads as the same object.
// The Go value is re-encoded (at a protocol picked from the input) and a
// long-lived python3 helper compares pickle.loads of the input with
// pickle.loads of the re-encoding, identity included. Inputs CPython
// refuses, or that name globals beyond a few safe builtins, are skipped by
// the helper (it never runs code from a pickle).
func FuzzCPython(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxSlowInput {
			return
		}
		v, err := unpickler.Load(data, fuzzLimits...)
		if msg := internalError(err); msg != "" {
			t.Fatal(msg)
		}
		if err != nil {
			return
		}
		proto := 5
		if len(data) > 0 {
			proto = int(data[len(data)/2]) % 6
		}
		out, err := pickler.Marshal(v, pickler.Protocol(proto), pickler.MaxDepth(4000))
		if err != nil {
			proto = 5
			out, err = pickler.Marshal(v, pickler.Protocol(proto), pickler.MaxDepth(4000))
		}
		if msg := internalError(err); msg != "" {
			t.Fatal(msg)
		}
		if err != nil {
			return // too deep for the pickler: FuzzRoundTrip checks the rest
		}
		res := cpython(t, cpyRequest{A: data, B: out})
		switch res.Status {
		case "equal", "refused":
		default:
			t.Fatalf("Go and CPython disagree (%s): %s\ninput %q\nGo's protocol-%d re-encoding %q", res.Status, res.Msg, data, proto, out)
		}
	})
}
