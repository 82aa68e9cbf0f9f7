package pickler

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"
)

// Sorting map keys (SortMapKeys, on by default) costs a comparison sort
// O(n log n) string comparisons; for a large map of str keys it would cost
// more than writing the map. Large key sets are radix-sorted on 8 bytes of
// their keys at a time, as big-endian integers: one pass counts, then one
// pass per byte moves 16-byte entries, over only the bytes in which the
// keys differ (keys "key0" … "key9999" differ in 4 of their first 8:
// four passes). Keys equal in those 8 bytes are sorted again on
// their next 8 (a shared prefix of any length costs one look per 8 bytes,
// never a comparison sort of the whole set), and small groups, or groups
// with a key that ends inside the 8 bytes, by comparison. The order is
// byte-wise, strings.Compare's.

// sortEnt is a map item: its key and its value, kept together so that no
// value is looked up again by its key.
type sortEnt struct {
	s string
	v any
}

// radixEnt is what the radix sort moves: 8 bytes of a key (big-endian,
// zero-padded) and the index of its sortEnt, 16 bytes where the item is 32.
type radixEnt struct {
	pre uint64
	i   uint32
}

// radixMin is the key count from which radix sorting pays; tieMin is the
// group size from which keys equal in 8 bytes are radix-sorted on their
// next 8 rather than compared.
const (
	radixMin = 256
	tieMin   = 64
)

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

// sortEnts returns the indexes of the items e.sortBuf[:n] in the byte
// order of their keys (the items stay where they are).
func (e *encoder) sortEnts(n int) (order []radixEnt) {
	ents := e.sortBuf[:n]
	if cap(e.radixBuf) < 2*n {
		e.radixBuf = make([]radixEnt, 2*n)
	}
	a, tmp := e.radixBuf[:n], e.radixBuf[n:2*n]
	for i := range ents {
		a[i].i = uint32(i)
	}
	if n < radixMin {
		compareSort(ents, a, 0)
		return a
	}
	e.radixSort(ents, a, tmp, 0)
	return a
}

// radixSort sorts a by the keys of ents it names. Every key of a has at
// least off bytes and the same first off bytes; tmp is scratch of a's
// length.
func (e *encoder) radixSort(ents []sortEnt, a, tmp []radixEnt, off int) {
	for {
		if diff := setPrefixes(ents, a, off); diff != 0 {
			if e.radixPasses(a, tmp, diff) {
				copy(a, tmp)
			}
			break
		}
		// All equal in these 8 bytes: a tie group of the whole of a.
		if !allLonger(ents, a, off+8) {
			compareSort(ents, a, off)
			return
		}
		off += 8
	}
	// Keys equal in these 8 bytes are adjacent: order each such group.
	for i := 0; i < len(a); {
		j := i + 1
		for j < len(a) && a[j].pre == a[i].pre {
			j++
		}
		if j-i > 1 {
			g := a[i:j]
			if j-i < tieMin || !allLonger(ents, g, off+8) {
				compareSort(ents, g, off)
			} else {
				e.radixSort(ents, g, tmp[i:j], off+8)
			}
		}
		i = j
	}
}

// radixPasses sorts a by pre, least significant byte first, skipping the
// bytes in which no two keys differ (zero in diff). Byte digits suit text
// keys: the few values a byte of text takes scatter into few runs. The
// result is in tmp when it reports true, else in a.
func (e *encoder) radixPasses(a, tmp []radixEnt, diff uint64) (inTmp bool) {
	var count [8][256]uint32
	for _, r := range a {
		p := r.pre
		count[0][byte(p)]++
		count[1][byte(p>>8)]++
		count[2][byte(p>>16)]++
		count[3][byte(p>>24)]++
		count[4][byte(p>>32)]++
		count[5][byte(p>>40)]++
		count[6][byte(p>>48)]++
		count[7][byte(p>>56)]++
	}
	src, dst := a, tmp
	for d := 0; d < 8; d++ {
		shift := uint(8 * d)
		if byte(diff>>shift) == 0 {
			continue // every key has this byte: nothing to order by
		}
		c := &count[d]
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
		inTmp = !inTmp
	}
	return inTmp
}

// allLonger reports whether every key a names has at least n bytes.
func allLonger(ents []sortEnt, a []radixEnt, n int) bool {
	for _, r := range a {
		if len(ents[r.i].s) < n {
			return false
		}
	}
	return true
}

// setPrefixes puts in pre the 8 bytes from off of the keys a names (each
// has at least off bytes) and returns the bits in which they differ.
func setPrefixes(ents []sortEnt, a []radixEnt, off int) (diff uint64) {
	or, and := uint64(0), ^uint64(0)
	for k := range a {
		p := prefix8(ents[a[k].i].s[off:])
		a[k].pre = p
		or |= p
		and &= p
	}
	return or ^ and
}

// compareSort sorts a by comparison of its keys, whose first off bytes are
// equal.
func compareSort(ents []sortEnt, a []radixEnt, off int) {
	slices.SortFunc(a, func(x, y radixEnt) int { return strings.Compare(ents[x.i].s[off:], ents[y.i].s[off:]) })
}
