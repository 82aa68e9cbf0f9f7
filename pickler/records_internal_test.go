package pickler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/segpickle/segpickle/py"
)

// Records (maps of the last map's keys, written by saveRecord) take fast
// paths: small maps read in place (recordGroup), values written in
// saveRecord's own loop and putSmall's. These tests write lists of varied
// records and compare the bytes with those of the same values as py.Dicts
// of sorted items (saveDict's general way), and with the group reader off.

// recVocab are the keys records are made of: short and long, empty,
// non-ASCII, one over the short-key limit, one with a NUL.
var recVocab = []string{"id", "name", "tags", "score", "ok", "parent", "pos", "é", "ключ", "a", "",
	strings.Repeat("k", 70), "id2", "x\x00y", "iX", "b"}

// recGen makes lists of records from a seeded source.
type recGen struct {
	r      *rand.Rand
	shape  []string // the keys of the current shape, in insertion order
	list   []any    // shared by several records
	tuple  py.Tuple // shared
	shared map[string]any
	long   string // a shared str long enough for the identity memo
	badKey bool   // an invalid UTF-8 key may appear
}

func newRecGen(seed uint64, badKey bool) *recGen {
	g := &recGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), badKey: badKey}
	g.list = []any{"red", int64(7)}
	g.tuple = py.Tuple{int64(1), "t"}
	g.long = strings.Repeat("L", 100)
	g.newShape()
	g.shared = map[string]any{"s": int64(1), "t": "two"}
	return g
}

func (g *recGen) newShape() {
	n := 2 + g.r.IntN(9) // 2 to 10: over a group's 8 too
	g.shape = slices.Clone(recVocab)
	g.r.Shuffle(len(g.shape), func(a, b int) { g.shape[a], g.shape[b] = g.shape[b], g.shape[a] })
	g.shape = g.shape[:n]
}

func (g *recGen) value(depth int) any {
	r := g.r
	switch r.IntN(28) {
	case 0, 1:
		return int64(r.IntN(256))
	case 2:
		return int64(r.IntN(1<<20)) - 1<<19
	case 3:
		return int64(1)<<40 + int64(r.IntN(9))
	case 4, 5:
		return r.Float64() * 1e6
	case 6:
		return fmt.Sprintf("user%d", r.IntN(100000))
	case 7:
		return []string{"", "a", "é", "héllo", "ab", "abcdefgh", "abcdefghijklmno", "héllo!!", "abcdefg"}[r.IntN(9)]
	case 8:
		return strings.Repeat("s", 60+r.IntN(10)) // around sharedStrMin
	case 9:
		return g.long
	case 10:
		return r.IntN(2) == 0
	case 11:
		return nil
	case 12:
		return []any{"red", "blue"}
	case 13:
		return []any{int64(r.IntN(100000)), "x", nil, 1.5}
	case 14:
		return []any{r.Float64(), "é", int64(1) << 35} // putSmall gives up on the last two
	case 15:
		return py.Tuple{int64(r.IntN(300)), int64(-r.IntN(70000))}
	case 16:
		return py.Tuple{}
	case 17:
		return py.Tuple{"a", true, nil}
	case 18:
		return py.Tuple{int64(1), int64(2), int64(3), int64(4)}
	case 19:
		return g.list
	case 20:
		return g.tuple
	case 21, 22:
		if depth < 2 {
			return g.record(depth + 1)
		}
		return int64(-1)
	case 23:
		return g.shared
	case 24:
		return []byte("by")
	case 25:
		return 7 // a Go int
	case 26:
		return []any{}
	case 27:
		return map[string]float64{"f": 1.5, "e": 2}
	}
	panic("unreachable")
}

// record makes a map of the current shape, or of one changed from it.
func (g *recGen) record(depth int) map[string]any {
	r := g.r
	ks := slices.Clone(g.shape)
	hint := len(ks)
	extra := false
	switch r.IntN(16) {
	case 0: // another insertion order: other slots
		r.Shuffle(len(ks), func(a, b int) { ks[a], ks[b] = ks[b], ks[a] })
	case 1: // the same bytes at other addresses
		for j := range ks {
			ks[j] = strings.Clone(ks[j])
		}
	case 2: // one key another
		for _, k := range recVocab {
			if !slices.Contains(ks, k) {
				ks[r.IntN(len(ks))] = k
				break
			}
		}
	case 3: // one key fewer
		if len(ks) > 1 {
			j := r.IntN(len(ks))
			ks = slices.Delete(ks, j, j+1)
		}
	case 4: // a larger map (more than a group)
		hint = 64
	case 5: // a key added and deleted: other slots
		extra = true
	case 6:
		g.newShape()
		ks = slices.Clone(g.shape)
	case 7:
		if g.badKey && r.IntN(8) == 0 {
			ks[0] = "\xff"
		}
	}
	m := make(map[string]any, hint)
	if extra {
		m["zz"] = 0
	}
	for _, k := range ks {
		m[k] = g.value(depth)
	}
	if extra {
		delete(m, "zz")
	}
	return m
}

func (g *recGen) records(n int) []any {
	recs := make([]any, n)
	for i := range recs {
		if g.r.IntN(50) == 0 {
			recs[i] = g.shared
			continue
		}
		recs[i] = g.record(0)
	}
	return recs
}

// asSortedDicts is v with every map[string]any a py.Dict of its items in
// key order, lists and tuples copied (one copy for each shared one).
func asSortedDicts(v any, seen map[[2]uintptr]any) any {
	switch x := v.(type) {
	case map[string]any:
		k := [2]uintptr{uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&x))), 0}
		if d, ok := seen[k]; ok {
			return d
		}
		d := py.NewDict(len(x))
		seen[k] = d
		for _, key := range slices.Sorted(maps.Keys(x)) {
			d.Set(key, asSortedDicts(x[key], seen))
		}
		return d
	case []any:
		if cap(x) == 0 {
			return x
		}
		k := [2]uintptr{uintptr(unsafe.Pointer(unsafe.SliceData(x))), uintptr(len(x))}
		if l, ok := seen[k]; ok {
			return l
		}
		l := make([]any, len(x))
		seen[k] = l
		for i, it := range x {
			l[i] = asSortedDicts(it, seen)
		}
		return l
	case py.Tuple:
		if len(x) == 0 {
			return x
		}
		k := [2]uintptr{uintptr(unsafe.Pointer(unsafe.SliceData(x))), ^uintptr(len(x))} // apart from a list
		if l, ok := seen[k]; ok {
			return l
		}
		l := make(py.Tuple, len(x))
		seen[k] = l
		for i, it := range x {
			l[i] = asSortedDicts(it, seen)
		}
		return l
	}
	return v
}

// checkRecords writes recs three ways (as they are; with the group reader
// off; as sorted py.Dicts) and fails unless all give the same bytes, or
// all an error.
func checkRecords(t testing.TB, recs []any, proto int) {
	t.Helper()
	if msg := diffRecords(recs, proto); msg != "" {
		t.Fatal(msg)
	}
}

// diffRecords is checkRecords' comparison: what differs, or "".
func diffRecords(recs []any, proto int) string {
	fast, errFast := Marshal(recs, Protocol(proto))
	saved := groupsOK
	groupsOK = false
	slow, errSlow := Marshal(recs, Protocol(proto))
	groupsOK = saved
	ref, errRef := Marshal(asSortedDicts(recs, map[[2]uintptr]any{}), Protocol(proto))
	if errFast != nil || errSlow != nil || errRef != nil {
		if errFast == nil || errSlow == nil || errRef == nil {
			return fmt.Sprintf("protocol %d: errors differ: records %v, lookups %v, dicts %v", proto, errFast, errSlow, errRef)
		}
		return ""
	}
	if string(fast) != string(ref) {
		return fmt.Sprintf("protocol %d: records and sorted dicts differ at byte %d of %d", proto, firstDiff(fast, ref), len(ref))
	}
	if string(slow) != string(ref) {
		return fmt.Sprintf("protocol %d: records without the group reader and sorted dicts differ at byte %d of %d", proto, firstDiff(slow, ref), len(ref))
	}
	return ""
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRecordsAsSortedDicts: lists of records of changing shapes (other
// insertion orders, keys at other addresses, a key more or fewer or
// another, maps grown past a group, nested records, values of every common
// type, shared lists, tuples, maps and strs), long enough to cross frames,
// at every protocol.
func TestRecordsAsSortedDicts(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		g := newRecGen(seed, seed%4 == 0)
		n := []int{3, 40, 700, 3000}[seed%4]
		recs := g.records(n)
		for proto := 0; proto <= 5; proto++ {
			checkRecords(t, recs, proto)
		}
	}
}

// TestRecordsMessages: the messages workload's records (all of one shape
// and insertion order), and the same with every tenth in another order.
func TestRecordsMessages(t *testing.T) {
	msgs := make([]any, 5000)
	for i := range msgs {
		m := map[string]any{"id": int64(i), "name": fmt.Sprintf("user%d", i), "tags": []any{"red", "blue"},
			"score": float64(i) / 7, "ok": i%2 == 0, "parent": nil, "pos": py.Tuple{int64(i), int64(-i)}}
		if i%10 == 9 {
			m = map[string]any{"pos": py.Tuple{int64(i), int64(-i)}, "parent": nil, "ok": i%2 == 0,
				"score": float64(i) / 7, "tags": []any{"red", "blue"}, "name": fmt.Sprintf("user%d", i), "id": int64(i)}
		}
		msgs[i] = m
	}
	for _, proto := range []int{2, 4, 5} {
		checkRecords(t, msgs, proto)
	}
}

func FuzzRecords(f *testing.F) {
	for seed := uint64(0); seed < 8; seed++ {
		f.Add(seed, uint8(seed%6), uint16(seed*97))
	}
	f.Fuzz(func(t *testing.T, seed uint64, proto uint8, n uint16) {
		g := newRecGen(seed, true)
		checkRecords(t, g.records(int(n%2000)), int(proto%6))
	})
}

// TestGroupLayoutChecked: with the Go the group reader is built for, its
// layout checks pass (else records would quietly take the lookups).
func TestGroupLayoutChecked(t *testing.T) {
	if strings.HasPrefix(runtime.Version(), "go1.26") && runtime.Compiler == "gc" && !groupsOK {
		t.Fatal("the map group layout checks failed on Go 1.26")
	}
}

// TestRecordGroup: recordGroup takes a small map holding exactly the keys
// (in any slots, at any addresses) and gives the offsets of their values;
// anything else is nil.
func TestRecordGroup(t *testing.T) {
	if !groupsOK {
		t.Skip("no group reader with this Go")
	}
	keys := []string{"", "id", "name", "ok", "pos", "é"}
	var e encoder
	build := func(order []string, hint int) map[string]any {
		m := make(map[string]any, hint)
		for i, k := range order {
			m[k] = i * 10
		}
		return m
	}
	check := func(name string, m map[string]any, want bool) {
		t.Helper()
		var off [recordMax]uint16
		g := e.recordGroup(keys, m, &off)
		if (g != nil) != want {
			t.Fatalf("%s: group %v, want %v", name, g != nil, want)
		}
		if g == nil {
			return
		}
		for i, k := range keys {
			if got := (recVals{g, &off}).at(i); got != m[k] {
				t.Fatalf("%s: value of %q: %v, want %v", name, k, got, m[k])
			}
		}
	}
	check("sorted order", build(keys, 0), true)
	check("again (the slots kept)", build(keys, 0), true)
	if e.recSlotN != len(keys) {
		t.Fatalf("recSlotN %d, want %d", e.recSlotN, len(keys))
	}
	rev := slices.Clone(keys)
	slices.Reverse(rev)
	check("reversed order", build(rev, 0), true)
	clones := make([]string, len(keys))
	for i, k := range keys {
		clones[i] = strings.Clone(k)
	}
	check("keys at other addresses", build(clones, 0), true)
	other := slices.Clone(keys)
	other[2] = "nbme" // same length, other bytes
	check("one key another", build(other, 0), false)
	check("after a miss", build(keys, 0), true)
	check("one key fewer", build(keys[1:], 0), false)
	check("one key more", build(append(slices.Clone(keys), "z"), 0), false)
	check("more than a group", build(keys, 64), false)
	m := build(append(slices.Clone(keys), "1", "2", "3"), 0) // 9: grown past a group
	delete(m, "1")
	delete(m, "2")
	delete(m, "3")
	check("shrunk from a table", m, false)
	m = build(append([]string{"x"}, keys...), 0) // a freed slot at 0
	delete(m, "x")
	check("a freed slot", m, true)
	check("nil map", nil, false)
}

// TestDeepRecords: records nested 500 deep (each of the last one's keys,
// so read in place) on a fresh goroutine, whose stack grows and moves
// while the outer records' value offsets and on-stack values are held;
// the values after the nested one must still be the outer record's.
func TestDeepRecords(t *testing.T) {
	var build func(d int) map[string]any
	build = func(d int) map[string]any {
		m := map[string]any{"a": int64(d), "b": nil, "c": fmt.Sprintf("v%d", d), "d": py.Tuple{int64(d)}}
		if d > 0 {
			m["b"] = build(d - 1)
		}
		return m
	}
	v := []any{build(500), build(3)}
	msgs := make(chan string, 1)
	go func() { msgs <- diffRecords(v, 5) + diffRecords(v, 2) }()
	if msg := <-msgs; msg != "" {
		t.Fatal(msg)
	}
}

// rewriter is a value whose MarshalPickle rewrites the bytes of a key
// string (as if that string had been freed and its memory taken by other
// bytes) and pickles as 4.
type rewriter struct{ b []byte }

func (r rewriter) MarshalPickle() (any, error) {
	copy(r.b, "nbme")
	return int64(4), nil
}

// TestRecordKeyAddressReused: a record's key that is another string than
// the last keys' (same bytes, other address) must not be trusted by its
// address later: once its memory holds other bytes, a map with a key at
// that address and of that length has another key. Here the second
// record's key is rewritten while it is written; the third has a key at
// that address, now "nbme", and must be written as such.
func TestRecordKeyAddressReused(t *testing.T) {
	buf := []byte("name")
	k := unsafe.String(&buf[0], len(buf))
	recs := []any{
		map[string]any{"id": int64(1), "name": int64(2)},
		map[string]any{"id": int64(3), k: rewriter{buf}},
		map[string]any{"id": int64(5), k: int64(6)},
	}
	d := func(k1 string, v1 int64, k2 string, v2 int64) *py.Dict {
		d := py.NewDict(2)
		d.Set(k1, v1)
		d.Set(k2, v2)
		return d
	}
	want, err := Marshal([]any{d("id", 1, "name", 2), d("id", 3, "name", 4), d("id", 5, "nbme", 6)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("differ at byte %d of %d:\n got %q\nwant %q", firstDiff(got, want), len(want), got, want)
	}
}

// TestRecordStrValuesNotASCII: a record's str values of every short
// length, valid UTF-8 or not (a lone surrogate, a stray byte), first or
// last byte: the inline writers take only ASCII, the rest goes the
// general way (an error for invalid UTF-8), as for the sorted dicts.
func TestRecordStrValuesNotASCII(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for _, odd := range []string{"é", "\xff", "\xed\xa0\x80"} {
			for _, first := range []bool{true, false} {
				s := strings.Repeat("a", max(0, n-len(odd)))
				if first {
					s = odd + s
				} else {
					s += odd
				}
				// The first records take the general way (their keys are
				// new): s in the later ones.
				var recs []any
				for i := range 3 {
					v := "ok"
					if i == 2 {
						v = s
					}
					recs = append(recs, map[string]any{"id": int64(i), "s": v, "l": []any{"x", v}, "t": py.Tuple{v}})
				}
				checkRecords(t, recs, 5)
				checkRecords(t, []any{recs[0], recs[1], map[string]any{"id": int64(3), "s": "ok", "l": []any{s}, "t": py.Tuple{"ok"}}}, 5)
				checkRecords(t, []any{recs[0], recs[1], map[string]any{"id": int64(3), "s": "ok", "l": []any{"ok"}, "t": py.Tuple{int64(1), s}}}, 5)
			}
		}
	}
}
