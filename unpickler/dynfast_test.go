package unpickler_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// shortStr is SHORT_BINUNICODE s.
func shortStr(s string) string { return "\x8c" + string(rune(len(s))) + s }

// The dynamic loops keep a list's memoized items as runs over its slots;
// a batch they give back to the machine midway (here at a nested list)
// must leave those memo entries readable, with the right values.
func TestFastBoxMemoRunGivenBack(t *testing.T) {
	p := "\x80\x04]\x94("
	var want []any
	for i := range 100 { // a first batch long enough to go into the box directly
		p += "K" + string(rune(i))
		want = append(want, int64(i))
	}
	p += "e("
	for i := range 5 {
		s := fmt.Sprintf("s%d", i)
		p += shortStr(s) + "\x94" // memo 1 … 5
		want = append(want, s)
	}
	p += "]\x94" // a nested list (memo 6): the loop gives the batch back
	want = append(want, []any{})
	p += "h\x01h\x05h\x03e" // references to the entries the loop had made
	want = append(want, "s0", "s4", "s2")
	p += "(h\x02h\x04e." // and after the machine's APPENDS
	want = append(want, "s1", "s3")
	v, err := unpickler.Load([]byte(p))
	if err != nil {
		t.Fatal(err)
	}
	if d := valueDiff(v, want); d != "" {
		t.Fatalf("differs at %s: %#v", d, v)
	}
}

// A str decoded without a header of its own (strBox) reads back as the
// same str, short or long, in a list, a dict and on its own, and survives
// a collection.
func TestStrBoxes(t *testing.T) {
	long := string(make([]byte, 300))
	for _, s := range []string{"", "a", "héllo", "exactly16bytes!!", long} {
		var p []byte
		p = append(p, "\x80\x04]\x94(X"...)
		p = binary.LittleEndian.AppendUint32(p, uint32(len(s)))
		p = append(p, s...)
		p = append(p, "\x94}\x94(X"...)
		p = binary.LittleEndian.AppendUint32(p, uint32(len(s)))
		p = append(p, s...)
		p = append(p, "h\x01ue."...)
		v, err := unpickler.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		l := v.([]any)
		if l[0].(string) != s {
			t.Fatalf("%q: list item %q", s, l[0])
		}
		if got, ok := l[1].(*py.Dict).Get(s); !ok || got.(string) != s {
			t.Fatalf("%q: dict value %q", s, got)
		}
	}
}
