package pickler

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"
)

// Sorting map keys (SortMapKeys, on by default) costs a comparison sort
// O(n log n) string comparisons; for a large map of str keys it would cost
// more than writing the map. Large key sets are radix-sorted on their
// first 8 bytes, and only keys that share those are compared.

// sortEnt is a map item: its key and its value, kept together so that no
// value is looked up again by its key.
type sortEnt struct {
	s string
	v any
}

// radixEnt is what the radix sort moves: a key's first 8 bytes
// (big-endian, zero-padded) and the index of its sortEnt, 16 bytes where
// the item is 32.
type radixEnt struct {
	pre uint64
	i   uint32
}

// radixMin is the key count from which radix sorting pays.
const radixMin = 256

// prefix8 is s's first 8 bytes, big-endian, zero-padded.
func prefix8(s string) uint64 {
	n := len(s)
	if n >= 8 {
		return binary.BigEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
	}
	b := unsafe.Slice(unsafe.StringData(s), n)
	var p uint64
	j := 0
	if n >= 4 {
		p, j = uint64(binary.BigEndian.Uint32(b))<<32, 4
	}
	for ; j < n; j++ {
		p |= uint64(b[j]) << (56 - 8*j)
	}
	return p
}

// sortEnts sorts the items e.sortBuf[:n] by key, in byte order. Under
// radixMin items they are sorted in place and order is nil; from radixMin,
// they stay where they are and order lists their indexes in key order.
func (e *encoder) sortEnts(n int) (order []radixEnt) {
	ents := e.sortBuf[:n]
	if n < radixMin {
		slices.SortFunc(ents, func(a, b sortEnt) int { return strings.Compare(a.s, b.s) })
		return nil
	}
	if cap(e.radixBuf) < 2*n {
		e.radixBuf = make([]radixEnt, 2*n)
	}
	src, dst := e.radixBuf[:n], e.radixBuf[n:2*n]
	// One pass finds the prefixes and the counts of all eight digits.
	var count [8][256]uint32
	for i := range ents {
		p := prefix8(ents[i].s)
		src[i] = radixEnt{pre: p, i: uint32(i)}
		count[0][byte(p)]++
		count[1][byte(p>>8)]++
		count[2][byte(p>>16)]++
		count[3][byte(p>>24)]++
		count[4][byte(p>>32)]++
		count[5][byte(p>>40)]++
		count[6][byte(p>>48)]++
		count[7][byte(p>>56)]++
	}
	for d := 0; d < 8; d++ {
		shift := uint(8 * d)
		c := &count[d]
		if int(c[byte(src[0].pre>>shift)]) == n {
			continue // every key has this byte: nothing to order by
		}
		var pos uint32
		for b := range c {
			k := c[b]
			c[b] = pos
			pos += k
		}
		for _, r := range src {
			b := byte(r.pre >> shift)
			dst[c[b]] = r
			c[b]++
		}
		src, dst = dst, src
	}
	// Keys equal in their first 8 bytes: order by the whole key.
	for i := 0; i < n; {
		j := i + 1
		for j < n && src[j].pre == src[i].pre {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(src[i:j], func(a, b radixEnt) int { return strings.Compare(ents[a.i].s, ents[b.i].s) })
		}
		i = j
	}
	return src
}
