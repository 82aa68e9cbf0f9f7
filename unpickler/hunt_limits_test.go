package unpickler_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"testing"

	"github.com/segpickle/segpickle/unpickler"
)

// The limits hold inside the fast loops: a batch of memoized items (ints,
// str→float pairs, dicts into structs, strs) over MaxMemo entries fails
// with ErrLimit on every input path and target, and a str over MaxLength
// or MaxAlloc inside a batch too.
func TestHuntLimitsInFastLoops(t *testing.T) {
	const n = 3000
	ints := []byte("\x80\x04]\x94(")
	strs := []byte("\x80\x04]\x94(")
	pairs := []byte("\x80\x04}\x94(")
	dicts := []byte("\x80\x04]\x94(")
	for i := range n {
		ints = append(ints, 'M', byte(i), byte(i>>8), 0x94)
		k := "k" + strconv.Itoa(i)
		strs = append(append(append(strs, 0x8c, byte(len(k))), k...), 0x94)
		pairs = append(append(append(pairs, 0x8c, byte(len(k))), k...), 0x94)
		pairs = append(pairs, 'G')
		pairs = binary.BigEndian.AppendUint64(pairs, 0x3ff0000000000000)
		dicts = append(dicts, "}\x94(\x8c\x02id\x94K\x01\x8c\x04name\x94\x8c\x01x\x94u"...)
	}
	ints = append(ints, "e."...)
	strs = append(strs, "e."...)
	pairs = append(pairs, "u."...)
	dicts = append(dicts, "e."...)
	type rec struct {
		ID   int64  `pickle:"id"`
		Name string `pickle:"name"`
	}
	targets := map[string][]func() any{
		"ints":  {func() any { return new(any) }, func() any { return new([]int64) }, func() any { return new([]float64) }},
		"strs":  {func() any { return new(any) }, func() any { return new([]string) }},
		"pairs": {func() any { return new(any) }, func() any { return new(map[string]float64) }, func() any { return new(map[string]any) }},
		"dicts": {func() any { return new(any) }, func() any { return new([]rec) }, func() any { return new([]map[string]any) }},
	}
	for name, data := range map[string][]byte{"ints": ints, "strs": strs, "pairs": pairs, "dicts": dicts} {
		for _, opts := range [][]unpickler.Option{{unpickler.MaxMemo(n / 2)}, {unpickler.MaxMemo(n)}} {
			for _, mk := range targets[name] {
				check := func(where string, err error) {
					t.Helper()
					if !errors.Is(err, unpickler.ErrLimit) {
						t.Errorf("%s into %T, %s: %v, want ErrLimit", name, mk(), where, err)
					}
				}
				check("bytes", unpickler.Unmarshal(data, mk(), opts...))
				check("segments", unpickler.UnmarshalSegments([][]byte{data[:len(data)/3], data[len(data)/3:]}, mk(), opts...))
				check("reader", unpickler.NewDecoder(&nReader{r: bytes.NewReader(data), n: []int{7, 1, 300}}, opts...).Decode(mk()))
			}
		}
		// Enough room: it decodes.
		if err := unpickler.Unmarshal(data, new(any), unpickler.MaxMemo(5*n)); err != nil {
			t.Errorf("%s with room: %v", name, err)
		}
	}
	// A str over MaxLength / MaxAlloc inside a batch of strs, and of pairs.
	long := "\x80\x04](\x8c\x01a\x8c\x01b\x8c\x10" + "0123456789abcdef" + "e."
	for _, opts := range [][]unpickler.Option{{unpickler.MaxLength(8)}, {unpickler.MaxAlloc(10)}} {
		for _, mk := range []func() any{func() any { return new(any) }, func() any { return new([]string) }} {
			if err := unpickler.Unmarshal([]byte(long), mk(), opts...); !errors.Is(err, unpickler.ErrLimit) {
				t.Errorf("long str into %T: %v, want ErrLimit", mk(), err)
			}
		}
	}
}

// MaxDepth at the edge of the batch loops (which open the next batch's
// MARK themselves): bytes, one-byte segments and a short-read reader give
// the same outcome, and a limit error is ErrLimit.
func TestHuntDepthAtBatchLoops(t *testing.T) {
	for _, data := range []string{
		"\x80\x04](K\x01e(K\x02e(K\x03e.",
		"\x80\x04}(\x8c\x01aK\x01u(\x8c\x01bK\x02u.",
		"\x80\x04](](](K\x01eee.",
		"\x80\x04](}(\x8c\x01a](K\x01e(K\x02eueK\x03a.",
		"\x80\x04]((((K\x01111e.",
		"\x80\x04}(\x8c\x01a](](K\x01eeu.",
	} {
		for depth := 1; depth <= 6; depth++ {
			opt := unpickler.MaxDepth(depth)
			v, err := unpickler.Load([]byte(data), opt)
			if err != nil && !errors.Is(err, unpickler.ErrLimit) {
				t.Errorf("%q depth %d: %v", data, depth, err)
			}
			segs := make([][]byte, len(data))
			for i := range segs {
				segs[i] = []byte(data[i : i+1])
			}
			var v2 any
			err2 := unpickler.UnmarshalSegments(segs, &v2, opt)
			if d := sameOutcome(v, err, v2, err2); d != "" {
				t.Errorf("%q depth %d: bytes and segments: %s", data, depth, d)
			}
			var v3 any
			err3 := unpickler.NewDecoder(&nReader{r: bytes.NewReader([]byte(data)), n: []int{2}}, opt).Decode(&v3)
			if d := sameOutcome(v, err, v3, err3); d != "" {
				t.Errorf("%q depth %d: bytes and reader: %s", data, depth, d)
			}
			for _, mk := range []func() any{func() any { return new([]any) }, func() any { return new([][]int64) }, func() any { return new(map[string][]int64) }} {
				ref, got := mk(), mk()
				e1, e2 := unpickler.RefUnmarshal([]byte(data), ref, opt), unpickler.Unmarshal([]byte(data), got, opt)
				if (e1 == nil) != (e2 == nil) || (e1 != nil && errors.Is(e1, unpickler.ErrLimit) != errors.Is(e2, unpickler.ErrLimit)) {
					t.Errorf("%q depth %d into %T: %v / %v", data, depth, got, e1, e2)
				}
			}
		}
	}
}
