package py

import "unsafe"

// NewDictLike returns a new Dict of the pairs kv (keys and values
// alternating) when their keys are like's keys in like's order, all of
// them strs, and there are at most 8 of them; nil otherwise.
//
// A decoder meets the same keys in every record of a list: NewDictLike
// makes each record's dict with one comparison a key (two words when the
// key is the very interface value like holds, as a memoized key is)
// where SetItems looks for duplicates among them, which like's keys, a
// Dict's, cannot have.
func NewDictLike(like *Dict, kv []any) *Dict {
	n := len(kv) / 2
	if like == nil || n == 0 || n > indexMin || len(kv) != 2*len(like.items) {
		return nil
	}
	pairs := unsafe.Slice((*Item)(unsafe.Pointer(&kv[0])), n) // an Item is two interfaces, as a pair of kv
	for j := range pairs {
		if !sameStrKey(&pairs[j].Key, &like.items[j].Key) {
			return nil
		}
	}
	d := NewDict(n)
	d.items = d.items[:n]
	copy(d.items, pairs)
	return d
}

// sameStrKey reports whether *a and *b are equal strs. Two interfaces with
// the same type and data words hold the same str: that case is two
// comparisons.
func sameStrKey(a, b *any) bool {
	wa, wb := (*[2]unsafe.Pointer)(unsafe.Pointer(a)), (*[2]unsafe.Pointer)(unsafe.Pointer(b))
	if wa[0] == wb[0] && wa[1] == wb[1] {
		_, ok := (*a).(string)
		return ok
	}
	s, ok := (*a).(string)
	k, isStr := (*b).(string)
	return ok && isStr && s == k
}
