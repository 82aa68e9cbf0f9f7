//go:build !linux

package segments

import (
	"errors"
	"io"
)

func writevTo(w io.Writer, bufs [][]byte) (int64, error, bool) { return 0, nil, false }

// WriteFD is only implemented on Linux.
func WriteFD(fd int, bufs [][]byte) (int64, error) {
	return 0, errors.New("segments: WriteFD needs Linux")
}

// WaitFD is only implemented on Linux.
func WaitFD(fd int, write bool) error { return errors.New("segments: WaitFD needs Linux") }
