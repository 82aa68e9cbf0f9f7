package segments

import (
	"io"
	"syscall"
	"unsafe"
)

const iovMax = 1024 // IOV_MAX on Linux

// writevTo writes bufs to w with writev(2) when w exposes a raw descriptor.
// ok is false when it cannot, and the caller falls back.
func writevTo(w io.Writer, bufs [][]byte) (n int64, err error, ok bool) {
	sc, isConn := w.(syscall.Conn)
	if !isConn {
		return 0, nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	iov := make([]syscall.Iovec, 0, min(len(bufs), iovMax))
	off := 0 // bytes of bufs[0] already written; bufs itself is never modified
	var werr error
	for len(bufs) > 0 {
		iov = iov[:0]
		for i, b := range bufs {
			if len(iov) == iovMax {
				break
			}
			if i == 0 {
				b = b[off:]
			}
			if len(b) == 0 {
				continue
			}
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
		if len(iov) == 0 {
			break
		}
		var wrote uintptr
		cerr := rc.Write(func(fd uintptr) bool {
			r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
			if e == syscall.EAGAIN {
				return false // wait until writable
			}
			if e == syscall.EINTR {
				return false
			}
			if e != 0 {
				werr = e
			}
			wrote = r
			return true
		})
		if cerr != nil {
			return n, cerr, true
		}
		if werr != nil {
			return n, werr, true
		}
		if wrote == 0 {
			return n, io.ErrShortWrite, true
		}
		n += int64(wrote)
		// Advance bufs by wrote bytes.
		left := int(wrote)
		for len(bufs) > 0 && left >= len(bufs[0])-off {
			left -= len(bufs[0]) - off
			bufs, off = bufs[1:], 0
		}
		off += left
	}
	return n, nil, true
}
