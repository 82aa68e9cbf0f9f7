package unpickler

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// Every proper prefix of a pickle is ErrTruncated, whether it is decoded
// from bytes (which know where a frame ends) or read by a Decoder (which
// sees the stream end); input ending between opcodes is ErrNoStop as well.
func TestTruncatedIsErrTruncatedBothWays(t *testing.T) {
	pickles := map[string]string{
		"framed p5":   "\x80\x05\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.",
		"protocol 2":  "\x80\x02]q\x00(K\x01X\x01\x00\x00\x00xq\x01e.",
		"protocol 0":  "(lp0\nI1\naVx\np1\na.",
		"long binary": "\x80\x04\x8a\t\x00\x00\x00\x00\x00\x00\x00\x00\x01.",
	}
	for name, p := range pickles {
		for i := 1; i < len(p); i++ {
			var v any
			e1 := Unmarshal([]byte(p[:i]), &v)
			e2 := NewDecoder(bytes.NewReader([]byte(p[:i]))).Decode(&v)
			for which, err := range map[string]error{"Unmarshal": e1, "Decoder": e2} {
				if !errors.Is(err, ErrTruncated) {
					t.Errorf("%s, prefix %d, %s: %v, want ErrTruncated", name, i, which, err)
				}
			}
		}
	}
	var v any
	if err := NewDecoder(bytes.NewReader(nil)).Decode(&v); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
	// Between opcodes: ErrNoStop, and also ErrTruncated.
	err := Unmarshal([]byte("\x80\x05K\x01"), &v)
	if !errors.Is(err, ErrNoStop) || !errors.Is(err, ErrTruncated) {
		t.Errorf("no STOP: %v", err)
	}
	// Inside an opcode: ErrTruncated only.
	err = Unmarshal([]byte("\x80\x05J\x01"), &v)
	if errors.Is(err, ErrNoStop) || !errors.Is(err, ErrTruncated) {
		t.Errorf("inside an opcode: %v", err)
	}
}
