package pickler

import (
	"slices"
	"strings"
)

// Sorting map keys (SortMapKeys, on by default) costs a comparison sort
// O(n log n) string comparisons; for a large map of str keys it would cost
// more than writing the map. Large key sets are radix-sorted on their
// first 8 bytes, and only keys that share those are compared.

// sortEnt is a map item: its key, the key's first 8 bytes (big-endian,
// zero-padded), and its value, sorted together so that no value is looked
// up again by its key.
type sortEnt struct {
	pre uint64
	s   string
	v   any
}

// radixMin is the key count from which radix sorting pays.
const radixMin = 256

// sortEnts sorts ents[:n] by key, in byte order; e.sortBuf[n:2n] is
// scratch. The result is in ents or in the scratch half: the one returned.
func (e *encoder) sortEnts(n int) []sortEnt {
	src, dst := e.sortBuf[:n], e.sortBuf[n:2*n]
	for i := range src {
		s := src[i].s
		var p uint64
		for j := 0; j < 8; j++ {
			p <<= 8
			if j < len(s) {
				p |= uint64(s[j])
			}
		}
		src[i].pre = p
	}
	if n < radixMin {
		slices.SortFunc(src, func(a, b sortEnt) int { return strings.Compare(a.s, b.s) })
		return src
	}
	var count [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		clear(count[:])
		for i := range src {
			count[byte(src[i].pre>>shift)]++
		}
		if count[byte(src[0].pre>>shift)] == n {
			continue // every key has this byte: nothing to order by
		}
		pos := 0
		for b := range count {
			c := count[b]
			count[b] = pos
			pos += c
		}
		for i := range src {
			b := byte(src[i].pre >> shift)
			dst[count[b]] = src[i]
			count[b]++
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
			slices.SortFunc(src[i:j], func(a, b sortEnt) int { return strings.Compare(a.s, b.s) })
		}
		i = j
	}
	return src
}
