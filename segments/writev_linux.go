package segments

import (
	"errors"
	"io"
	"syscall"
	"unsafe"
)

const iovMax = 1024 // IOV_MAX on Linux

// writevTo writes bufs to w with writev(2) when w exposes a raw descriptor
// (through the runtime poller, so deadlines and non-blocking sockets
// work). ok is false when it cannot, and the caller falls back.
func writevTo(w io.Writer, bufs [][]byte) (n int64, err error, ok bool) {
	sc, isConn := w.(syscall.Conn)
	if !isConn {
		return 0, nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	n, err = writevLoop(bufs, func(iov []syscall.Iovec) (int, error) {
		var wrote uintptr
		var werr error
		cerr := rc.Write(func(fd uintptr) bool {
			r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
			if e == syscall.EAGAIN || e == syscall.EINTR {
				return false // wait until writable, then again
			}
			if e != 0 {
				werr = e
			}
			wrote = r
			return true
		})
		if cerr != nil {
			return 0, cerr
		}
		return int(wrote), werr
	})
	return n, err, true
}

// WriteFD writes bufs to a raw file descriptor with writev(2), retrying
// partial writes and EINTR, and waiting on EAGAIN for a non-blocking one.
// The descriptor stays the caller's: it is neither wrapped in an os.File
// (whose finalizer would close it) nor closed. For C callers (cbridge).
func WriteFD(fd int, bufs [][]byte) (int64, error) {
	if fd < 0 {
		return 0, errors.New("segments: negative file descriptor")
	}
	return writevLoop(bufs, func(iov []syscall.Iovec) (int, error) {
		for {
			r, _, e := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
			switch e {
			case 0:
				return int(r), nil
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				if err := WaitFD(fd, true); err != nil {
					return 0, err
				}
				continue
			}
			return 0, e
		}
	})
}

// WaitFD waits until fd is writable (or readable), for up to a second at a
// time: the caller loops.
func WaitFD(fd int, write bool) error {
	if fd >= 1024 {
		return syscall.EAGAIN // select cannot watch it; report, do not spin
	}
	for {
		var set syscall.FdSet
		set.Bits[fd/64] |= 1 << (uint(fd) % 64)
		tv := syscall.Timeval{Sec: 1}
		var err error
		if write {
			_, err = syscall.Select(fd+1, nil, &set, nil, &tv)
		} else {
			_, err = syscall.Select(fd+1, &set, nil, nil, &tv)
		}
		if err == syscall.EINTR {
			continue
		}
		return err
	}
}

// writevLoop feeds bufs to writev in batches of IOV_MAX until all is
// written; bufs itself is never modified.
func writevLoop(bufs [][]byte, writev func([]syscall.Iovec) (int, error)) (int64, error) {
	var total int64
	off := 0 // bytes of bufs[0] already written
	iov := make([]syscall.Iovec, 0, min(len(bufs), iovMax))
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
		wrote, err := writev(iov)
		if err != nil {
			return total, err
		}
		if wrote == 0 {
			return total, io.ErrShortWrite
		}
		total += int64(wrote)
		left := wrote
		for len(bufs) > 0 && left >= len(bufs[0])-off {
			left -= len(bufs[0]) - off
			bufs, off = bufs[1:], 0
		}
		off += left
	}
	return total, nil
}
