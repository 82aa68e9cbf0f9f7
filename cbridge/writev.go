//go:build cgo

package main

import (
	"errors"

	"github.com/segpickle/segpickle/segments"
)

func writevFD(fd int, segs [][]byte) (int64, error) {
	if fd < 0 {
		return 0, errors.Join(errArgument, errors.New("negative file descriptor"))
	}
	return segments.WriteFD(fd, segs)
}

func waitReadable(fd int) error { return segments.WaitFD(fd, false) }
