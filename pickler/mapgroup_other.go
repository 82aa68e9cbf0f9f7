//go:build !gc || !go1.26 || go1.27

package pickler

import "unsafe"

// groupsOK is false: no map is read in place (tests switch it).
var groupsOK = false

// recordGroup reads no map in place outside Go 1.26 (see mapgroup.go):
// records take sortedItems' lookups.
func (e *encoder) recordGroup(keys []string, m map[string]any, off *[recordMax]uint16) unsafe.Pointer {
	_ = groupsOK
	return nil
}
