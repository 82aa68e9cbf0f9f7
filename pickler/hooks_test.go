package pickler_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// byProtocol pickles as bytes below protocol 5 and as a PickleBuffer at 5.
type byProtocol []byte

func (b byProtocol) MarshalPickle() (any, error) { return []byte("wrong"), nil }

func (b byProtocol) MarshalPickleProtocol(p int) (any, error) {
	if p >= 5 {
		return py.PickleBuffer{Data: b}, nil
	}
	return []byte(b), nil
}

func TestProtocolMarshaler(t *testing.T) {
	for _, tc := range []struct {
		proto int
		want  string
	}{
		{3, "\x80\x03C\x02abq\x00."},
		{4, "\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00C\x02ab\x94."},
		{5, "\x80\x05\x95\r\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00ab\x94."},
	} {
		got, err := pickler.Marshal(byProtocol("ab"), pickler.Protocol(tc.proto))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("protocol %d: %q, want %q", tc.proto, got, tc.want)
		}
	}
}

// TestGlobalModuleMemo: at protocols 4 and 5 a second global from the same
// module refers to the first one's module str (CPython interns module
// names), as pickle.dumps([datetime(2020, 1, 1, tzinfo=timezone.utc)], 4)
// writes it.
func TestGlobalModuleMemo(t *testing.T) {
	want := "\x80\x04\x95Z\x00\x00\x00\x00\x00\x00\x00]\x94\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\n\x07\xe4\x01\x01\x00\x00\x00\x00\x00\x00\x94h\x01\x8c\x08timezone\x94\x93\x94h\x01\x8c\ttimedelta\x94\x93\x94K\x00K\x00K\x00\x87\x94R\x94\x85\x94R\x94\x86\x94R\x94a."
	got, err := pickler.Marshal([]any{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, pickler.Protocol(4))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

type ptrMarshaler struct{ v int }

func (p ptrMarshaler) MarshalPickle() (any, error) { return p.v, nil }

// TestNilMarshalerIsNone: a nil pointer to a type with value-receiver
// marshal methods pickles as None, directly as through reflection.
func TestNilMarshalerIsNone(t *testing.T) {
	var p *ptrMarshaler
	for _, v := range []any{p, []any{p}, struct{ P *ptrMarshaler }{}} {
		b, err := pickler.Marshal(v, pickler.Protocol(2))
		if err != nil || !bytes.Contains(b, []byte{'N'}) {
			t.Errorf("%T: %q %v", v, b, err)
		}
	}
}
