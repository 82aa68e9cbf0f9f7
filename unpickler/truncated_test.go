package unpickler

import (
	"bytes"
	"errors"
	"io"
	"strings"
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
		// The dynamic batch loops (dynfast.go) stop at every prefix too.
		"dict batch p2": "\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01K\x02eX\x01\x00\x00\x00bq\x03K\x01K\x02\x86q\x04u.",
		"messages p5":   "\x80\x05\x95\x9c\x00\x00\x00\x00\x00\x00\x00]\x94(}\x94(\x8c\x02id\x94K\x00\x8c\x04name\x94\x8c\x05user0\x94\x8c\x04tags\x94]\x94(\x8c\x03red\x94\x8c\x04blue\x94e\x8c\x05score\x94G\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x02ok\x94\x88\x8c\x06parent\x94N\x8c\x03pos\x94K\x00K\x00\x86\x94u}\x94(h\x02K\x01h\x03\x8c\x05user1\x94h\x05]\x94(h\x07h\x08eh\x09G?\xc2I$\x92I$\x92h\x0a\x89h\x0bNh\x0cK\x01J\xff\xff\xff\xff\x86\x94ue.",
		"list batch p5": "\x80\x05]\x94(\x8c\x01a\x94\x8c\x01b\x94h\x01K\x01e.",
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

// An overflow names the value, as encoding/json's "number 300" does.
func TestOverflowErrorNamesTheValue(t *testing.T) {
	var s struct{ A int8 }
	for _, tt := range []struct {
		name   string
		pickle string
		target any
		want   string
	}{
		{"int8", "\x80\x05}\x8c\x01A\x4d\x2c\x01s.", &s, "cannot unmarshal Python int 300 into Go int8 at .A"},
		{"uint negative", "\x80\x05J\xff\xff\xff\xff.", new(uint), "Python int -1 into Go uint"},
		{"uint64 big", "\x80\x05\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", new(uint64), "Python int 18446744073709551616 into Go uint64"},
		{"float32", "\x80\x05G\x7f\xef\xff\xff\xff\xff\xff\xff.", new(float32), "Python float 1.7976931348623157e+308 into Go float32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal([]byte(tt.pickle), tt.target)
			var te *UnmarshalTypeError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an *UnmarshalTypeError saying %q", err, tt.want)
			}
		})
	}
}
