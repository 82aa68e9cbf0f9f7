package unpickler

import (
	"bytes"
	"testing"

	"github.com/segpickle/segpickle/py"
)

// TestMarkOverMarkUnderflows: APPENDS or SETITEMS whose container lies
// under an earlier MARK is a stack underflow, as CPython says ("unexpected
// MARK found"), however the input is read: the list and dict fast paths
// started at the second MARK took the container as theirs, so Load gave
// [] while a Decoder reading a byte at a time failed (and a typed Decoder
// disagreed with its dynamic path, FuzzTypedAgrees 68e6f4562b0fa7e1).
func TestMarkOverMarkUnderflows(t *testing.T) {
	for _, s := range []string{"]((e1.", "](1((e1.", "]((e0.", "](((e11.", "}((u1.", "}(1((u1.",
		"\x80\x05]((K\x01e1.", "\x80\x05}((X\x01\x00\x00\x00aK\x01u1."} {
		data := []byte(s)
		if v, err := Load(data); err == nil {
			t.Errorf("%q: Load gave %v, want an error", s, v)
		}
		var l []int64
		if err := Unmarshal(data, &l); err == nil {
			t.Errorf("%q: Unmarshal into []int64 gave %v, want an error", s, l)
		}
		var mp map[string]int64
		if err := Unmarshal(data, &mp); err == nil {
			t.Errorf("%q: Unmarshal into map gave %v, want an error", s, mp)
		}
		for _, n := range []int{1, 2, 3, 100} {
			var v any
			if err := NewDecoder(&chunkReader{bytes.NewReader(data), n}).Decode(&v); err == nil {
				t.Errorf("%q: Decoder over reads of %d gave %v, want an error", s, n, v)
			}
		}
	}
}

// TestMarkOverMarkValid: a MARK over a MARK whose items are consumed by
// their own opcode first is valid (CPython: [(1,), 2], {('a',): []},
// [(1, 2), 3], {'k': [(1,)]}) and decodes the same however it is read.
func TestMarkOverMarkValid(t *testing.T) {
	want := []string{"[(1,), 2]", "{('a',): []}", "[(1, 2), 3]", "{'k': [(1,)]}"}
	for i, s := range []string{"]((K\x01tK\x02e.", "}((X\x01\x00\x00\x00at]u.", "]((K\x01K\x02tK\x03e.", "}(X\x01\x00\x00\x00k((K\x01tlu."} {
		v, err := Load([]byte(s))
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got := py.Repr(v); got != want[i] {
			t.Fatalf("%q: Load gave %s, want %s", s, got, want[i])
		}
		for _, n := range []int{1, 2, 3} {
			var d any
			if err := NewDecoder(&chunkReader{bytes.NewReader([]byte(s)), n}).Decode(&d); err != nil || py.Repr(d) != want[i] {
				t.Fatalf("%q: Decoder over reads of %d: %v %v", s, n, d, err)
			}
		}
	}
}
