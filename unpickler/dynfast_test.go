package unpickler_test

import (
	"encoding/binary"
	"errors"
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

// A dict read by smallDict (EMPTY_DICT, memo, MARK, a short batch,
// SETITEMS gathered before the dict is made) gives what the machine and
// CPython give, on every path huntCheck tries (split input ends the batch
// anywhere): its memo entry read inside its own batch, put again inside it,
// a batch handed over inside a nested list, duplicate keys, keys that are
// not strs, more pairs than it gathers, tuples and lists among the values.
func TestSmallDict(t *testing.T) {
	many := "\x80\x04}\x94("
	for i := range 20 {
		many += shortStr(fmt.Sprintf("k%d", i)) + "\x94K" + string(rune(i))
	}
	many += "u."
	cases := []struct {
		name, data string
		want       func(v any) string // "" when v is right
	}{
		{"self in batch", "\x80\x04}\x94(\x8c\x01ah\x00u.", func(v any) string {
			d := v.(*py.Dict)
			if x, _ := d.Get("a"); x != any(d) {
				return fmt.Sprintf("d['a'] is %#v, not d", x)
			}
			return ""
		}},
		{"entry put again in batch", "\x80\x02](}q\x00(X\x01\x00\x00\x00kq\x00h\x00uh\x00e.", func(v any) string {
			if s, _ := v.([]any)[1].(string); s != "k" {
				return fmt.Sprintf("memo 0 read back as %#v, not 'k'", v.([]any)[1])
			}
			return ""
		}},
		{"self in nested list", "\x80\x04}\x94(\x8c\x01l]\x94(K\x01h\x00K\x02eu.", func(v any) string {
			d := v.(*py.Dict)
			l, _ := d.Get("l")
			if ls, ok := l.([]any); !ok || len(ls) != 3 || ls[1] != any(d) {
				return fmt.Sprintf("d['l'] is %#v", l)
			}
			return ""
		}},
		{"duplicate keys", "\x80\x04}(\x8c\x01aK\x01\x8c\x01bK\x02\x8c\x01aK\x03u.", func(v any) string {
			d := v.(*py.Dict)
			if x, _ := d.Get("a"); d.Len() != 2 || x != any(int64(3)) {
				return fmt.Sprintf("%d items, d['a'] = %#v", d.Len(), x)
			}
			return ""
		}},
		{"MEMOIZE over a used index", "\x80\x04]\x94(}\x94(\x8c\x01aq\x03\x8c\x01b\x94\x8c\x01c\x94K\x01uh\x03e.", func(v any) string {
			// memo: 0 the list, 1 the dict, 3 'a' (BINPUT); the MEMOIZEs
			// after 'b' and 'c' both put index 3 (len(memo) in CPython)
			if s, _ := v.([]any)[1].(string); s != "c" {
				return fmt.Sprintf("memo 3 read back as %#v, not 'c'", v.([]any)[1])
			}
			return ""
		}},
		{"int keys", "\x80\x04}(K\x01K\x02K\x03K\x04u.", nil},
		{"many pairs", many, func(v any) string {
			if d := v.(*py.Dict); d.Len() != 20 {
				return fmt.Sprintf("%d items", d.Len())
			}
			return ""
		}},
		{"tuples", "\x80\x04}(\x8c\x01tK\x01K\x02\x86\x94\x8c\x01u](K\x01e\x85\x8c\x01vh\x01u.", nil},
		{"list memo read back", "\x80\x04](}\x94(\x8c\x01l]\x94(\x8c\x01x\x94\x8c\x01y\x94eu\x8c\x01zh\x02h\x03h\x04e.", nil},
		{"list reads itself", "\x80\x04}\x94(\x8c\x01l]\x94(K\x01h\x01eu.", func(v any) string {
			l, _ := v.(*py.Dict).Get("l")
			if ls, ok := l.([]any); !ok || len(ls) != 2 || &ls[1].([]any)[0] != &ls[0] {
				return fmt.Sprintf("d['l'] is %#v", l)
			}
			return ""
		}},
		{"tuple in a list's batch", "\x80\x04}(\x8c\x01l](K\x01K\x02\x86K\x03e\x8c\x01mK\x04u.", nil},
		{"empty list batch", "\x80\x04}(\x8c\x01l]\x94(e\x8c\x01mh\x00u.", nil},
		{"list without a batch", "\x80\x04}(\x8c\x01l]\x94\x8c\x01mh\x00u.", nil},
		{"two lists", "\x80\x04}(\x8c\x01l](K\x01e\x8c\x01m](K\x02K\x03eu.", nil},
		{"empty batch", "\x80\x04}\x94(u.", nil},
		{"nested dict", "\x80\x04}(\x8c\x01d}\x94(\x8c\x01xK\x01uu.", nil},
		{"dict after batch", "\x80\x04}\x94(\x8c\x01aK\x01u(\x8c\x01bK\x02u.", nil},
		{"odd batch", "\x80\x04}(\x8c\x01aK\x01\x8c\x01bu.", nil},
	}
	for _, c := range cases {
		if d := huntCheck(t, []byte(c.data), true); d != "" {
			t.Errorf("%s: %s", c.name, d)
			continue
		}
		if c.want == nil {
			continue
		}
		v, err := unpickler.Load([]byte(c.data))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else if d := c.want(v); d != "" {
			t.Errorf("%s: %s", c.name, d)
		}
	}
}

// smallDict's limits fail where the machine's would: MaxDepth at the
// nested list's MARK, MaxMemo at the dict's own entry or an item's.
func TestSmallDictLimits(t *testing.T) {
	cases := []struct {
		name, data string
		opt        unpickler.Option
		off        int64
	}{
		{"depth at the list's mark", "\x80\x04}(\x8c\x01l](K\x01eu.", unpickler.MaxDepth(1), 8},
		{"memo at the dict's entry", "\x80\x04}\x94(\x8c\x01aK\x01u.", unpickler.MaxMemo(0), 3},
		{"memo at an item's entry", "\x80\x04}\x94(\x8c\x01a\x94K\x01u.", unpickler.MaxMemo(1), 8},
	}
	for _, c := range cases {
		_, err := unpickler.Load([]byte(c.data), c.opt)
		var e *unpickler.Error
		if !errors.As(err, &e) || !errors.Is(err, unpickler.ErrLimit) || e.Offset != c.off {
			t.Errorf("%s: %v, want ErrLimit at offset %d", c.name, err, c.off)
		}
	}
}

// Dicts as items of a list batch that fastBox reads (smallDict called from
// it, the dict returned as an item): read whole, or handed over with the
// batch's items given back below it — while the batch is gathered (under
// 64 items), once it goes into the box directly, with memoized items kept
// as runs over the box, and with the list read back inside a dict.
func TestSmallDictInList(t *testing.T) {
	msg := func(i int, extra string) string {
		return "}\x94(" + shortStr("id") + "\x94K" + string(rune(i)) + shortStr("tags") + "\x94]\x94(K\x01K\x02e" + extra + "u"
	}
	list := func(n int, at int, bad string) string {
		p := "\x80\x04]\x94("
		for i := range n {
			if i == at {
				p += msg(i, bad)
			} else if i%3 == 2 {
				p += shortStr(fmt.Sprintf("s%d", i)) + "\x94" // memoized items (runs once in the box)
			} else {
				p += msg(i, "")
			}
		}
		return p + "e."
	}
	cases := map[string]string{
		"whole, short":                   list(10, -1, ""),
		"whole, long":                    list(150, -1, ""),
		"int key, short":                 list(10, 5, "K\x07K\x08"),
		"int key, long":                  list(150, 120, "K\x07K\x08"),
		"list read back, short":          list(10, 4, shortStr("l")+"h\x00"),
		"list read back, long":           list(150, 100, shortStr("l")+"h\x00"),
		"memo read back, long":           list(150, 130, shortStr("m")+"h\x05"),
		"nested dict, long":              list(150, 90, shortStr("d")+"}(K\x01K\x02u"),
		"two batches":                    "\x80\x04]\x94(" + msg(1, "") + "e(" + msg(2, "") + msg(3, shortStr("x")+"h\x00") + "e.",
		"dict then its batch of batches": "\x80\x04](}\x94(" + shortStr("a") + "K\x01u(" + shortStr("b") + "K\x02ue.",
	}
	for name, data := range cases {
		if d := huntCheck(t, []byte(data), true); d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
}

// messagesPickle is a protocol-4 pickle of n small dicts in a list, laid
// out as CPython writes them: keys memoized at their first use and read
// back by BINGET after, a list and a tuple in each.
func messagesPickle(n int) []byte {
	p := []byte("\x80\x04]\x94(")
	memo := 1
	seen := map[string]int{}
	str := func(s string) {
		if i, ok := seen[s]; ok {
			p = append(p, 'h', byte(i))
			return
		}
		p = append(p, shortStr(s)+"\x94"...)
		seen[s] = memo
		memo++
	}
	for i := range n {
		p = append(p, "}\x94("...)
		memo++
		str("id")
		p = append(p, 'K', byte(i))
		str("name")
		p = append(p, shortStr(fmt.Sprintf("user%d", i))+"\x94"...)
		memo++
		str("tags")
		p = append(p, "]\x94("...)
		memo++
		str("red")
		str("blue")
		p = append(p, 'e')
		str("pos")
		p = append(p, "K\x01K\x02\x86\x94u"...)
		memo++
	}
	return append(p, "e."...)
}

// A list of small dicts decodes with two allocations a dict (the dict
// with its items, its list; the tuple of two ints comes from a slab) and a
// few for the whole: the path smallDict takes. A dict it hands over to the
// machine costs one more (its items), a tuple of its own one more, so this
// fails when the loops stop reading such dicts whole.
func TestSmallDictAllocs(t *testing.T) {
	const n = 200
	if d := huntCheck(t, messagesPickle(20), true); d != "" {
		t.Fatal(d) // the pickle is one CPython reads as Go does
	}
	p := messagesPickle(n)
	v, err := unpickler.Load(p)
	if err != nil || len(v.([]any)) != n {
		t.Fatalf("%v: %v", err, v)
	}
	allocs := testing.AllocsPerRun(10, func() { _, _ = unpickler.Load(p) })
	t.Logf("%d dicts: %.0f allocations", n, allocs)
	if allocs > 2*n+40 {
		t.Fatalf("%d dicts: %.0f allocations, want at most %d", n, allocs, 2*n+40)
	}
}

// A dict whose keys are those of the dict smallDict made before it is made
// like it (py.NewDictLike, no search for duplicates); any other batch goes
// the long way: a key twice, another order, one key more or fewer, equal
// keys that are not the memoized ones, a list value (its box fixed) and a
// list read back after.
func TestSmallDictLike(t *testing.T) {
	d := func(pairs string) string { return "}\x94(" + pairs + "u" }
	a, b := shortStr("a")+"\x94", shortStr("b")+"\x94" // memo 2 and 3 when first
	p := "\x80\x04]\x94(" + d(a+"K\x01"+b+"K\x02") +
		d("h\x02K\x03h\x03K\x04") + // like the first: memo 4
		d("h\x02K\x05h\x02K\x06") + // 'a' twice: {'a': 6}
		d("h\x03K\x07h\x02K\x08") + // another order
		d("h\x02K\x09h\x03K\x0a"+shortStr("c")+"K\x0b") + // a key more
		d(shortStr("a")+"K\x0c"+shortStr("b")+"K\x0d") + // equal fresh strs
		d("h\x02]\x94(K\x01K\x02eh\x03K\x0e") + // a list value
		d("h\x02]\x94(K\x03eh\x03K\x0f") + // again, like the one before
		"h\x0ce."
	shared := []any{int64(3)}
	want := []any{
		py.DictOf("a", int64(1), "b", int64(2)),
		py.DictOf("a", int64(3), "b", int64(4)),
		py.DictOf("a", int64(6)),
		py.DictOf("b", int64(7), "a", int64(8)),
		py.DictOf("a", int64(9), "b", int64(10), "c", int64(11)),
		py.DictOf("a", int64(12), "b", int64(13)),
		py.DictOf("a", []any{int64(1), int64(2)}, "b", int64(14)),
		py.DictOf("a", shared, "b", int64(15)),
		shared,
	}
	v, err := unpickler.Load([]byte(p))
	if err != nil {
		t.Fatal(err)
	}
	if diff := valueDiff(v, want); diff != "" {
		t.Fatalf("differs at %s: %#v", diff, v)
	}
	l := v.([]any)
	x, _ := l[7].(*py.Dict).Get("a")
	if &x.([]any)[0] != &l[8].([]any)[0] {
		t.Fatal("the list read back is not the dict's list")
	}
	if diff := huntCheck(t, []byte(p), true); diff != "" {
		t.Fatal(diff)
	}
}

// Tuples of scalars come from slabs (scalarTuple) in the machine, in
// fastDict and in smallDict: each of arity 1 to 4 reads back with its
// values, one read twice through the memo is one tuple, and tuples that
// hold anything else (a str, a list) or more items are made as before.
func TestScalarTuples(t *testing.T) {
	tuples := "K\x01\x85" + // (1,)
		"J\x00\x00\x00\x80G?\xf8\x00\x00\x00\x00\x00\x00\x86\x94" + // (-2**31, 1.5), memo 1 or 2
		"N\x88M,\x01\x87" + // (None, True, 300)
		"(K\x00J\xff\xff\xff\xff\x89G\xc0\x00\x00\x00\x00\x00\x00\x00t" + // (0, -1, False, -2.0) by MARK … TUPLE
		"(K\x01K\x02K\x03K\x04K\x05t" + // five items
		shortStr("s") + "K\x01\x86" + // a str in it
		"]\x85" // a list in it
	want := []any{
		py.Tuple{int64(1)},
		py.Tuple{int64(-1 << 31), 1.5},
		py.Tuple{nil, true, int64(300)},
		py.Tuple{int64(0), int64(-1), false, -2.0},
		py.Tuple{int64(1), int64(2), int64(3), int64(4), int64(5)},
		py.Tuple{"s", int64(1)},
		py.Tuple{[]any{}},
	}
	cases := map[string]struct {
		data string
		get  func(v any) []any
	}{
		"machine": {"\x80\x04(" + tuples + "h\x00l.", func(v any) []any { return v.([]any) }},
		"fastDict": {"\x80\x04}(" + shortStr("k") + "(" + tuples + "l" + shortStr("again") + "h\x00u.", func(v any) []any {
			d := v.(*py.Dict)
			l, _ := d.Get("k")
			a, _ := d.Get("again")
			return append(l.([]any), a)
		}},
		"smallDict in a list": {"\x80\x04](}\x94(" + shortStr("a") + "K\x01\x85" + shortStr("b") + "J\x00\x00\x00\x80G?\xf8\x00\x00\x00\x00\x00\x00\x86\x94" +
			shortStr("c") + "h\x01ue.", func(v any) []any {
			d := v.([]any)[0].(*py.Dict)
			var r []any
			for _, k := range []string{"a", "b", "c"} {
				x, _ := d.Get(k)
				r = append(r, x)
			}
			return r
		}},
	}
	for name, c := range cases {
		v, err := unpickler.Load([]byte(c.data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := c.get(v)
		w := append(append([]any{}, want...), want[1])
		if name == "smallDict in a list" {
			w = []any{want[0], want[1], want[1]}
		}
		if len(got) != len(w) {
			t.Errorf("%s: %#v", name, got)
			continue
		}
		for i := range w {
			if d := valueDiff(got[i], w[i]); d != "" {
				t.Errorf("%s: item %d differs at %s: %#v", name, i, d, got[i])
			}
		}
		// The tuple read back through the memo is the very tuple.
		a, b := got[1].(py.Tuple), got[len(got)-1].(py.Tuple)
		if &a[0] != &b[0] {
			t.Errorf("%s: the memoized tuple read back is another tuple", name)
		}
		if d := huntCheck(t, []byte(c.data), true); d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
}

// Short strs are copied into the arena 16 bytes at a time when there is
// room on both sides: every length up to 20, ASCII or not, in lists and
// as dict keys, with the str's end at every distance from the end of the
// input and from the end of an arena chunk, decodes to exactly its text;
// invalid UTF-8 is still refused.
func TestShortStrsEveryLengthAndPlace(t *testing.T) {
	texts := []string{}
	for n := 0; n <= 20; n++ {
		a := ""
		for i := range n {
			a += string(rune('a' + i%26))
		}
		texts = append(texts, a)
		if n >= 2 {
			texts = append(texts, a[:n-2]+"é") // 2 bytes of UTF-8 at the end
		}
	}
	for pad := 0; pad < 24; pad++ { // shifts where the strs fall in the arena
		var p string
		var want []any
		p = "\x80\x04]\x94("
		for _, s := range texts {
			p += shortStr(s)
			want = append(want, s)
		}
		p += shortStr(string(make([]byte, pad))) + "e}\x94("
		want = append(want, string(make([]byte, pad)))
		keys := map[any]any{}
		for i, s := range texts {
			p += shortStr(s) + "K" + string(rune(i))
			keys[s] = int64(i)
		}
		p += "ua"                 // the dict into the list
		for _, s := range texts { // each text last in its own pickle: its end is the input's
			v, err := unpickler.Load([]byte(p + shortStr(s) + "a."))
			if err != nil {
				t.Fatalf("pad %d, last %q: %v", pad, s, err)
			}
			items, ok := v.([]any)
			if !ok || len(items) != len(want)+2 {
				t.Fatalf("pad %d: got %T of %v", pad, v, v)
			}
			for i, w := range want {
				if items[i] != w {
					t.Fatalf("pad %d: item %d is %q, want %q", pad, i, items[i], w)
				}
			}
			d := items[len(want)].(*py.Dict)
			if d.Len() != len(keys) {
				t.Fatalf("pad %d: dict of %d keys, want %d", pad, d.Len(), len(keys))
			}
			for k, want := range keys {
				if got, ok := d.Get(k); !ok || got != want {
					t.Fatalf("pad %d: key %q gives %v %v, want %v", pad, k, got, ok, want)
				}
			}
			if items[len(want)+1] != s {
				t.Fatalf("pad %d: last item %q, want %q", pad, items[len(want)+1], s)
			}
		}
		for n := 1; n <= 16; n++ { // invalid UTF-8 (a lone continuation byte) at each length
			bad := string(make([]byte, n-1)) + "\x80"
			for _, q := range []string{
				p + shortStr(bad) + "a.",
				"\x80\x04]\x94(" + shortStr(string(make([]byte, pad))) + shortStr(bad) + shortStr("ok") + "e.",
				"\x80\x04}\x94(" + shortStr(string(make([]byte, pad))) + "K\x00" + shortStr(bad) + "K\x01u.",
			} {
				if v, err := unpickler.Load([]byte(q)); err == nil {
					t.Fatalf("pad %d: invalid UTF-8 of %d bytes decoded: %q", pad, n, v)
				}
			}
		}
	}
}

// A list's MEMOIZE inside a dict read by smallDict may land on the dict's
// own memo index (LONG_BINPUT 1 for the dict, then MEMOIZE as 1 for the
// list: CPython's memo then maps 1 to the list). When the input ends in
// the list's batch (a segment boundary), the dict is handed to the machine
// with both placeholders pending: the list's must win. The hunt found it
// (HUNT_SEED=9090): cut at 24, BINGET 1 gave the dict.
func TestSmallDictListMemoOverDictsEntry(t *testing.T) {
	p := []byte("\x80\x04](\x89K^J\xcd\xfc\xd9d}r\x01\x00\x00\x00(K\x02]\x94(e(J=\xb1\xb1\x98\x85}(u(\x8c\x02k2h\x01K\x01G?\xf15\x00\x00\x00\x00\x00ueh\x01\x850X\x00\x00\x00\x00J,.1\x1dX\x01\x00\x00\x00a\x88\x8c\x01bM\x83\x87u(ue.")
	want, err := unpickler.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	d := want.([]any)[3].(*py.Dict)
	l, _ := d.Get(int64(2))
	inner := l.([]any)[1].(*py.Dict)
	if k2, _ := inner.Get("k2"); fmt.Sprintf("%p", k2) != fmt.Sprintf("%p", l) {
		t.Fatalf("k2 is %T, want the list itself (as CPython's pickle.loads gives)", k2)
	}
	for cut := 1; cut < len(p); cut++ {
		var got any
		if err := unpickler.UnmarshalSegments([][]byte{p[:cut], p[cut:]}, &got); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if d := valueDiff(want, got); d != "" {
			t.Fatalf("cut %d: %s", cut, d)
		}
	}
}
