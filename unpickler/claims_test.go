package unpickler_test

import (
	"bytes"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

// "Shared and self-referencing lists stay shared": CPython's pickles of
// l = [1]; [l, l] and of a list that contains itself (protocols 2 and 5),
// and of a dict holding a list that holds the dict (protocol 0).
func TestSharedListsStayShared(t *testing.T) {
	for _, data := range []string{
		"\x80\x02]q\x00(]q\x01K\x01ah\x01e.",
		"\x80\x05\x95\x0c\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94K\x01ah\x01e.",
	} {
		v, err := unpickler.Load([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		l := v.([]any)
		a, b := l[0].([]any), l[1].([]any)
		if len(a) != 1 || &a[0] != &b[0] {
			t.Fatalf("%q: [l, l] decoded as two lists", data)
		}
	}
	for _, data := range []string{"\x80\x02]q\x00h\x00a.", "\x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00]\x94h\x00a."} {
		v, err := unpickler.Load([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		l := v.([]any)
		inner := l[0].([]any)
		if len(l) != 1 || &inner[0] != &l[0] {
			t.Fatalf("%q: a list containing itself decoded as %#v", data, v)
		}
	}
	v, err := unpickler.Load([]byte("(dp0\nVself\np1\n(lp2\ng0\nas."))
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*py.Dict)
	self, _ := d.Get("self")
	if self.([]any)[0] != any(d) {
		t.Fatalf("the dict's list does not hold the dict")
	}
}

// "UnmarshalSegments: segments, never joined": a pickle of sixteen 256 KiB
// payloads held as the pickler's segment list (each payload a segment of
// its own) decodes having allocated less than 1.5 times the payloads it
// copies; joining the 4 MiB first would allocate at least twice.
func TestSegmentsNeverJoined(t *testing.T) {
	payloads, segs := sixteenPayloads(t)
	var v any
	var err error
	got := allocated(func() { err = unpickler.UnmarshalSegments(segs, &v) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d segments of 4 MiB: %d bytes allocated", len(segs), got)
	if got > 6<<20 {
		t.Fatalf("decoding 4 MiB of segments allocated %d bytes", got)
	}
	if d := valueDiff(payloads, v); d != "" {
		t.Fatal(d)
	}
}

func sixteenPayloads(t *testing.T) ([]any, [][]byte) {
	var payloads []any
	for i := 0; i < 16; i++ {
		payloads = append(payloads, bytes.Repeat([]byte{byte('a' + i)}, 256<<10))
	}
	var l segments.List
	if err := pickler.EncodeTo(&l, payloads); err != nil {
		t.Fatal(err)
	}
	segs := l.Segments()
	if len(segs) < 16 {
		t.Fatalf("the pickler wrote %d segments, want each payload referenced", len(segs))
	}
	return payloads, segs
}

// With ZeroCopy, a payload that is a segment of its own is that segment
// (UnmarshalSegments' doc: "payloads inside one segment are sliced (or,
// with ZeroCopy, aliased)").
func TestSegmentsZeroCopyAliases(t *testing.T) {
	payloads, segs := sixteenPayloads(t)
	var v any
	var err error
	got := allocated(func() { err = unpickler.UnmarshalSegments(segs, &v, unpickler.ZeroCopy(true)) })
	if err != nil {
		t.Fatal(err)
	}
	copied := 0
	for i, p := range v.([]any) {
		if b := p.([]byte); &b[0] != &payloads[i].([]byte)[0] {
			copied++
		}
	}
	if copied > 0 || got > 64<<10 {
		t.Fatalf("%d of 16 payloads copied with ZeroCopy, %d bytes allocated", copied, got)
	}
}

// Zero copy: without ZeroCopy nothing decoded aliases the input (changing
// the input afterwards changes no value); with it, bytes (protocols 3+) and
// protocol 5's BYTEARRAY8 bytearrays do, from bytes or segments.
func TestZeroCopyAliasing(t *testing.T) {
	for proto := 0; proto <= 5; proto++ {
		data, err := pickler.Marshal([]any{py.ByteArray(bytes.Repeat([]byte("q"), 5000)), bytes.Repeat([]byte("r"), 5000)}, pickler.Protocol(proto))
		if err != nil {
			t.Fatal(err)
		}
		for _, zero := range []bool{false, true} {
			inputs := map[string]func() (any, error){
				"bytes": func() (any, error) { return unpickler.Load(data, unpickler.ZeroCopy(zero)) },
				"segments": func() (any, error) {
					var v any
					// (split before the payloads: one straddling two
					// segments is gathered, a copy)
					err := unpickler.UnmarshalSegments([][]byte{data[:2], data[2:]}, &v, unpickler.ZeroCopy(zero))
					return v, err
				},
			}
			for name, load := range inputs {
				orig := append([]byte(nil), data...)
				v, err := load()
				if err != nil {
					t.Fatal(err)
				}
				for i := range data {
					data[i] = 'Z'
				}
				ba := v.([]any)[0].(py.ByteArray)
				b := v.([]any)[1].([]byte)
				baAliased, bAliased := ba[0] == 'Z', b[0] == 'Z'
				copy(data, orig)
				if !zero && (baAliased || bAliased) {
					t.Fatalf("protocol %d, %s: without ZeroCopy a value aliases the input (bytearray %v, bytes %v)", proto, name, baAliased, bAliased)
				}
				if zero && proto >= 3 && !bAliased {
					t.Fatalf("protocol %d, %s: ZeroCopy bytes did not alias the input", proto, name)
				}
				if zero && proto == 5 && !baAliased {
					t.Fatalf("protocol 5, %s: ZeroCopy BYTEARRAY8 did not alias the input", name)
				}
			}
		}
	}
}
