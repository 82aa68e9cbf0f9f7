package main

import (
	"errors"
	"syscall"
	"unsafe"
)

const iovMax = 1024

// writevFD writes segs to a raw descriptor with writev, retrying partial
// writes and EINTR, and waiting (select) on EAGAIN for non-blocking
// descriptors. The descriptor stays the caller's: it is neither wrapped in
// an os.File (whose finalizer would close it) nor closed.
func writevFD(fd int, segs [][]byte) (int64, error) {
	if fd < 0 {
		return 0, errors.Join(errArgument, errors.New("negative file descriptor"))
	}
	var total int64
	off := 0
	iov := make([]syscall.Iovec, 0, min(len(segs), iovMax))
	for len(segs) > 0 {
		iov = iov[:0]
		for i, s := range segs {
			if len(iov) == iovMax {
				break
			}
			if i == 0 {
				s = s[off:]
			}
			if len(s) == 0 {
				continue
			}
			v := syscall.Iovec{Base: &s[0]}
			v.SetLen(len(s))
			iov = append(iov, v)
		}
		if len(iov) == 0 {
			break
		}
		r, _, e := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			if err := waitWritable(fd); err != nil {
				return total, err
			}
			continue
		case e != 0:
			return total, e
		case r == 0:
			return total, syscall.EIO
		}
		total += int64(r)
		left := int(r)
		for len(segs) > 0 && left >= len(segs[0])-off {
			left -= len(segs[0]) - off
			segs, off = segs[1:], 0
		}
		off += left
	}
	return total, nil
}

func waitWritable(fd int) error {
	if fd >= 1024 {
		return syscall.EAGAIN // select cannot watch it; report, do not spin
	}
	for {
		var set syscall.FdSet
		set.Bits[fd/64] |= 1 << (uint(fd) % 64)
		tv := syscall.Timeval{Sec: 1}
		_, err := syscall.Select(fd+1, nil, &set, nil, &tv)
		if err == syscall.EINTR {
			continue
		}
		return err
	}
}

func waitReadable(fd int) error {
	if fd >= 1024 {
		return syscall.EAGAIN
	}
	for {
		var set syscall.FdSet
		set.Bits[fd/64] |= 1 << (uint(fd) % 64)
		tv := syscall.Timeval{Sec: 1}
		_, err := syscall.Select(fd+1, &set, nil, nil, &tv)
		if err == syscall.EINTR {
			continue
		}
		return err
	}
}
