package unpickler

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/internal/hostile"
	"github.com/segpickle/segpickle/py"
)

// Memory bounds of the decoder, each measured (runtime.MemStats).

const mib = 1 << 20

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// keepFirst decodes the list pickle p, keeps only its first item and
// returns it with the heap that stays alive for it (after GC, p itself
// kept alive on both sides of the measure).
func keepFirst(t *testing.T, p []byte) (kept any, grew int64) {
	t.Helper()
	before := heapAfterGC()
	v, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	kept = v.([]any)[0]
	v = nil
	after := heapAfterGC()
	runtime.KeepAlive(kept)
	runtime.KeepAlive(p)
	return kept, int64(after) - int64(before)
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// binunicode is a BINUNICODE opcode for s.
func binunicode(s string) []byte {
	b := []byte{'X'}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// Keeping one 4-byte str of a decoded list of 100 × 1 MiB strs keeps about
// 4 bytes alive, not 100 MiB (values do not share slabs with long strs).
func TestKeptStrDoesNotPinLongOnes(t *testing.T) {
	hostile.SkipUnderRace(t)
	p := []byte("\x80\x04](")
	p = append(p, binunicode("tiny")...)
	big := strings.Repeat("x", mib)
	for range 100 {
		p = append(p, binunicode(big)...)
	}
	p = append(p, "e."...)
	kept, grew := keepFirst(t, p)
	if kept.(string) != "tiny" {
		t.Fatal(kept)
	}
	if grew > 8*mib {
		t.Fatalf("one kept 4-byte str keeps %d MiB alive", grew/mib)
	}
}

// Keeping one short str from each of 10,000 small pickles keeps about the
// pickles' size alive, not a 32 KiB arena and slabs each (312 MiB before).
func TestSmallPicklesDoNotPin(t *testing.T) {
	hostile.SkipUnderRace(t)
	kept := make([]any, 0, 10000)
	before := heapAfterGC()
	for i := range 10000 {
		p := []byte("\x80\x04](\x8c\x02ab\x8c\x03cde" + "M\x2c\x01G@\x04\x00\x00\x00\x00\x00\x00e.")
		p[6] = byte('a' + i%26)
		v, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, v.([]any)[0])
	}
	after := heapAfterGC()
	runtime.KeepAlive(kept)
	if grew := int64(after) - int64(before); grew > 8*mib {
		t.Fatalf("10,000 kept short strs keep %d MiB alive", grew/mib)
	}
}

// A dict key that is a tuple of 65,000 references to one 4 KiB str (a
// 135 KB pickle) is hashed with work and memory bounded by the input (3 GiB
// of key text before).
func TestTupleKeyOfSharedStr(t *testing.T) {
	hostile.SkipUnderRace(t)
	p := []byte("\x80\x04}((")
	p = append(p, binunicode(strings.Repeat("s", 4096))...)
	p = append(p, 0x94) // MEMOIZE as 0
	p = append(p, bytes.Repeat([]byte("h\x00"), 64999)...)
	p = append(p, "tK\x01u."...)
	before := totalAlloc()
	v, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if grew := totalAlloc() - before; grew > 32*mib {
		t.Fatalf("allocated %d MiB for a %d-byte pickle", grew/mib, len(p))
	}
	d := v.(*py.Dict)
	if d.Len() != 1 || len(d.Items()[0].Key.(py.Tuple)) != 65000 {
		t.Fatalf("dict of %d items", d.Len())
	}
	// The same key made again, from another pickle, is found.
	k2 := make(py.Tuple, 65000)
	for i := range k2 {
		k2[i] = strings.Repeat("s", 4096)
	}
	if got, ok := d.Get(k2); !ok || got != int64(1) {
		t.Fatal("equal tuple not found")
	}
}

// A tuple key of 20,000 ints set 3,000 times (a memo reference each time)
// is found by identity, not hashed 3,000 times over (840 MB of key text
// before).
func TestTupleKeyReused(t *testing.T) {
	hostile.SkipUnderRace(t)
	var b bytes.Buffer
	b.WriteString("\x80\x04}(")
	for i := range 20000 {
		b.WriteByte('J')
		binary.Write(&b, binary.LittleEndian, int32(i*7))
	}
	b.WriteString("t\x94K\x00s")
	for i := range 2999 {
		b.WriteString("h\x00K")
		b.WriteByte(byte(i))
		b.WriteByte('s')
	}
	b.WriteByte('.')
	before := totalAlloc()
	v, err := Load(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if grew := totalAlloc() - before; grew > 16*mib {
		t.Fatalf("allocated %d MiB", grew/mib)
	}
	d := v.(*py.Dict)
	if d.Len() != 1 || d.Items()[0].Value != int64(2998%256) {
		t.Fatalf("%d items, last value %v", d.Len(), d.Items()[0].Value)
	}
}

// A frozenset of 65,000 ints as a dict key decodes (its key is sorted in
// O(n log n); insertion sort took 30 s) and equals a frozenset built in
// another order.
func TestFrozensetKey(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\x80\x04}((")
	for i := range 65000 {
		b.WriteByte('J')
		binary.Write(&b, binary.LittleEndian, int32(i*31))
	}
	b.WriteString("\x91K\x01u.")
	v, err := Load(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	other := py.NewFrozenSet()
	for i := 64999; i >= 0; i-- {
		other.Add(int64(i * 31))
	}
	if got, ok := v.(*py.Dict).Get(other); !ok || got != int64(1) {
		t.Fatal("frozenset key not found")
	}
}

type node []node

// A DAG of tuples (each level two references to the one below, 40 levels:
// 2^40 leaves expanded) decodes into a recursive Go type in its own size:
// a tuple reached twice is one Go slice.
func TestTupleDAGIntoRecursiveType(t *testing.T) {
	p := []byte("\x80\x04)\x94")
	for i := range 40 {
		p = append(p, 'h', byte(i), 'h', byte(i), 0x86, 0x94)
	}
	p = append(p, '.')
	before := totalAlloc()
	var n node
	if err := Unmarshal(p, &n); err != nil {
		t.Fatal(err)
	}
	if grew := totalAlloc() - before; grew > 1*mib {
		t.Fatalf("allocated %d bytes", grew)
	}
	depth := 0
	for cur := n; len(cur) == 2; cur = cur[0] {
		if len(cur[0]) > 0 && &cur[0][0] != &cur[1][0] {
			t.Fatal("shared tuple decoded twice")
		}
		depth++
	}
	if depth != 40 {
		t.Fatalf("depth %d", depth)
	}
}

// MaxDepth is capped at HardMaxDepth, and nesting up to the cap decodes on
// every path (dynamic, typed into a recursive type, into any) without
// exhausting the stack; deeper is ErrLimit.
func TestDepthCapSafe(t *testing.T) {
	hostile.SkipUnderRace(t)
	nested := func(n int) []byte {
		p := []byte("\x80\x04")
		p = append(p, bytes.Repeat([]byte("]"), n)...)
		p = append(p, bytes.Repeat([]byte("a"), n-1)...)
		return append(p, '.')
	}
	opt := MaxDepth(1_000_000)
	p := nested(HardMaxDepth - 10)
	var n node
	if err := Unmarshal(p, &n, opt); err != nil {
		t.Fatal(err)
	}
	// The general (recursive) conversion at the cap, and past it: ErrLimit,
	// not a stack overflow.
	c := newConfig([]Option{opt})
	v, err := Load(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	var n2 node
	if err := assign(v, &n2, &c); err != nil {
		t.Fatal(err)
	}
	deep := nested(HardMaxDepth + 100)
	if v, err = Load(deep, opt); err != nil {
		t.Fatal(err)
	}
	if err := assign(v, &n2, &c); !errors.Is(err, ErrLimit) {
		t.Fatalf("%d deep: %v", HardMaxDepth+100, err)
	}

}

// Unmarshal into map[any]any with keys Go cannot hash (tuples, bytes) is a
// typed error, never ErrInternal.
func TestMapAnyUnhashableKeys(t *testing.T) {
	for _, p := range []string{"\x80\x04}(K\x01K\x02\x86K\x03u.", "\x80\x04}(C\x02abK\x03u."} {
		var m map[any]any
		err := Unmarshal([]byte(p), &m)
		var te *UnmarshalTypeError
		if !errors.As(err, &te) || errors.Is(err, ErrInternal) {
			t.Fatalf("%q: %v", p, err)
		}
	}
	_ = strconv.Itoa
}

// Tuples of scalars share slabs (scalarTuple): a kept one pins its slab
// and at most four scalar slabs. Here a list alternates such tuples with
// tuples that hold a 1 MiB str and lists of 600 ints (each filling an int
// slab): keeping the first tuple keeps neither the strs (a tuple that
// holds one is not a scalar tuple) nor the ints of the lists (a slab of
// tuples does not span more than two int slabs).
func TestKeptScalarTupleDoesNotPin(t *testing.T) {
	hostile.SkipUnderRace(t)
	big := strings.Repeat("x", mib)
	binint := func(v int32) []byte { return binary.LittleEndian.AppendUint32([]byte{'J'}, uint32(v)) }
	for _, c := range []struct {
		name  string
		item  func(i int) []byte
		bound int64
	}{
		{"1 MiB strs", func(i int) []byte {
			return append(append(binint(int32(1000+i)), binunicode(big)...), 0x86)
		}, 8 * mib},
		{"lists of 600 ints", func(i int) []byte {
			p := []byte("](")
			for j := range 600 {
				p = append(p, binint(int32(1<<20+j))...)
			}
			return append(p, 'e')
		}, 128 << 10},
	} {
		p := []byte("\x80\x04](")
		for i := range 100 {
			p = append(p, binint(int32(1000+i))...)
			p = append(p, binint(int32(-i))...)
			p = append(p, 0x86)
			p = append(p, c.item(i)...)
		}
		p = append(p, "e."...)
		kept, grew := keepFirst(t, p)
		if tu, _ := kept.(py.Tuple); len(tu) != 2 || tu[0] != any(int64(1000)) || tu[1] != any(int64(0)) {
			t.Fatalf("%s: kept %#v", c.name, kept)
		}
		t.Logf("%s: one kept tuple keeps %d bytes", c.name, grew)
		if grew > c.bound {
			t.Fatalf("%s: one kept tuple keeps %d bytes alive (bound %d)", c.name, grew, c.bound)
		}
	}
}
