package pickler

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"unsafe"
)

// Sorting map keys (SortMapKeys, on by default) costs a comparison sort
// O(n log n) string comparisons; for a large map of str keys it would cost
// more than writing the map. Instead, each key's first 8 bytes are read
// once, as a big-endian integer (prefix8), while the map is gathered
// (keySort.add). The bits in which those prefixes differ are squeezed
// together (keys "key0" … "key9999" differ in 22 of their 64 bits) and
// packed with the item's index into one uint64, and the uint64s are sorted
// as integers: radix passes of up to 11 bits for large maps, pdqsort for
// smaller ones. Keys equal in their first 8 bytes end up adjacent and are
// ordered among themselves by their next 8 (radixSort, recursively) or by
// comparison. Where the prefix bits and the index do not fit in 64 bits,
// (prefix, index) entries of 16 bytes are radix-sorted a byte at a time
// instead. The order is byte-wise, strings.Compare's.

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

// prefix8 is s's first 8 bytes, big-endian, zero-padded. A short key is
// read as two loads that overlap (its bytes are never read past its end).
func prefix8(s string) uint64 {
	n := len(s)
	b := unsafe.Slice(unsafe.StringData(s), n)
	switch {
	case n >= 8:
		return binary.BigEndian.Uint64(b)
	case n >= 4:
		hi := uint64(binary.BigEndian.Uint32(b)) << 32
		lo := uint64(binary.BigEndian.Uint32(b[n-4:])) << (64 - 8*uint(n))
		return hi | lo
	case n >= 2:
		hi := uint64(binary.BigEndian.Uint16(b)) << 48
		lo := uint64(binary.BigEndian.Uint16(b[n-2:])) << (64 - 8*uint(n))
		return hi | lo
	case n == 1:
		return uint64(b[0]) << 56
	}
	return 0
}

// keySort gathers a map's items and sorts them by key. The buffers are
// the encoder's, taken for one map (takeSort) and given back after its
// items are written (putSort), so that a map nested in a value takes
// fresh ones.
//
//	ks := e.takeSort(n)
//	for k, v := range m { ks.add(k, v) }
//	for _, i := range ks.sort() { … ks.ents[i] … }
//	e.putSort(ks)
type keySort struct {
	ents    []sortEnt
	pre     []uint64 // 2n: the keys' prefix8, then radix scratch
	order   []uint32
	radix   []radixEnt // the 16-byte fallback and tie groups
	counts  []uint32   // radix digit counts
	or, and uint64     // over the prefixes: the bits they differ in are or^and
}

// takeSort returns the encoder's sort buffers sized for n items.
func (e *encoder) takeSort(n int) *keySort {
	ks := e.sortBufs
	if ks == nil {
		ks = new(keySort)
	}
	e.sortBufs = nil
	if cap(ks.ents) < n {
		ks.ents = make([]sortEnt, 0, n)
	}
	if cap(ks.pre) < 2*n {
		ks.pre = make([]uint64, 0, 2*n)
	}
	ks.ents, ks.pre = ks.ents[:0], ks.pre[:0]
	ks.or, ks.and = 0, ^uint64(0)
	return ks
}

// putSort gives the buffers back, dropping the items' keys and values.
func (e *encoder) putSort(ks *keySort) {
	clear(ks.ents)
	if e.sortBufs == nil || cap(ks.ents) > cap(e.sortBufs.ents) {
		e.sortBufs = ks
	}
}

// add gathers an item.
func (ks *keySort) add(k string, v any) {
	p := prefix8(k)
	ks.ents = append(ks.ents, sortEnt{s: k, v: v})
	ks.pre = append(ks.pre, p)
	ks.or |= p
	ks.and &= p
}

// sort returns the indexes of the items in the byte order of their keys
// (the items stay where they are).
func (ks *keySort) sort() []uint32 {
	n := len(ks.ents)
	if cap(ks.order) < n {
		ks.order = make([]uint32, n)
	}
	order := ks.order[:n]
	if n <= 1 {
		for i := range order {
			order[i] = uint32(i)
		}
		return order
	}
	ib := uint(bits.Len(uint(n - 1))) // index bits
	var sq squeeze
	if diff := ks.or ^ ks.and; diff != 0 && sq.init(diff) && sq.bits+ib <= 64 {
		ks.sortPacked(order, &sq, ib)
		return order
	}
	// Too many bits for one word (or one prefix for all): 16-byte entries.
	if cap(ks.radix) < 2*n {
		ks.radix = make([]radixEnt, 2*n)
	}
	a, tmp := ks.radix[:n], ks.radix[n:2*n]
	for i := range a {
		a[i] = radixEnt{i: uint32(i)}
	}
	if n < radixMin {
		compareSort(ks.ents, a, 0)
	} else {
		radixSort(ks.ents, a, tmp, 0)
	}
	for j := range a {
		order[j] = a[j].i
	}
	return order
}

// sortPacked sorts the items as uint64s: the squeezed prefix above ib
// bits of index. Large sets are radix-sorted, their digit counts made
// while the words are packed.
func (ks *keySort) sortPacked(order []uint32, sq *squeeze, ib uint) {
	n := len(ks.ents)
	if cap(ks.pre) < 2*n {
		ks.pre = append(ks.pre[:n], make([]uint64, n)...)
	}
	ks.pre = ks.pre[:2*n]
	pre, tmp := ks.pre[:n], ks.pre[n:2*n]
	if n < radixMin {
		for i, p := range pre {
			pre[i] = sq.apply(p)<<ib | uint64(i)
		}
		slices.Sort(pre)
	} else {
		// Passes of w bits (up to 11; fewer for fewer items, so that the
		// counts stay small beside the items).
		maxw := uint(11)
		if l := uint(bits.Len(uint(n))); l < 13 {
			maxw = max(l-2, 4)
		}
		passes := (sq.bits + maxw - 1) / maxw
		w := (sq.bits + passes - 1) / passes
		nb := 1 << w
		if cap(ks.counts) < int(passes)*nb {
			ks.counts = make([]uint32, int(passes)*nb)
		}
		counts := ks.counts[:int(passes)*nb]
		clear(counts)
		m := uint64(nb - 1)
		if passes == 2 {
			c0, c1 := counts[:nb], counts[nb:]
			for i, p := range pre {
				x := sq.apply(p)
				pre[i] = x<<ib | uint64(i)
				c0[x&m]++
				c1[x>>w&m]++
			}
		} else {
			for i, p := range pre {
				x := sq.apply(p)
				pre[i] = x<<ib | uint64(i)
				for d := uint(0); d < passes; d++ {
					counts[int(d)*nb+int(x>>(d*w)&m)]++
				}
			}
		}
		src, dst := pre, tmp
		for d := uint(0); d < passes; d++ {
			c := counts[int(d)*nb : int(d+1)*nb]
			var pos uint32
			for b, k := range c {
				c[b] = pos
				pos += k
			}
			shift := ib + d*w
			for _, u := range src {
				x := u >> shift & m
				dst[c[x]] = u
				c[x]++
			}
			src, dst = dst, src
		}
		pre = src
	}
	mask := uint64(1)<<ib - 1
	ties := false
	prev := ^uint64(0)
	for j, u := range pre {
		order[j] = uint32(u & mask)
		ties = ties || u>>ib == prev
		prev = u >> ib
	}
	if !ties {
		return
	}
	// Keys equal in their first 8 bytes are adjacent: order each such group.
	for i := 0; i < n; {
		j := i + 1
		for j < n && pre[j]>>ib == pre[i]>>ib {
			j++
		}
		if j-i > 1 {
			ks.ties(order[i:j])
		}
		i = j
	}
}

// ties orders g, indexes of items whose keys are equal in their first 8
// bytes (zero-padded), as radixSort orders a group of equal prefixes.
func (ks *keySort) ties(g []uint32) {
	m := len(g)
	if cap(ks.radix) < 2*m {
		ks.radix = make([]radixEnt, 2*m)
	}
	a, tmp := ks.radix[:m], ks.radix[m:2*m]
	for k, i := range g {
		a[k] = radixEnt{i: i}
	}
	if m < tieMin || !allLonger(ks.ents, a, 8) {
		compareSort(ks.ents, a, 0)
	} else {
		radixSort(ks.ents, a, tmp, 8)
	}
	for k := range a {
		g[k] = a[k].i
	}
}

// squeeze packs the bits of a prefix in which keys differ into the low
// bits of a word, in their order of significance (bits that are the same
// in every key do not change the order). The bits are taken as up to
// maxRuns runs of adjacent bits; where they form more runs, the runs with
// the smallest gaps between them are joined (the gap's bits go along).
type squeeze struct {
	n     int
	shift [maxRuns]uint8  // where the run starts in the prefix
	out   [maxRuns]uint8  // where it goes in the result
	mask  [maxRuns]uint64 // its width, as a mask
	bits  uint            // the result's width
}

const maxRuns = 6

// init sets the runs for the differing bits diff (not 0); it reports
// false only if diff is 0.
func (sq *squeeze) init(diff uint64) bool {
	if diff == 0 {
		return false
	}
	// The runs of diff, from the least significant: [lo, hi).
	var lo, hi [32]uint8
	n := 0
	for d := diff; d != 0; {
		l := bits.TrailingZeros64(d)
		h := l + bits.TrailingZeros64(^(d >> uint(l)))
		if h >= 64 {
			h = 64
		}
		lo[n], hi[n] = uint8(l), uint8(h)
		n++
		if h == 64 {
			break
		}
		d &^= (uint64(1)<<uint(h) - 1)
	}
	for n > maxRuns { // join the two runs with the smallest gap between them
		best := 0
		for k := 1; k < n-1; k++ {
			if lo[k+1]-hi[k] < lo[best+1]-hi[best] {
				best = k
			}
		}
		hi[best] = hi[best+1]
		copy(lo[best+1:n-1], lo[best+2:n])
		copy(hi[best+1:n-1], hi[best+2:n])
		n--
	}
	sq.n, sq.bits = n, 0
	for k := 0; k < n; k++ {
		w := uint(hi[k] - lo[k])
		sq.shift[k], sq.out[k] = lo[k], uint8(sq.bits)
		sq.mask[k] = uint64(1)<<w - 1
		if w == 64 {
			sq.mask[k] = ^uint64(0)
		}
		sq.bits += w
	}
	return true
}

// apply squeezes prefix p.
func (sq *squeeze) apply(p uint64) uint64 {
	var r uint64
	for k := 0; k < sq.n; k++ {
		r |= (p >> sq.shift[k] & sq.mask[k]) << sq.out[k]
	}
	return r
}

// radixSort sorts a by the keys of ents it names. Every key of a has at
// least off bytes and the same first off bytes; tmp is scratch of a's
// length.
func radixSort(ents []sortEnt, a, tmp []radixEnt, off int) {
	for {
		if diff := setPrefixes(ents, a, off); diff != 0 {
			if radixPasses(a, tmp, diff) {
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
				radixSort(ents, g, tmp[i:j], off+8)
			}
		}
		i = j
	}
}

// radixPasses sorts a by pre, least significant byte first, skipping the
// bytes in which no two keys differ (zero in diff). Byte digits suit text
// keys: the few values a byte of text takes scatter into few runs. The
// result is in tmp when it reports true, else in a.
func radixPasses(a, tmp []radixEnt, diff uint64) (inTmp bool) {
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
