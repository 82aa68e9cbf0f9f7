//go:build !linux

package segments

import "io"

func writevTo(w io.Writer, bufs [][]byte) (int64, error, bool) { return 0, nil, false }
