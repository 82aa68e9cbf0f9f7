package unpickler

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/segpickle/segpickle/internal/stream"
	"github.com/segpickle/segpickle/py"
)

// tMsg is the benchmark's message with a second slice kind.
type tMsg struct {
	ID     int64    `pickle:"id"`
	Name   string   `pickle:"name"`
	Tags   []string `pickle:"tags"`
	Score  float64  `pickle:"score"`
	OK     bool     `pickle:"ok"`
	Parent *int64   `pickle:"parent"`
	Pos    [2]int64 `pickle:"pos"`
	Ns     []int    `pickle:"ns"`
}

func msgValue(i int) *py.Dict {
	return py.DictOf("id", int64(i), "name", "user"+strconv.Itoa(i), "tags", []any{"red", "blue"},
		"score", float64(i)/7, "ok", i%2 == 0, "parent", nil, "pos", py.Tuple{int64(i), int64(-i)},
		"ns", []any{int64(i)})
}

func msgList(n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = msgValue(i)
	}
	return l
}

// referenceOpts is reference with options.
func referenceOpts(data []byte, v any, opts ...Option) error {
	val, err := Load(data, opts...)
	if err != nil {
		return err
	}
	c := newConfig(opts)
	return assign(val, v, &c)
}

// TestInlineStructs: lists of dicts into []struct, read in line
// (inline.go), give what the general path gives at every protocol —
// with values shared through the memo (a dict, a list, a str read back by
// a GET, here or after the list) and shapes it gives back to the machine.
func TestInlineStructs(t *testing.T) {
	shared := msgList(5)
	sharedTags := []any{"x", "y"}
	for _, d := range shared[1:3] {
		d.(*py.Dict).Set("tags", sharedTags) // a GET as a value: the machine's
	}
	shared = append(shared, shared[0], shared[4]) // GETs of whole dicts
	named := msgList(4)
	named[2].(*py.Dict).Set("name", "user1") // equal strs (the pickler memoizes strs by value)
	odd := msgList(6)
	odd[1].(*py.Dict).Set("ID", int64(7))          // a field matched case-insensitively
	odd[2].(*py.Dict).Set("extra", int64(1))       // no such field
	odd[3].(*py.Dict).Set("tags", []any{int64(1)}) // a value of another kind: an error, both ways
	odd[4].(*py.Dict).Set("ns", []any{})
	odd[5] = py.NewDict(0)
	one := []any{py.DictOf("id", int64(3)), py.DictOf("tags", []any{"a"}), py.DictOf("ns", []any{int64(1), int64(2)})}
	// tags of new strs (memoized in the list, read back by later GETs),
	// of 0, 1, 1000, 1001 and 2500 items, and of long strs (BINUNICODE)
	tagged := msgList(12)
	ts, us := make([]any, 12), make([]any, 12) // one string each: the pickler GETs it again
	for i := range ts {
		ts[i], us[i] = "t"+strconv.Itoa(i), "u"+strconv.Itoa(i)
	}
	for i, d := range tagged {
		var tags []any
		switch i {
		case 3:
		case 4:
			tags = []any{"only"}
		case 5, 6, 7:
			for k := range []int{1000, 1001, 2500}[i-5] {
				tags = append(tags, "k"+strconv.Itoa(k%1500))
			}
		case 8:
			tags = []any{strings.Repeat("L", 300), "t1", strings.Repeat("é", 200)}
		default:
			tags = []any{ts[i], us[i], ts[i/2], us[i/2]}
		}
		d.(*py.Dict).Set("tags", tags)
	}
	cases := []struct {
		name   string
		val    any
		noFall bool
	}{
		{"messages", msgList(3000), true},
		{"shared", shared, true},
		{"equal strs", named, true},
		{"odd shapes", odd, false},
		{"one item each", one, true},
		{"tag strs", tagged, true},
	}
	for _, c := range cases {
		for proto := 0; proto <= 5; proto++ {
			data := mustPickle(t, c.val, proto)
			var want, got []tMsg
			errWant := reference(data, &want)
			before := typedFallbacks.Load()
			errGot := Unmarshal(data, &got)
			if (errWant == nil) != (errGot == nil) || (errWant != nil && errWant.Error() != errGot.Error()) {
				t.Fatalf("%s p%d: errors differ: %v / %v", c.name, proto, errWant, errGot)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s p%d: typed and general differ", c.name, proto)
			}
			if c.noFall && proto >= 1 && typedFallbacks.Load() != before {
				t.Fatalf("%s p%d: the typed path gave way", c.name, proto)
			}
		}
	}
}

// TestInlineMemo: entries that dicts read in line keep in memo runs are
// read back by GETs after the list (a whole dict, a str, a list, a tuple),
// and an entry overwritten by PUT reads as the new value.
func TestInlineMemo(t *testing.T) {
	type out struct {
		L   []tMsg     `pickle:"l"`
		D   tMsg       `pickle:"d"`
		S   string     `pickle:"s"`
		T   []string   `pickle:"t"`
		P   [2]int64   `pickle:"p"`
		Any any        `pickle:"any"`
		All [][]string `pickle:"all"`
	}
	// Protocol 2 style, hand-made: three messages, then GETs of their
	// entries. Memo: 0 outer dict, 1 "l", 2 list, 3 msg0, 4 "name", 5 "n0",
	// 6 "tags", 7 tags0, 8 "pos", 9 pos0; msg1 10–13 and msg2 14–17 (dict,
	// name, tags, pos: a run of two).
	b := "\x80\x04}q\x00(X\x01\x00\x00\x00lq\x01]q\x02(" +
		"}q\x03(X\x04\x00\x00\x00nameq\x04X\x02\x00\x00\x00n0q\x05X\x04\x00\x00\x00tagsq\x06]q\x07(h\x05h\x04e" +
		"X\x03\x00\x00\x00posq\x08K\x01K\x02\x86q\x09u" +
		"}q\x0a(h\x04X\x02\x00\x00\x00n1q\x0bh\x06]q\x0c(h\x05h\x05eh\x08K\x03K\x04\x86q\x0du" +
		"}q\x0e(h\x04X\x02\x00\x00\x00n2q\x0fh\x06]q\x10h\x0bah\x08K\x05K\x06\x86q\x11u" +
		"e"
	tail := map[string]string{
		"gets": "X\x01\x00\x00\x00dh\x0eX\x01\x00\x00\x00sh\x0bX\x01\x00\x00\x00th\x10X\x01\x00\x00\x00ph\x11" +
			"X\x03\x00\x00\x00anyh\x0dX\x03\x00\x00\x00all]q\x12(h\x07h\x0ceu.",
		"overwrite": "X\x01\x00\x00\x00zq\x0b0X\x01\x00\x00\x00sh\x0bu.",
		"to any":    "X\x03\x00\x00\x00anyh\x0eu.",
	}
	// The two messages after the first are one run of 8 entries.
	c := newConfig(nil)
	var l out
	m := machine{src: stream.Bytes([]byte(b + tail["gets"])), cfg: &c}
	if err := unmarshalTyped(&m, reflect.TypeFor[out](), unsafe.Pointer(&l)); err != nil {
		t.Fatal(err)
	}
	if len(m.runs) != 1 || m.runs[0].pat == nil || m.runs[0].lo != 10 || m.runs[0].n != 8 {
		t.Fatalf("runs: %+v", m.runs)
	}
	for name, tl := range tail {
		data := []byte(b + tl)
		var want, got out
		errWant := reference(data, &want)
		errGot := Unmarshal(data, &got)
		if errWant != nil || errGot != nil {
			t.Fatalf("%s: %v / %v", name, errWant, errGot)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%s:\n general %#v\n typed   %#v", name, want, got)
		}
		if len(got.L) != 3 || got.L[1].Name != "n1" || !reflect.DeepEqual(got.L[1].Tags, []string{"n0", "n0"}) ||
			!reflect.DeepEqual(got.L[2].Tags, []string{"n1"}) {
			t.Fatalf("%s: %#v", name, got.L)
		}
		switch name {
		case "gets":
			if got.D.Name != "n2" || got.S != "n1" || got.P != [2]int64{5, 6} || len(got.All) != 2 ||
				!reflect.DeepEqual(got.T, []string{"n1"}) || !reflect.DeepEqual(got.Any, py.Tuple{int64(3), int64(4)}) {
				t.Fatalf("gets: %#v", got)
			}
		case "overwrite":
			if got.S != "z" {
				t.Fatalf("overwrite: s = %q", got.S)
			}
		}
	}
}

// TestInlineLimits: with tight limits the typed path fails (or not)
// exactly as the general path does.
func TestInlineLimits(t *testing.T) {
	data := mustPickle(t, msgList(50), 5)
	for _, opts := range [][]Option{
		{MaxMemo(10)}, {MaxMemo(60)}, {MaxDepth(1)}, {MaxDepth(2)}, {MaxDepth(3)},
		{MaxAlloc(100)}, {MaxLength(3)},
	} {
		var want, got []tMsg
		errWant := referenceOpts(data, &want, opts...)
		errGot := Unmarshal(data, &got, opts...)
		if (errWant == nil) != (errGot == nil) || (errWant != nil && errWant.Error() != errGot.Error()) {
			t.Fatalf("%v: errors differ: %v / %v", opts, errWant, errGot)
		}
		if errWant == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("%v: values differ", opts)
		}
	}
}

// TestInlineFrames: CPython starts a FRAME before a value once 64 KiB are
// written, so frames fall inside dicts; they are read through.
func TestInlineFrames(t *testing.T) {
	l := msgList(2000)
	for i := range l {
		l[i].(*py.Dict).Set("name", strings.Repeat("n", i%97))
	}
	data := mustPickle(t, l, 5)
	var want, got []tMsg
	if err := reference(data, &want); err != nil {
		t.Fatal(err)
	}
	before := typedFallbacks.Load()
	if err := Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) || typedFallbacks.Load() != before {
		t.Fatal("typed and general differ, or the typed path gave way")
	}
}

// TestTypedStrs: strs of every short length, ASCII or not, into a
// []string through fastStrs's word-wise check and copy (and the ones it
// leaves to the general loop) at every protocol; a str that is not UTF-8
// is the same error both ways.
func TestTypedStrs(t *testing.T) {
	var l []any
	for n := range 40 {
		l = append(l, strings.Repeat("a", n), strings.Repeat("é", n/2)+strings.Repeat("b", n%2), "x"+strings.Repeat("€", n/3))
	}
	for i := range 3000 {
		l = append(l, "s"+strconv.Itoa(i))
	}
	for proto := 0; proto <= 5; proto++ {
		data := mustPickle(t, l, proto)
		var want, got []string
		errWant, errGot := reference(data, &want), Unmarshal(data, &got)
		if errWant != nil || errGot != nil || !reflect.DeepEqual(want, got) {
			t.Fatalf("p%d: %v / %v", proto, errWant, errGot)
		}
	}
	bad := []byte("\x80\x04]\x94(\x8c\x02ab\x94\x8c\x03a\xffb\x94\x8c\x02cd\x94e.")
	var want, got []string
	errWant, errGot := reference(bad, &want), Unmarshal(bad, &got)
	if errWant == nil || errGot == nil || errWant.Error() != errGot.Error() {
		t.Fatalf("not UTF-8: %v / %v", errWant, errGot)
	}
}

// TestTypedStrFloatMap: keys of every short length, ASCII or not, and
// values that are floats or ints, into a map[string]float64 through
// fastKeyFloats (and the general loop for what it leaves), at every
// protocol.
func TestTypedStrFloatMap(t *testing.T) {
	d := py.NewDict(0)
	for n := range 3000 {
		k := strings.Repeat("k", n%20) + strconv.Itoa(n)
		if n%7 == 0 {
			k = "é" + k
		}
		var v any = float64(n) / 3
		if n%5 == 0 {
			v = int64(n)
		}
		d.Set(k, v)
	}
	for proto := 0; proto <= 5; proto++ {
		data := mustPickle(t, d, proto)
		var want, got map[string]float64
		errWant, errGot := reference(data, &want), Unmarshal(data, &got)
		if errWant != nil || errGot != nil || len(got) != 3000 || !reflect.DeepEqual(want, got) {
			t.Fatalf("p%d: %v / %v, %d keys", proto, errWant, errGot, len(got))
		}
	}
}

// TestInlineSegments: a pickle held in segments ends the in-line loops'
// window at every segment's end; split anywhere, the typed result is the
// same as from one piece.
func TestInlineSegments(t *testing.T) {
	data := mustPickle(t, msgList(300), 5)
	var want []tMsg
	if err := Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 7, 100, 4096} {
		var segs [][]byte
		for b := data; len(b) > 0; {
			n := min(size, len(b))
			segs = append(segs, b[:n])
			b = b[n:]
		}
		var got []tMsg
		if err := UnmarshalSegments(segs, &got); err != nil {
			t.Fatalf("segments of %d: %v", size, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("segments of %d: values differ", size)
		}
	}
	for _, typed := range []any{new([]string), new(map[string]float64), new([]int64)} {
		var val any
		switch typed.(type) {
		case *[]string:
			val = []any{"a", "bb", "ccc", "é", strings.Repeat("d", 20)}
		case *map[string]float64:
			val = py.DictOf("k1", 1.5, "k22", 2.5, "é", 3.5)
		default:
			val = []any{int64(1), int64(300), int64(70000), int64(-5)}
		}
		data := mustPickle(t, val, 5)
		for _, size := range []int{1, 3, 5} {
			var segs [][]byte
			for b := data; len(b) > 0; {
				n := min(size, len(b))
				segs = append(segs, b[:n])
				b = b[n:]
			}
			got := reflect.New(reflect.TypeOf(typed).Elem())
			want := reflect.New(reflect.TypeOf(typed).Elem())
			if err := Unmarshal(data, want.Interface()); err != nil {
				t.Fatal(err)
			}
			if err := UnmarshalSegments(segs, got.Interface()); err != nil || !reflect.DeepEqual(want.Interface(), got.Interface()) {
				t.Fatalf("%T in segments of %d: %v", typed, size, err)
			}
		}
	}
}

// TestMemoOpAtWindowEnd: a batch loop that reaches the end of its window
// where a memo opcode may come hands back to the machine, which says the
// input ended (CPython: EOFError), not an internal error.
func TestMemoOpAtWindowEnd(t *testing.T) {
	for _, s := range []string{
		"\x80\x01}q\x00(X\x01\x00\x00\x00aq\x01]",
		"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]",
		"\x80\x04}\x94(\x8c\x01a\x94]",
		"\x80\x04]\x94(\x8c\x01a",
	} {
		_, err := Load([]byte(s))
		var e *Error
		if !errors.As(err, &e) || e.Err != ErrNoStop {
			t.Errorf("%q: %v, want ErrNoStop", s, err)
		}
	}
}

// TestInlineKeyOverwritten: a key read by a GET names the field the memo
// entry names now, after a PUT has put another str there (specKey's
// keyHit cache of the field a GET's str named last must not answer).
func TestInlineKeyOverwritten(t *testing.T) {
	type ab struct {
		A string `pickle:"a"`
		B string `pickle:"b"`
	}
	// [{'a': 'x', 'b': 'y'}, {'a': 'b' (PUT 1: memo 1 is 'b' now)},
	//  {GET 1 ('b'): 'z'}, {GET 2 ('b'): 'w', GET 1 ('b' again): 'v'}]
	data := []byte("\x80\x04]q\x00(}q\x03(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00xX\x01\x00\x00\x00bq\x02X\x01\x00\x00\x00yu" +
		"}q\x04(h\x01X\x01\x00\x00\x00bq\x01u" +
		"}q\x05(h\x01X\x01\x00\x00\x00zu" +
		"}q\x06(h\x02X\x01\x00\x00\x00wh\x01X\x01\x00\x00\x00vue.")
	var want, got []ab
	if err := reference(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	exp := []ab{{"x", "y"}, {"b", ""}, {"", "z"}, {"", "v"}}
	if !reflect.DeepEqual(want, exp) || !reflect.DeepEqual(got, exp) {
		t.Fatalf("general %q, typed %q, CPython gives %q", want, got, exp)
	}
}

// TestInlineTagStrs: strs memoized inside a []string read in line
// (specStrs) are read back by later GETs as the item they were, in a list
// and in a str field (CPython's pickle of
// [{'tags': [t0, u0]}, {'tags': [t1, u1, t0, u0]}, {'tags': [u1, t1], 'name': t2},
//
//	{'tags': [u2], 'name': u2}, {'name': u1}], each str one object).
func TestInlineTagStrs(t *testing.T) {
	data := []byte("\x80\x04\x95g\x00\x00\x00\x00\x00\x00\x00]\x94(}\x94\x8c\x04tags\x94]\x94(\x8c\x02t0\x94\x8c\x02u0\x94es}\x94h\x02]\x94(\x8c\x02t1\x94\x8c\x02u1\x94h\x04h\x05es}\x94(h\x02]\x94(h\th\x08e\x8c\x04name\x94\x8c\x02t2\x94u}\x94(h\x02]\x94\x8c\x02u2\x94ah\x0ch\x10u}\x94h\x0ch\tse.")
	var want, got []tMsg
	if err := reference(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	exp := []tMsg{{Tags: []string{"t0", "u0"}}, {Tags: []string{"t1", "u1", "t0", "u0"}},
		{Tags: []string{"u1", "t1"}, Name: "t2"}, {Tags: []string{"u2"}, Name: "u2"}, {Name: "u1"}}
	if !reflect.DeepEqual(want, exp) || !reflect.DeepEqual(got, exp) {
		t.Fatalf("general %+v\n typed %+v\n CPython gives %+v", want, got, exp)
	}
}

// TestTypedStrsUnmemoized: a str with no memo opcode among memoized ones
// ends fastStrs's memo run (the run's entries are its slots in order),
// so a later GET reads the str it names (CPython gives
// ['a', 'b', 'c', 'd', 'a', 'c', 'd']).
func TestTypedStrsUnmemoized(t *testing.T) {
	data := []byte("\x80\x04]\x94(\x8c\x01a\x94\x8c\x01b\x8c\x01c\x94\x8c\x01d\x94h\x01h\x02h\x03e.")
	exp := []string{"a", "b", "c", "d", "a", "c", "d"}
	var want, got []string
	if err := reference(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, exp) || !reflect.DeepEqual(got, exp) {
		t.Fatalf("general %q, typed %q, CPython gives %q", want, got, exp)
	}
}

// patternPickle is a protocol-4 pickle of {L: l, d10: l[10], t20: l[20]'s
// tags, d30: l[30], d39: l[39]} for a list of 40 messages laid out as CPython writes them
// (keys and the two tags memoized at their first use, GETs after), where
// message 10 has a new str among its tags, message 20 no "pos", message
// 30 one tag (EMPTY_LIST, the item, APPEND) and message 35 a tag GET
// memoized again (read back as m35).
func patternPickle() []byte { return cpyMessages(40, true) }

// cpyMessages is patternPickle's list of n messages (n > 39), alone when
// top is false.
func cpyMessages(n int, top bool) []byte {
	p := []byte("\x80\x04]\x94(")
	memo := 1
	if top {
		p = []byte("\x80\x04}\x94(\x8c\x01L\x94]\x94(")
		memo = 3
	}
	seen := map[string]int{}
	get := func(i int) {
		p = append(p, 'j', byte(i), byte(i>>8), byte(i>>16), byte(i>>24))
	}
	str := func(s string) {
		if i, ok := seen[s]; ok {
			get(i)
			return
		}
		p = append(p, shortStr(s)+"\x94"...)
		seen[s] = memo
		memo++
	}
	at := map[string]int{}
	for i := range n {
		at["d"+strconv.Itoa(i)] = memo
		p = append(p, "}\x94("...)
		memo++
		str("id")
		p = append(p, 'K', byte(i))
		str("name")
		p = append(p, shortStr("user"+strconv.Itoa(i))+"\x94"...)
		memo++
		str("tags")
		at["t"+strconv.Itoa(i)] = memo
		p = append(p, "]\x94"...)
		memo++
		switch i {
		case 10:
			p = append(p, '(')
			p = append(p, shortStr("new10")+"\x94"...)
			memo++
			str("blue")
			p = append(p, 'e')
		case 30:
			str("red")
			p = append(p, 'a')
		case 35:
			// a GET memoized again (CPython does not write it; valid)
			p = append(p, '(')
			str("red")
			p = append(p, '\x94')
			at["m35"] = memo
			memo++
			str("blue")
			p = append(p, 'e')
		default:
			p = append(p, '(')
			str("red")
			str("blue")
			p = append(p, 'e')
		}
		if i != 20 {
			str("pos")
			p = append(p, 'K', byte(i), 'K', 2, '\x86', '\x94')
			memo++
		}
		p = append(p, 'u')
	}
	p = append(p, 'e')
	if !top {
		return append(p, '.')
	}
	for _, k := range []string{"d10", "t20", "d30", "d39", "m35"} {
		p = append(p, shortStr(k)+"\x94"...)
		get(at[k])
	}
	return append(p, "u."...)
}

func shortStr(s string) string { return "\x8c" + string(rune(len(s))) + s }

// TestInlinePatternCounted: once a list of dicts repeats a memo pattern,
// each dict's entries are only counted (patMemo); dicts that leave the
// pattern part way — a new str among the tags, a key missing, a list of
// one item (tried as a batch first, then taken back), a GET of an entry
// made in the same dict — turn what was counted into entries kept aside,
// and every entry still reads back (the GETs after the list) as the
// general path has it.
func TestInlinePatternCounted(t *testing.T) {
	type out struct {
		L []tMsg
		A tMsg     `pickle:"d10"`
		B []string `pickle:"t20"`
		C tMsg     `pickle:"d30"`
		D tMsg     `pickle:"d39"`
		E string   `pickle:"m35"`
	}
	data := patternPickle()
	var want, got out
	if err := reference(data, &want); err != nil {
		t.Fatal(err)
	}
	c := newConfig(nil)
	m := machine{src: stream.Bytes(data), cfg: &c}
	if err := unmarshalTyped(&m, reflect.TypeFor[out](), unsafe.Pointer(&got)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("general %+v\n typed   %+v", want, got)
	}
	if len(got.L) != 40 || !reflect.DeepEqual(got.A, got.L[10]) || got.A.Tags[0] != "new10" ||
		!reflect.DeepEqual(got.B, got.L[20].Tags) || got.L[20].Pos != [2]int64{} ||
		!reflect.DeepEqual(got.C.Tags, []string{"red"}) || got.D.Name != "user39" || got.D.Pos != [2]int64{39, 2} || got.E != "red" {
		t.Fatalf("%+v", got)
	}
	runs := 0
	for _, r := range m.runs {
		if r.pat != nil {
			runs++
		}
	}
	if runs < 3 {
		t.Fatalf("%d pattern runs, want one after each dict that leaves the pattern", runs)
	}
	// Protocol 2 by hand: [{name: n0, alias: a0}, {name: n1, alias: a1},
	// {name: n2, alias: <GET of its own name>}, {name: n3, alias: a3}]; the
	// third is counted in the pattern when its GET comes, and is left to
	// the machine.
	type na struct {
		Name  string `pickle:"name"`
		Alias string `pickle:"alias"`
	}
	raw := []byte("\x80\x02]q\x10(" +
		"}q\x00(X\x04\x00\x00\x00nameq\x01X\x02\x00\x00\x00n0q\x02X\x05\x00\x00\x00aliasq\x03X\x02\x00\x00\x00a0q\x04u" +
		"}q\x05(h\x01X\x02\x00\x00\x00n1q\x06h\x03X\x02\x00\x00\x00a1q\x07u" +
		"}q\x08(h\x01X\x02\x00\x00\x00n2q\x09h\x03h\x09u" +
		"}q\x0a(h\x01X\x02\x00\x00\x00n3q\x0bh\x03X\x02\x00\x00\x00a3q\x0cue.")
	var wantNA, gotNA []na
	if err := reference(raw, &wantNA); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(raw, &gotNA); err != nil {
		t.Fatal(err)
	}
	exp := []na{{"n0", "a0"}, {"n1", "a1"}, {"n2", "n2"}, {"n3", "a3"}}
	if !reflect.DeepEqual(wantNA, exp) || !reflect.DeepEqual(gotNA, exp) {
		t.Fatalf("own GET: general %q, typed %q", wantNA, gotNA)
	}
}
