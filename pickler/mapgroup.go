//go:build gc && go1.26 && !go1.27

package pickler

import "unsafe"

// Reading a small map[string]any's entries where they are (Go 1.26's maps).
//
// A record's values are written in the order of its sorted keys. Looking
// each key up hashes it (a third of the time of a list of small records);
// iterating the map starts at a random slot (branch mispredictions in
// every map). But a Go map of at most 8 entries is one group of 8 slots,
// and maps built by the same steps (the records of a list, made by one
// literal or one decoder) have each key in the same slot: the slot where
// each key of the last record was found is checked in the next (its key's
// length and data pointer compared, the bytes only when the pointers
// differ), with no hash and no search, and the values are read from their
// slots as they are written (no copy, no write barrier).
//
// The layout is the runtime's (internal/runtime/maps: Map, group), not an
// API: this file builds only with Go 1.26 (mapgroup_other.go otherwise:
// no group, the lookups), and init checks the layout on maps it builds,
// leaving the reader off if any check fails. The reader only reads, within
// the group it holds a pointer to (which keeps it alive), and takes a map
// only when it is exactly one group holding exactly the record's keys.

// goMap is the head of the runtime's maps.Map, up to dirLen.
type goMap struct {
	used   uint64         // entries
	seed   uintptr        // the hash seed
	dirPtr unsafe.Pointer // a small map's one group (dirLen 0)
	dirLen int            // 0 for a small map
}

const (
	groupCtrlSize  = 8 // the control word: a byte a slot, high bit clear when full
	groupSlots     = 8
	strAnyElemOff  = int(unsafe.Sizeof(""))                       // a slot of map[string]any: the key,
	strAnySlotSize = strAnyElemOff + int(unsafe.Sizeof(any(nil))) // then the value
)

// groupsOK says that the layout checks of init passed.
var groupsOK = checkGroups()

// smallGroup returns the group of m when m is a small map (one group) of
// n entries, else nil.
func smallGroup(m map[string]any, n int) unsafe.Pointer {
	h := *(**goMap)(unsafe.Pointer(&m))
	if !groupsOK || h == nil || h.dirLen != 0 || h.used != uint64(n) {
		return nil
	}
	return h.dirPtr
}

// groupKey is the key in slot s of group g.
func groupKey(g unsafe.Pointer, s int) *string {
	return (*string)(unsafe.Add(g, groupCtrlSize+s*strAnySlotSize))
}

// checkGroups builds small maps of 1 to 8 entries (one after deleting and
// adding) and checks that reading their groups as smallGroup's callers do
// finds exactly their entries; a map of 9 is not taken for one group.
func checkGroups() bool {
	for n := 1; n <= groupSlots; n++ {
		m := make(map[string]any, n)
		for i := range n {
			m[string(rune('a'+i))] = i
		}
		if n > 1 { // a slot freed and taken again
			delete(m, "a")
			m["z"] = -1
		}
		h := *(**goMap)(unsafe.Pointer(&m))
		if h == nil || h.dirLen != 0 || h.used != uint64(len(m)) || h.dirPtr == nil {
			return false
		}
		ctrl := *(*uint64)(h.dirPtr)
		seen := 0
		for s := range groupSlots {
			if ctrl>>(8*s)&0x80 != 0 {
				continue
			}
			k := *groupKey(h.dirPtr, s)
			v := *(*any)(unsafe.Add(unsafe.Pointer(groupKey(h.dirPtr, s)), strAnyElemOff))
			if w, ok := m[k]; !ok || w != v {
				return false
			}
			seen++
		}
		if seen != len(m) {
			return false
		}
	}
	big := make(map[string]any)
	for i := range groupSlots + 1 {
		big[string(rune('a'+i))] = i
	}
	h := *(**goMap)(unsafe.Pointer(&big))
	return h.dirLen != 0 && h.used == groupSlots+1
}

// recordGroup returns the group of m when m is a small map whose keys are
// exactly keys (e.lastKeys, distinct, at most 8), and fills off with the
// offsets in it of their values, in the order of keys; nil otherwise.
// The offsets found are kept for the next map (e.recOff).
func (e *encoder) recordGroup(keys []string, m map[string]any, off *[recordMax]uint16) unsafe.Pointer {
	n := len(keys)
	g := smallGroup(m, n)
	if g == nil || n > groupSlots {
		return nil
	}
	ctrl := *(*uint64)(g)
	if e.recSlotN == n && ctrl&e.recFull == 0 {
		// The slots of the last map are full (n of them: all of m's
		// entries); do they hold the keys?
		// Keys at the same addresses as the last record's (one literal,
		// one decoder's keys) compare as two words each; others by their
		// bytes.
		*off = e.recOff
		i := 0
		for ; i < n; i++ {
			j := i & (groupSlots - 1)
			if *(*[2]uintptr)(unsafe.Add(g, int(off[j])-strAnyElemOff)) != e.recKeys[j] {
				break
			}
		}
		for ; i < n; i++ {
			k, s := keys[i], (*string)(unsafe.Add(g, int(off[i&(recordMax-1)])-strAnyElemOff))
			if len(*s) != len(k) || unsafe.StringData(*s) != unsafe.StringData(k) && *s != k {
				break
			}
		}
		if i == n {
			return g
		}
	}
	// Find each full slot's key among keys.
	e.recSlotN = 0
	var full uint64
	seen := 0
	for s := range groupSlots {
		if ctrl>>(8*s)&0x80 != 0 {
			continue
		}
		k := *groupKey(g, s)
		j := 0
		for j < n && keys[j] != k {
			j++
		}
		if j == n {
			return nil
		}
		off[j] = uint16(groupCtrlSize + s*strAnySlotSize + strAnyElemOff)
		full |= 0x80 << (8 * s)
		seen |= 1 << j
	}
	if seen != 1<<n-1 { // never for a map (distinct keys, n full slots): a guard
		return nil
	}
	e.recOff, e.recSlotN, e.recFull = *off, n, full
	// A key's header is kept only when it is that of keys[i] (which
	// lastKeys keeps alive): another string of the same bytes may be
	// freed once written, and its address taken by other bytes.
	for i := range n {
		h := *(*[2]uintptr)(unsafe.Add(g, int(off[i])-strAnyElemOff))
		if h != *(*[2]uintptr)(unsafe.Pointer(&keys[i])) {
			h = [2]uintptr{0, ^uintptr(0)} // no string's length: never equal
		}
		e.recKeys[i&(groupSlots-1)] = h
	}
	return g
}
