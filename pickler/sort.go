package pickler

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	op "github.com/segpickle/segpickle/internal/opcode"
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
	ents []sortEnt
	n    int      // the items
	pre  []uint64 // 2n: the keys' prefix8, then radix scratch
	// Compact (gatherCompact) instead of ents: item i at
	// items[i]; keyAt reads the keys there.
	compact bool
	noTies  bool // no two keys are equal in their first 8 bytes
	items   [][compactSize]byte
	// A compact map's keys lent to the by-value memo once written
	// (strTable.later): the key of item lent[j] has memo index lentBase+j.
	lent     []uint32
	lentBase uint32
	order    []uint32
	radix    []radixEnt         // the 16-byte fallback and tie groups
	counts   [][digitMax]uint32 // radix digit counts, a digit each
	or, and  uint64             // over the prefixes: the bits they differ in are or^and
	minLen   int                // the shortest key's length
	maxLen   int                // the longest key's length
}

// takeSort returns the encoder's sort buffers sized for n items.
func (e *encoder) takeSort(n int) *keySort {
	ks := e.sortBufs
	if ks == nil {
		ks = new(keySort)
	}
	e.sortBufs = nil
	if e.strMemo.later == ks {
		e.strMemo.takeLater() // the keys it lends are about to be overwritten
	}
	if cap(ks.pre) < 2*n {
		ks.pre = make([]uint64, 0, 2*n)
	}
	ks.ents, ks.pre = ks.ents[:0], ks.pre[:0]
	ks.compact, ks.noTies = false, false
	ks.or, ks.and = 0, ^uint64(0)
	ks.minLen, ks.maxLen = int(^uint(0)>>1), 0
	return ks
}

// putSort gives the buffers back, dropping the items' keys and values.
func (e *encoder) putSort(ks *keySort) {
	clear(ks.ents)
	if e.sortBufs == nil || cap(ks.pre) > cap(e.sortBufs.pre) {
		e.sortBufs = ks
	}
}

// sizeEnts makes room in ents for n items (add and gather write them).
func (ks *keySort) sizeEnts(n int) {
	if cap(ks.ents) < n {
		ks.ents = make([]sortEnt, 0, n)
	}
}

// keyAt is item i's key. Compact, it is a string over items, which are
// not written again until the buffers are taken for another map
// (takeSort): the sort only compares such strings, and keeps none.
func (ks *keySort) keyAt(i uint32) string {
	if ks.compact {
		it := &ks.items[i]
		return unsafe.String(&it[2], it[1])
	}
	return ks.ents[i].s
}

// add gathers an item.
func (ks *keySort) add(k string, v any) {
	p := prefix8(k)
	ks.ents = append(ks.ents, sortEnt{s: k, v: v})
	ks.pre = append(ks.pre, p)
	ks.or |= p
	ks.and &= p
	ks.minLen = min(ks.minLen, len(k))
	ks.maxLen = max(ks.maxLen, len(k))
}

// gather gathers the items of m (ks is fresh from takeSort, sized for
// len(m)): add's work in one loop, the running bounds in registers and
// the items written in place. It returns false if m held more items than
// it said (only a map written while it is read, which Go forbids, does).
func (ks *keySort) gather(m map[string]any) bool {
	ks.sizeEnts(len(m))
	ents, pre := ks.ents[:len(m)], ks.pre[:len(m)]
	or, and := ks.or, ks.and
	minLen, maxLen := ks.minLen, ks.maxLen
	i := 0
	for k, v := range m {
		if i >= len(ents) {
			return false
		}
		p := prefix8(k)
		ents[i] = sortEnt{s: k, v: v}
		pre[i] = p
		or |= p
		and &= p
		minLen = min(minLen, len(k))
		maxLen = max(maxLen, len(k))
		i++
	}
	ks.ents, ks.pre = ents[:i], pre[:i]
	ks.or, ks.and, ks.minLen, ks.maxLen = or, and, minLen, maxLen
	return true
}

// Compact items (gatherCompact): a key of up to compactKeyMax ASCII
// bytes and a value that is a float64, an int64 of 32 bits, a bool or nil
// — the items of most large maps of numbers — in 32 bytes: the item as it
// goes into the pickle (SHORT_BINUNICODE, the key's length and bytes,
// MEMOIZE, the value's opcode and argument) from byte 0, its length at
// byte 31. Such items are written in key order by copying them: the keys
// are read once, in map order, and nothing gathered holds a pointer.
const (
	compactSize   = 32
	compactKeyMax = 14
)

// gatherCompact is gather for a map written at protocol 4 and above
// whose keys no memo holds (saveSortedLarge's fast case), its items made
// compact. It reports false when an item cannot be (or m changed while
// read): then ks is to be gathered again by gather.
func (ks *keySort) gatherCompact(m map[string]any) bool {
	n := len(m)
	if len(ks.items) < n {
		ks.items = make([][compactSize]byte, n)
	}
	items, pre := ks.items[:n], ks.pre[:n]
	i := 0
	var lens uint32 // bit l set: some key has l bytes
	nulEnd := false // some key ends in a NUL (or is empty)
	// Little is live across the map iterator's call: the prefixes' bounds
	// are made after.
	for k, v := range m {
		kn := len(k)
		if i >= len(items) || kn > compactKeyMax {
			return false
		}
		var k0, k1 uint64
		b := strBytes(k)
		switch {
		case kn > 8:
			k0, k1 = binary.LittleEndian.Uint64(b), tail8(b[8:])
		case kn == 8:
			k0 = binary.LittleEndian.Uint64(b)
		case kn > 0:
			k0 = tail8(b)
		}
		if (k0|k1)&0x8080808080808080 != 0 {
			return false // not ASCII: checked on saveLargeItem's way
		}
		vop, vn, arg := byte(op.Binfloat), 9, uint64(0)
		if f, isF := v.(float64); isF {
			arg = bits.ReverseBytes64(math.Float64bits(f))
		} else {
			switch y := v.(type) {
			case int64:
				switch {
				case y >= 0 && y < 256:
					vop, vn = op.Binint1, 2
				case y >= 0 && y < 65536:
					vop, vn = op.Binint2, 3
				case y >= math.MinInt32 && y <= math.MaxInt32:
					vop, vn = op.Binint, 5
				default:
					return false
				}
				arg = uint64(uint32(int32(y)))
			case bool:
				vop, vn = op.Newfalse, 1
				if y {
					vop = op.Newtrue
				}
			case nil:
				vop, vn = op.None, 1
			default:
				return false
			}
		}
		it := &items[i]
		kn &= 15
		binary.LittleEndian.PutUint16(it[0:], uint16(op.ShortBinunicode)|uint16(kn)<<8)
		binary.LittleEndian.PutUint64(it[2:], k0)
		binary.LittleEndian.PutUint64(it[10:], k1)
		it[2+kn] = op.Memoize
		it[3+kn] = vop
		binary.LittleEndian.PutUint64(it[4+kn:], arg)
		it[31] = byte(3 + kn + vn)
		pre[i] = bits.ReverseBytes64(k0) // prefix8(k)
		lens |= 1 << kn
		nulEnd = nulEnd || byte(k0>>((8*kn-8)&63)) == 0 // meant for keys of up to 8 bytes
		i++
	}
	if i != n {
		return false
	}
	or, and := ks.or, ks.and
	for _, p := range pre {
		or |= p
		and &= p
	}
	// Keys of up to 8 bytes none of which ends in a NUL differ in their
	// prefix8 (zero-padded, a key's length is where its last non-NUL
	// byte is): the sort meets no tie. (The empty key counts as one that
	// ends in a NUL.)
	ks.noTies = bits.Len32(lens)-1 <= 8 && !nulEnd
	ks.pre, ks.compact = pre, true
	ks.or, ks.and = or, and
	ks.minLen, ks.maxLen = bits.TrailingZeros32(lens), bits.Len32(lens)-1
	return true
}

// sort returns the indexes of the items in the byte order of their keys
// (the items stay where they are).
func (ks *keySort) sort() []uint32 {
	n := len(ks.pre)
	ks.n = n
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
	diff, off := ks.or^ks.and, 0
	for diff == 0 && ks.minLen >= off+8 {
		// Every key has the same 8 bytes here: sort on the next 8.
		off += 8
		diff = ks.prefixesAt(off)
	}
	if lz := bits.LeadingZeros64(diff) / 8; lz >= 2 && ks.maxLen > off+8 && ks.minLen >= off+lz {
		// Every key has the same first lz of these bytes, and some go on
		// past them: sort on the 8 bytes from the first that differs.
		off += lz
		diff = ks.prefixesAt(off)
	}
	if diff != 0 {
		var sq, span squeeze
		sq.init(diff)
		span.initSpan(diff)
		// One run, from the lowest differing bit to the highest, costs a
		// shift a key; squeezed, fewer digit passes may be needed.
		maxw := ks.maxDigit()
		spanWins, sqWins := digitWindows(span.apply(diff), maxw, nil), digitWindows(sq.apply(diff), maxw, nil)
		// A radix pass costs about four times what packing one more run
		// does (unrolled up to four runs); below radixMin no pass is
		// made, and the one run of span packs cheapest.
		runCost := sq.n - 1
		if sq.n > 4 {
			runCost = 2 * (sq.n - 1)
		}
		if span.bits+ib <= 64 && (sq.bits+ib > 64 || n < radixMin || 4*spanWins <= 4*sqWins+runCost) {
			ks.sortPacked(order, &span, ib, off)
			return order
		}
		if sq.bits+ib <= 64 {
			ks.sortPacked(order, &sq, ib, off)
			return order
		}
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
		ks.compareSort(a, off)
	} else {
		ks.radixSort(a, tmp, off)
	}
	for j := range a {
		order[j] = a[j].i
	}
	return order
}

// sortPacked sorts the items as uint64s: the squeezed prefix above ib
// bits of index. Large sets are radix-sorted, their digit counts made
// while the words are packed.
func (ks *keySort) sortPacked(order []uint32, sq *squeeze, ib uint, off int) {
	n := ks.n
	if cap(ks.pre) < 2*n {
		ks.pre = append(ks.pre[:n], make([]uint64, n)...)
	}
	ks.pre = ks.pre[:2*n]
	pre, tmp := ks.pre[:n], ks.pre[n:2*n]
	if n < radixMin {
		sq.pack(pre, ib)
		slices.Sort(pre)
		mask := uint64(1)<<ib - 1
		order = order[:len(pre)]
		for j, u := range pre {
			order[j] = uint32(u & mask)
		}
	} else {
		var wins [16]digitWin
		nw := digitWindows(sq.apply(ks.or^ks.and), ks.maxDigit(), &wins)
		nb := 1 << wins[0].w
		if len(ks.counts) < max(nw, 2) {
			ks.counts = make([][digitMax]uint32, max(nw, 2))
		}
		for d := range ks.counts[:nw] {
			clear(ks.counts[d][:nb])
		}
		m := wins[0].mask()
		if nw == 2 && wins[0] == (digitWin{0, 11}) && wins[1] == (digitWin{11, 11}) && ib <= 64-22 {
			// Two adjacent 11-bit digits (keys key0 … key9999): the
			// squeezed prefix goes to the top 22 bits, where each digit is
			// at a fixed shift (a shift by a variable takes a register move
			// in every loop, and the spills around it).
			ib = 64 - 22
			sq.pack(pre, ib)
			pre = ks.sortTop22(order, pre, tmp)
			if pre == nil {
				return // sorted, and no ties (noTies)
			}
		} else {
			sq.pack(pre, ib)
			pre = ks.sortDigits(order, pre, tmp, wins[:nw], ib, m)
		}
	}
	if ks.noTies {
		return
	}
	ties := false
	for j, sh := 1, ib&63; j < len(pre); j++ {
		if pre[j]>>sh == pre[j-1]>>sh {
			ties = true
			break
		}
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
			ks.ties(order[i:j], off)
		}
		i = j
	}
}

// sortTop22 radix-sorts pre, packed words whose squeezed prefixes are
// their top 22 bits, in two 11-bit passes (ks.counts' first two, cleared),
// and puts their indexes (the low 42 bits) in order. It returns the sorted words, or nil when
// noTies (only the indexes are put in order then).
func (ks *keySort) sortTop22(order []uint32, pre, tmp []uint64) []uint64 {
	const low = 64 - 22
	c0, c1 := &ks.counts[0], &ks.counts[1] // cleared
	for _, u := range pre {
		c0[u>>low&(digitMax-1)]++
		c1[u>>(low+11)]++
	}
	var p0, p1 uint32
	for b := range c0 {
		k0, k1 := c0[b], c1[b]
		c0[b], c1[b] = p0, p1
		p0 += k0
		p1 += k1
	}
	for _, u := range pre {
		x := u >> low & (digitMax - 1)
		tmp[c0[x]] = u
		c0[x]++
	}
	const mask = uint64(1)<<low - 1
	order = order[:len(tmp)]
	if ks.noTies {
		for _, u := range tmp {
			x := u >> (low + 11)
			order[c1[x]] = uint32(u & mask)
			c1[x]++
		}
		return nil
	}
	for _, u := range tmp {
		x := u >> (low + 11)
		pre[c1[x]] = u
		order[c1[x]] = uint32(u & mask)
		c1[x]++
	}
	return pre
}

// sortDigits radix-sorts pre, packed words (ib index bits), by the
// digits wins (masked by m), and puts their indexes in order; it returns
// the sorted words (pre or tmp), or nil when noTies (only the indexes
// are put in order then).
func (ks *keySort) sortDigits(order []uint32, pre, tmp []uint64, wins []digitWin, ib uint, m uint64) []uint64 {
	nw, nb := len(wins), 1<<wins[0].w
	counts := ks.counts[:nw]
	{
		// The digit counts; the arrays are indexed through a mask below
		// their length (no bounds check).
		switch nw {
		case 1:
			c0, s0 := &counts[0], (ib+wins[0].shift)&63
			for _, u := range pre {
				c0[u>>s0&m&(digitMax-1)]++
			}
		case 2:
			c0, c1, s0, s1 := &counts[0], &counts[1], (ib+wins[0].shift)&63, (ib+wins[1].shift)&63
			for _, u := range pre {
				c0[u>>s0&m&(digitMax-1)]++
				c1[u>>s1&m&(digitMax-1)]++
			}
		case 3:
			c0, c1, c2 := &counts[0], &counts[1], &counts[2]
			s0, s1, s2 := (ib+wins[0].shift)&63, (ib+wins[1].shift)&63, (ib+wins[2].shift)&63
			for _, u := range pre {
				c0[u>>s0&m&(digitMax-1)]++
				c1[u>>s1&m&(digitMax-1)]++
				c2[u>>s2&m&(digitMax-1)]++
			}
		default:
			for _, u := range pre {
				for d := range counts {
					counts[d][u>>(ib+wins[d].shift)&m&(digitMax-1)]++
				}
			}
		}
		src, dst := pre, tmp
		for d := range nw {
			c := &counts[d]
			var pos uint32
			for b := range c[:nb] {
				k := c[b]
				c[b] = pos
				pos += k
			}
			shift := (ib + wins[d].shift) & 63 // masked: no test for 64 and over (see pack)
			if d < nw-1 {
				for _, u := range src {
					x := u >> shift & m & (digitMax - 1)
					dst[c[x]] = u
					c[x]++
				}
			} else if ks.noTies { // the last pass puts the indexes in order
				mask := uint64(1)<<(ib&63) - 1
				order = order[:len(src)]
				for _, u := range src {
					x := u >> shift & m & (digitMax - 1)
					order[c[x]] = uint32(u & mask)
					c[x]++
				}
				return nil
			} else { // the last pass also puts the indexes in order
				mask := uint64(1)<<(ib&63) - 1
				order = order[:len(dst)]
				for _, u := range src {
					x := u >> shift & m & (digitMax - 1)
					dst[c[x]] = u
					order[c[x]] = uint32(u & mask)
					c[x]++
				}
			}
			src, dst = dst, src
		}
		return src
	}
}

// prefixesAt sets pre to the prefix8 of every key from off (each has at
// least off bytes) and returns the bits in which they differ.
func (ks *keySort) prefixesAt(off int) uint64 {
	or, and := uint64(0), ^uint64(0)
	for i := range ks.n {
		p := prefix8(ks.keyAt(uint32(i))[off:])
		ks.pre[i] = p
		or |= p
		and &= p
	}
	ks.or, ks.and = or, and
	return or ^ and
}

// digitMax is the number of values of the widest radix digit (11 bits).
const digitMax = 1 << 11

// digitWin is a radix digit: bits [shift, shift+w) of a squeezed prefix.
type digitWin struct{ shift, w uint }

func (d digitWin) mask() uint64 { return uint64(1)<<d.w - 1 }

// digitWindows covers the set bits of d (the bits in which squeezed
// prefixes differ) with digits of up to maxw bits, from the least
// significant, skipping bits in which no two keys differ; it returns how
// many, and puts them in wins unless it is nil.
func digitWindows(d uint64, maxw uint, wins *[16]digitWin) int {
	n := 0
	for d != 0 {
		l := uint(bits.TrailingZeros64(d))
		if wins != nil {
			wins[n] = digitWin{l, maxw}
		}
		n++
		if l+maxw >= 64 {
			break
		}
		d &^= uint64(1)<<(l+maxw) - 1
	}
	return n
}

// maxDigit is the widest radix digit for the items: 11 bits, fewer for
// fewer items, so that the counts stay small beside the items.
func (ks *keySort) maxDigit() uint {
	if l := uint(bits.Len(uint(ks.n))); l < 13 {
		return max(l-2, 4)
	}
	return 11 // digitMax
}

// ties orders g, indexes of items whose keys are equal in their first
// off+8 bytes (the last 8 zero-padded), as radixSort orders a group of
// equal prefixes.
func (ks *keySort) ties(g []uint32, off int) {
	m := len(g)
	if cap(ks.radix) < 2*m {
		ks.radix = make([]radixEnt, 2*m)
	}
	a, tmp := ks.radix[:m], ks.radix[m:2*m]
	for k, i := range g {
		a[k] = radixEnt{i: i}
	}
	if m < tieMin || !ks.allLonger(a, off+8) {
		ks.compareSort(a, off)
	} else {
		ks.radixSort(a, tmp, off+8)
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

// initSpan sets one run, from the lowest bit of diff (not 0) to its
// highest.
func (sq *squeeze) initSpan(diff uint64) {
	lo := uint(bits.TrailingZeros64(diff))
	sq.n, sq.bits = 1, uint(64-bits.LeadingZeros64(diff))-lo
	sq.shift[0], sq.out[0] = uint8(lo), 0
	sq.mask[0] = ^uint64(0) >> (64 - sq.bits)
}

// pack replaces each prefix pre[i] by its squeeze above ib bits of i.
// Each run is one rotation and one mask: its bits go from where they
// start to where they end up above the index bits (a run never starts
// below where it ends up, and the squeeze and the index fit in 64 bits:
// no bit wraps into the result).
func (sq *squeeze) pack(pre []uint64, ib uint) {
	var rot [maxRuns]int
	var msk [maxRuns]uint64
	for k := range sq.n {
		rot[k] = int(ib) + int(sq.out[k]) - int(sq.shift[k])
		msk[k] = sq.mask[k] << (ib + uint(sq.out[k]))
	}
	// Up to four runs (keys of digits, most often) unrolled, the
	// rotations and masks in registers.
	r0, m0, r1, m1 := rot[0], msk[0], rot[1], msk[1]
	switch sq.n {
	case 1:
		for i, p := range pre {
			pre[i] = bits.RotateLeft64(p, r0)&m0 | uint64(i)
		}
		return
	case 2:
		for i, p := range pre {
			pre[i] = bits.RotateLeft64(p, r0)&m0 | bits.RotateLeft64(p, r1)&m1 | uint64(i)
		}
		return
	case 3:
		r2, m2 := rot[2], msk[2]
		for i, p := range pre {
			pre[i] = bits.RotateLeft64(p, r0)&m0 | bits.RotateLeft64(p, r1)&m1 | bits.RotateLeft64(p, r2)&m2 | uint64(i)
		}
		return
	case 4:
		r2, m2, r3, m3 := rot[2], msk[2], rot[3], msk[3]
		for i, p := range pre {
			pre[i] = bits.RotateLeft64(p, r0)&m0 | bits.RotateLeft64(p, r1)&m1 |
				bits.RotateLeft64(p, r2)&m2 | bits.RotateLeft64(p, r3)&m3 | uint64(i)
		}
		return
	}
	for i, p := range pre {
		var r uint64
		for k := range sq.n {
			r |= bits.RotateLeft64(p, rot[k]) & msk[k]
		}
		pre[i] = r | uint64(i)
	}
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
func (ks *keySort) radixSort(a, tmp []radixEnt, off int) {
	for {
		if diff := ks.setPrefixes(a, off); diff != 0 {
			if radixPasses(a, tmp, diff) {
				copy(a, tmp)
			}
			break
		}
		// All equal in these 8 bytes: a tie group of the whole of a.
		if !ks.allLonger(a, off+8) {
			ks.compareSort(a, off)
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
			if j-i < tieMin || !ks.allLonger(g, off+8) {
				ks.compareSort(g, off)
			} else {
				ks.radixSort(g, tmp[i:j], off+8)
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
func (ks *keySort) allLonger(a []radixEnt, n int) bool {
	for _, r := range a {
		if len(ks.keyAt(r.i)) < n {
			return false
		}
	}
	return true
}

// setPrefixes puts in pre the 8 bytes from off of the keys a names (each
// has at least off bytes) and returns the bits in which they differ.
func (ks *keySort) setPrefixes(a []radixEnt, off int) (diff uint64) {
	or, and := uint64(0), ^uint64(0)
	for k := range a {
		p := prefix8(ks.keyAt(a[k].i)[off:])
		a[k].pre = p
		or |= p
		and &= p
	}
	return or ^ and
}

// compareSort sorts a by comparison of its keys, whose first off bytes are
// equal.
func (ks *keySort) compareSort(a []radixEnt, off int) {
	slices.SortFunc(a, func(x, y radixEnt) int { return strings.Compare(ks.keyAt(x.i)[off:], ks.keyAt(y.i)[off:]) })
}

// takeLater adds the keys that a compact map lent (later) as entries, as
// addNew would have, out of its buffers: one string holds their bytes.
func (m *strTable) takeLater() {
	ks := m.later
	m.later = nil
	size := 0
	for _, i := range ks.lent {
		size += int(ks.items[i][1])
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, i := range ks.lent {
		it := &ks.items[i]
		sb.Write(it[2 : 2+it[1]])
	}
	all := sb.String()
	m.entries = slices.Grow(m.entries, len(ks.lent))
	at := 0
	for j, i := range ks.lent {
		n := int(ks.items[i][1])
		m.entries = append(m.entries, strEntry{s: all[at : at+n], idx: ks.lentBase + uint32(j)})
		at += n
	}
	ks.lent = nil
}
