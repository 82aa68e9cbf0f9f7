package pickler

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// genMap is a map of str keys that only the reflection path (saveMap)
// writes: an independent way to the same bytes.
type genMap map[string]any

// randKey makes a key of kind c: digits after a prefix, ASCII of any
// length (some 64 and over), with NULs, sharing 8 or 16 bytes, non-ASCII,
// ending in NULs, equal in their first 8 bytes.
func randKey(r *rand.Rand, c, i int) string {
	switch c {
	case 0:
		return fmt.Sprintf("key%d", i)
	case 1:
		b := make([]byte, r.IntN(1+r.IntN(70)))
		for j := range b {
			b[j] = byte(0x20 + r.IntN(95))
		}
		return string(b) + fmt.Sprint(i)
	case 2:
		return string(make([]byte, r.IntN(9))) + fmt.Sprint(i)
	case 3:
		return "0123456789abcdef"[:8+r.IntN(9)] + fmt.Sprint(i)
	case 4:
		return fmt.Sprintf("k%dé", i)
	case 5: // keys equal but for trailing NULs: equal prefix8
		return fmt.Sprint(r.IntN(20)) + strings.Repeat("\x00", r.IntN(3))
	case 6: // 9 to 12 bytes, groups equal in the first 8, differing in few bits
		return fmt.Sprintf("k%07d%d", r.IntN(50), i)
	}
	return fmt.Sprint(i)
}

// randVal makes a value of kind c: floats, ints (some past 32 bits),
// bools and None, short strs (some singletons, some non-ASCII), or now and
// then a list or a map.
func randVal(r *rand.Rand, c int) any {
	switch c {
	case 0:
		return r.NormFloat64()
	case 1:
		return int64(r.IntN(70000)) - int64(r.IntN(3))<<(r.IntN(40))
	case 2:
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return true
		}
		return false
	case 3:
		s := fmt.Sprint(r.IntN(1000))
		return s[:r.IntN(len(s)+1)]
	case 4:
		if r.IntN(50) == 0 {
			return []any{int64(1), "key7"}
		}
		if r.IntN(50) == 0 {
			return map[string]any{"key3": 1.5}
		}
		if r.IntN(50) == 0 {
			return "ü" + fmt.Sprint(r.IntN(10))
		}
		return strings.Repeat("v", r.IntN(70))
	}
	return math.Inf(1)
}

// TestCompactMatchesGathered: a large sorted map written from its compact
// items (gatherCompact, saveCompact) gives the bytes that the way of the
// gathered items gives, byte for byte, and those of the reflection path:
// keys and values of every kind (those it does not take included), maps
// first in the pickle or after other keys, their keys fetched again
// later, at every protocol and with frames of several sizes. And the
// compact way is taken often.
func TestCompactMatchesGathered(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	taken := 0
	rounds := 400
	if raceEnabled {
		rounds = 40 // the same checks; FuzzCompactMatchesGathered and the plain run take the rest
	}
	for round := range rounds {
		n := []int{33, 64, 65, 100, 999, 1000, 1001, 2000, 3001}[r.IntN(9)]
		keyMix, valMix := r.IntN(4), r.IntN(4)
		compactOnly := round%2 == 0
		if compactOnly {
			keyMix = r.IntN(4)
		}
		m := make(map[string]any, n)
		for i := 0; len(m) < n; i++ {
			kc, vc := 0, 0
			if r.IntN(100) < 3*keyMix*keyMix {
				kc = r.IntN(5)
				if compactOnly {
					kc = []int{0, 1, 2, 3, 5, 6, 6}[r.IntN(7)] // ASCII
					if round/2%2 == 1 {
						kc = []int{0, 5}[r.IntN(2)] // few differing bits: sortPacked's way
					}
				}
			} else if keyMix == 3 {
				kc = 1
			}
			if r.IntN(100) < 3*valMix*valMix {
				vc = r.IntN(6)
			} else if valMix == 3 {
				vc = r.IntN(3)
			}
			if compactOnly {
				vc = []int{0, 0, 1, 2, 5}[r.IntN(5)]
			}
			k, v := randKey(r, kc, i), randVal(r, vc)
			if compactOnly { // keys of up to 14 bytes, values of 32 bits at most
				if kmax := []int{compactKeyMax, 8}[round/2%2]; len(k) > kmax { // 8: no ties unless NULs end keys
					k = k[len(k)-kmax:]
				}
				if x, ok := v.(int64); ok {
					v = int64(int32(x))
				}
			}
			m[k] = v
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		var v any = m
		switch r.IntN(4) {
		case 1: // the map's keys fetched after it: its keys lent, then taken
			v = []any{m, keys[0], map[string]any{keys[1]: 1.0, "x": 2.0}, keys[2]}
		case 2: // a key memoized by value before the map
			v = []any{map[string]any{keys[0]: 1.0}, m, keys[0]}
		case 3: // two large maps: the second reuses the sort buffers
			m2 := make(map[string]any, 100)
			for i := range 100 {
				m2[keys[i%len(keys)]+"x"] = float64(i)
			}
			m2[keys[3]] = 0.5
			v = []any{m, m2, map[string]any{keys[4]: true}}
		}
		var e encoder
		e.strMemo = strTable{}
		ks := e.takeSort(len(m))
		if ks.gatherCompact(m) {
			taken++
		}
		for proto := 0; proto <= 5; proto++ {
			for _, fs := range []int{0, 4, 100, 1 << 12} {
				opts := []Option{Protocol(proto)}
				if fs > 0 {
					opts = append(opts, FrameSize(fs))
				}
				got, err := Marshal(v, opts...)
				preEncode = false
				want, werr := Marshal(v, opts...)
				preEncode = true
				if (err != nil) != (werr != nil) {
					t.Fatalf("round %d p%d frame %d: error %v, gathered way %v", round, proto, fs, err, werr)
				}
				if err != nil {
					if err.Error() != werr.Error() {
						t.Fatalf("round %d p%d frame %d: error %v, gathered way %v", round, proto, fs, err, werr)
					}
					continue
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d p%d frame %d: bytes differ from the gathered way's at %d (len %d, %d)",
						round, proto, fs, firstDiffAt(got, want), len(got), len(want))
				}
				if top, ok := v.(map[string]any); ok && fs == 0 {
					ref, err := Marshal(genMap(top), opts...)
					if err != nil || !bytes.Equal(got, ref) {
						t.Fatalf("round %d p%d: bytes differ from the reflection path's at %d (%v)", round, proto, firstDiffAt(got, ref), err)
					}
				}
			}
		}
		if round%20 == 0 { // and it reads back
			b, err := Marshal(v, Protocol(5))
			if err != nil {
				continue
			}
			var back any
			if err := unpickler.Unmarshal(b, &back); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			d, ok := back.(*py.Dict)
			if top, isMap := v.(map[string]any); isMap && (!ok || d.Len() != len(top)) {
				t.Fatalf("round %d: read back %T", round, back)
			}
		}
	}
	if taken < rounds/8 {
		t.Fatalf("the compact way was taken in %d rounds of %d", taken, rounds)
	}
}

func firstDiffAt(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// TestCompactTies: compact maps whose keys are equal in their first 8
// bytes (keys of up to 8 bytes that differ in trailing NULs, keys of 9 to
// 12 bytes in groups) are ordered as the way of the items gathered orders
// them, with the radix sort and without.
func TestCompactTies(t *testing.T) {
	for _, n := range []int{100, 300, 3000, 10000} {
		for name, key := range map[string]func(i int) string{
			"nul":    func(i int) string { return fmt.Sprint(i/3) + strings.Repeat("\x00", i%3) },
			"group8": func(i int) string { return fmt.Sprintf("%02dabcdef%d", i%50, i) },
			"digits": func(i int) string { return fmt.Sprintf("key%d", i) },
		} {
			m := make(map[string]any, n)
			for i := range n {
				m[key(i)] = float64(i)
			}
			var e encoder
			if ks := e.takeSort(n); !ks.gatherCompact(m) {
				t.Fatalf("%s %d: not compact", name, n)
			}
			got, err := Marshal(m)
			preEncode = false
			want, werr := Marshal(m)
			preEncode = true
			if err != nil || werr != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s %d: bytes differ from the gathered way's at %d (%v, %v)", name, n, firstDiffAt(got, want), err, werr)
			}
		}
	}
}

// FuzzCompactMatchesGathered: a map built from the input (its keys of 0
// to 15 bytes, any bytes, its values floats, ints, bools, None or short
// strs) written as the first object, and after a key memoized before it,
// gives the bytes that the way of the items gathered gives.
func FuzzCompactMatchesGathered(f *testing.F) {
	f.Add([]byte("key1\x00key2\x01abc\x02\x03ab\x00\x00\x04"), uint16(300))
	f.Add([]byte("\x00\x00\x00\x01\x00\x02\xff\xfe"), uint16(1000))
	f.Add([]byte("\x0212\x00\x0312\x00\x00\x0212\x00\x0a123456789a\x00\x0b123456789ab\x00"), uint16(2001))
	f.Add([]byte("\x08abcdefgh\x00"), uint16(3002))
	f.Fuzz(func(t *testing.T, data []byte, n uint16) {
		m := map[string]any{}
		for i := 0; len(data) > 0 && len(m) < 5000; i++ {
			kl := int(data[0]) % 16
			data = data[1:]
			kl = min(kl, len(data))
			k := string(data[:kl])
			data = data[kl:]
			var v any = float64(i)
			if len(data) > 0 {
				switch c := data[0]; c % 6 {
				case 1:
					v = int64(int32(c)*1000 - 3000)
				case 2:
					v = c&8 != 0
				case 3:
					v = nil
				case 4:
					v = "s" + k
				case 5:
					v = int64(c) << 40
				}
				data = data[1:]
			}
			m[k] = v
		}
		for i := 0; len(m) < int(n%4000); i++ { // enough items for the radix sort and batches
			m[fmt.Sprintf("%03dk%d", i%7, i)] = float64(i)
		}
		var first string
		for k := range m {
			first = k
			break
		}
		for _, v := range []any{m, []any{map[string]any{first: 1.0}, m, first}} {
			for _, proto := range []int{2, 4, 5} {
				got, err := Marshal(v, Protocol(proto), FrameSize(4+int(n%3)*1000))
				preEncode = false
				want, werr := Marshal(v, Protocol(proto), FrameSize(4+int(n%3)*1000))
				preEncode = true
				if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
					t.Fatalf("p%d: bytes differ from the gathered way's at %d (%v, %v)", proto, firstDiffAt(got, want), err, werr)
				}
			}
		}
	})
}
