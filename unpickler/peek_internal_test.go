package unpickler

import (
	"testing"

	op "github.com/segpickle/segpickle/internal/opcode"
)

func TestPeekBatch(t *testing.T) {
	cases := []struct {
		name string
		w    string // after EMPTY_LIST or EMPTY_DICT
		end  byte
		n    int
		ok   bool
	}{
		{"list of memo refs", "\x94(h\x07h\x08e", op.Appends, 2, true},
		{"list, BINPUT", "q\x01(K\x01\x8c\x02ab\x94G\x00\x00\x00\x00\x00\x00\x00\x00Ne", op.Appends, 4, true},
		{"message dict", "\x94(h\x02K\x01h\x03\x8c\x05user1\x94h\x05]\x94(h\x07h\x08eh\x09G\x3f\xc2\x49\x24\x92\x49\x24\x92h\x0a\x89h\x0bNh\x0cK\x01J\xff\xff\xff\xff\x86\x94u", op.Setitems, 14, true},
		{"nested tuple by MARK", "(K\x01(K\x02K\x03tK\x04e", op.Appends, 3, true},
		{"TUPLE3 at the top", "(K\x01K\x02K\x03\x87e", op.Appends, 1, true},
		{"wrong end", "(K\x01u", op.Appends, 0, false},
		{"no MARK", "K\x01e", op.Appends, 0, false},
		{"unknown opcode", "(K\x01c__main__\nX\ne", op.Appends, 0, false},
		{"cut short", "(K\x01K", op.Appends, 0, false},
		{"tuple below the mark", "(\x86e", op.Appends, 0, false},
	}
	for _, c := range cases {
		n, ok := peekBatch([]byte(c.w), c.end)
		if n != c.n || ok != c.ok {
			t.Errorf("%s: got %d, %v; want %d, %v", c.name, n, ok, c.n, c.ok)
		}
	}
	// A batch longer than peekLimit opcodes is not counted.
	long := "("
	for range peekLimit {
		long += "K\x01"
	}
	if _, ok := peekBatch([]byte(long+"e"), op.Appends); ok {
		t.Error("a batch over peekLimit opcodes was counted")
	}
}
