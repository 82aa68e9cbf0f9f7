package pickler

import (
	"slices"
)

// Sorting map keys (SortMapKeys, on by default) costs a comparison sort
// O(n log n) string comparisons; for a large map of str keys it would cost
// more than writing the map. Large key sets are radix-sorted on their
// first 8 bytes, and only keys that share those are compared.

// sortEnt is a key with its first 8 bytes, big-endian, zero-padded.
type sortEnt struct {
	pre uint64
	s   string
}

// radixMin is the key count from which radix sorting pays.
const radixMin = 256

// sortStrings sorts a in byte order, with scratch space kept in e.
func (e *encoder) sortStrings(a []string) {
	if len(a) < radixMin {
		slices.Sort(a)
		return
	}
	n := len(a)
	if cap(e.sortBuf) < 2*n {
		e.sortBuf = make([]sortEnt, 2*n)
	}
	src, dst := e.sortBuf[:n], e.sortBuf[n:2*n]
	for i, s := range a {
		var p uint64
		for j := 0; j < 8; j++ {
			p <<= 8
			if j < len(s) {
				p |= uint64(s[j])
			}
		}
		src[i] = sortEnt{pre: p, s: s}
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
	for i := range src {
		a[i] = src[i].s
	}
	// Keys equal in their first 8 bytes: order by the whole key.
	for i := 0; i < n; {
		j := i + 1
		for j < n && src[j].pre == src[i].pre {
			j++
		}
		if j-i > 1 {
			slices.Sort(a[i:j])
		}
		i = j
	}
	clear(e.sortBuf[:2*n]) // drop the strings
}
