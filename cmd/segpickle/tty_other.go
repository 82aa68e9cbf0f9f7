//go:build !linux

package main

import "os"

// fileIsTerminal reports whether f is a character device other than the
// null device (no isatty without x/sys here).
func fileIsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	n, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, n)
}
