// Command cbridge is segpickle's C ABI, built with
//
//	go build -buildmode=c-shared -o pyext/segpickle/libsegpickle.so ./cbridge
//
// It is a thin layer over the Go packages, for pyext (ctypes) and any C
// caller. Rules it keeps:
//   - C never holds a Go pointer: Go objects are reached through handles
//     (an int64 table), and Go copies into caller memory rather than
//     lending its own.
//   - Go may hold pointers into caller memory (a Python bytes object) only
//     for as long as the caller says, and never writes through them.
//   - Every export recovers panics into a status code; error text comes back
//     as a C string the caller frees with segpickle_free_string.
//   - Nothing here touches Python or installs signal handlers.
//
// Status codes: 0 ok, negative values are failures. Their one table, with
// the Python exception each becomes, is internal/status; pyext's
// _status.py is generated from it.
package main

/*
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/segpickle/segpickle/internal/status"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

func main() {}

// The status codes, from the one table in internal/status.
const (
	codeOK         = status.OK
	codeUnpickling = status.Unpickling
	codeEOF        = status.EOF
	codeValue      = status.Value
	codeType       = status.Type
	codePickling   = status.Pickling
	codeArgument   = status.Argument
	codeIO         = status.IO
	codeInternal   = status.Internal
	codeHandle     = status.Handle
)

var (
	errArgument = status.ErrArgument
	errHandle   = status.ErrHandle
)

// codeOf maps a Go error to a status code.
func codeOf(err error) C.int { return C.int(status.Of(err)) }

// finish stores err's text in *errOut (when given) and returns its code.
func finish(err error, errOut **C.char) C.int {
	if err != nil && errOut != nil {
		*errOut = C.CString(err.Error())
	}
	return codeOf(err)
}

// guard turns a panic into codeInternal.
func guard(code *C.int, errOut **C.char) {
	if r := recover(); r != nil {
		*code = finish(fmt.Errorf("internal error: %v", r), errOut)
		if *code == codeOK {
			*code = codeInternal
		}
	}
}

// A list is a Go segment list behind a handle, with the caller memory it
// borrows. mu serializes calls on one handle from several threads; freed
// says the handle was freed while a call waited for mu.
type list struct {
	mu    sync.Mutex
	l     segments.List
	freed bool
}

// lock locks l, or reports false (l unlocked) when l was freed meanwhile:
// a call racing with segpickle_buf_free gets the bad-handle status, never
// a list that was released.
func (l *list) lock() bool {
	l.mu.Lock()
	if l.freed {
		l.mu.Unlock()
		return false
	}
	return true
}

// The live handles: an int64 never reused → *list. (Not runtime/cgo.Handle:
// its Value panics on a handle deleted by another thread between a check
// and the use.)
var (
	handles    sync.Map
	lastHandle atomic.Int64
)

func newHandle(l *list) C.int64_t {
	h := lastHandle.Add(1)
	handles.Store(h, l)
	return C.int64_t(h)
}

func getList(h C.int64_t) (*list, error) {
	v, ok := handles.Load(int64(h))
	if !ok {
		return nil, errHandle
	}
	return v.(*list), nil
}

// cSlices views n caller buffers as Go slices, without copying.
func cSlices(ptrs **C.void, lens *C.int64_t, n C.int64_t) ([][]byte, error) {
	if n < 0 || (n > 0 && (ptrs == nil || lens == nil)) {
		return nil, fmt.Errorf("%w: %d segments", errArgument, n)
	}
	if n == 0 {
		return nil, nil
	}
	ps := unsafe.Slice((*unsafe.Pointer)(unsafe.Pointer(ptrs)), int(n))
	ls := unsafe.Slice((*int64)(unsafe.Pointer(lens)), int(n))
	out := make([][]byte, n)
	for i := range out {
		if ls[i] < 0 || (ls[i] > 0 && ps[i] == nil) {
			return nil, fmt.Errorf("%w: segment %d", errArgument, i)
		}
		if ls[i] > 0 {
			out[i] = unsafe.Slice((*byte)(ps[i]), int(ls[i]))
		}
	}
	return out, nil
}

//export segpickle_free_string
func segpickle_free_string(s *C.char) {
	C.free(unsafe.Pointer(s))
}

//export segpickle_version
func segpickle_version() *C.char { return C.CString("segpickle cbridge 1") }

//export segpickle_buf_new
func segpickle_buf_new(threshold C.int64_t, out *C.int64_t) (code C.int) {
	defer guard(&code, nil)
	injected("segpickle_buf_new")
	if out == nil {
		return codeArgument
	}
	l := &list{}
	l.l.SetThreshold(int(threshold))
	*out = newHandle(l)
	return codeOK
}

//export segpickle_buf_free
func segpickle_buf_free(h C.int64_t) (code C.int) {
	defer guard(&code, nil)
	injected("segpickle_buf_free")
	v, ok := handles.LoadAndDelete(int64(h))
	if !ok {
		return codeHandle // never made, or freed already (perhaps just now, by another thread)
	}
	l := v.(*list)
	l.mu.Lock()
	l.freed = true
	l.l.Release()
	l.mu.Unlock()
	return codeOK
}

// segpickle_buf_write appends n bytes at p: borrowed (borrow != 0; the
// caller keeps the memory alive and unchanged until the buffer is freed or
// reset) or copied.
//
//export segpickle_buf_write
func segpickle_buf_write(h C.int64_t, p unsafe.Pointer, n C.int64_t, borrow C.int) (code C.int) {
	defer guard(&code, nil)
	injected("segpickle_buf_write")
	l, err := getList(h)
	if err != nil {
		return codeHandle
	}
	if n < 0 || (n > 0 && p == nil) {
		return codeArgument
	}
	if n == 0 {
		return codeOK
	}
	b := unsafe.Slice((*byte)(p), int(n))
	if !l.lock() {
		return codeHandle
	}
	defer l.mu.Unlock()
	if borrow != 0 {
		l.l.Ref(b)
	} else {
		l.l.Copy(b)
	}
	return codeOK
}

//export segpickle_buf_len
func segpickle_buf_len(h C.int64_t, out *C.int64_t) (code C.int) {
	defer guard(&code, nil)
	injected("segpickle_buf_len")
	l, err := getList(h)
	if err != nil || out == nil {
		return codeHandle
	}
	if !l.lock() {
		return codeHandle
	}
	*out = C.int64_t(l.l.Len())
	l.mu.Unlock()
	return codeOK
}

//export segpickle_buf_nsegments
func segpickle_buf_nsegments(h C.int64_t, out *C.int64_t) (code C.int) {
	defer guard(&code, nil)
	injected("segpickle_buf_nsegments")
	l, err := getList(h)
	if err != nil || out == nil {
		return codeHandle
	}
	if !l.lock() {
		return codeHandle
	}
	*out = C.int64_t(l.l.NumSegments())
	l.mu.Unlock()
	return codeOK
}

// segpickle_buf_segment_len gives the length of segment i; its bytes are
// read with segpickle_buf_copy_segment (Go memory is never lent out).
//
//export segpickle_buf_segment_len
func segpickle_buf_segment_len(h C.int64_t, i C.int64_t, out *C.int64_t) (code C.int) {
	defer guard(&code, nil)
	injected("segpickle_buf_segment_len")
	l, err := getList(h)
	if err != nil || out == nil {
		return codeHandle
	}
	if !l.lock() {
		return codeHandle
	}
	defer l.mu.Unlock()
	segs := l.l.Segments()
	if i < 0 || int(i) >= len(segs) {
		return codeArgument
	}
	*out = C.int64_t(len(segs[i]))
	return codeOK
}

//export segpickle_buf_copy_segment
func segpickle_buf_copy_segment(h C.int64_t, i C.int64_t, dst unsafe.Pointer, n C.int64_t) (code C.int) {
	defer guard(&code, nil)
	injected("segpickle_buf_copy_segment")
	l, err := getList(h)
	if err != nil {
		return codeHandle
	}
	if !l.lock() {
		return codeHandle
	}
	defer l.mu.Unlock()
	segs := l.l.Segments()
	if i < 0 || int(i) >= len(segs) || n < C.int64_t(len(segs[i])) || (len(segs[i]) > 0 && dst == nil) {
		return codeArgument
	}
	copy(unsafe.Slice((*byte)(dst), len(segs[i])), segs[i])
	return codeOK
}

// segpickle_buf_copy copies the whole contents into dst (n bytes of room).
//
//export segpickle_buf_copy
func segpickle_buf_copy(h C.int64_t, dst unsafe.Pointer, n C.int64_t) (code C.int) {
	defer guard(&code, nil)
	injected("segpickle_buf_copy")
	l, err := getList(h)
	if err != nil {
		return codeHandle
	}
	if !l.lock() {
		return codeHandle
	}
	defer l.mu.Unlock()
	if n < C.int64_t(l.l.Len()) || (l.l.Len() > 0 && dst == nil) {
		return codeArgument
	}
	out := unsafe.Slice((*byte)(dst), l.l.Len())[:0]
	l.l.AppendTo(out)
	return codeOK
}

//export segpickle_buf_writev
func segpickle_buf_writev(h C.int64_t, fd C.int, written *C.int64_t, errOut **C.char) (code C.int) {
	defer guard(&code, errOut)
	injected("segpickle_buf_writev")
	l, err := getList(h)
	if err != nil {
		return finish(err, errOut)
	}
	if !l.lock() {
		return finish(errHandle, errOut)
	}
	defer l.mu.Unlock()
	n, err := writevFD(int(fd), l.l.Segments())
	if written != nil {
		*written = C.int64_t(n)
	}
	return finish(err, errOut)
}

// segpickle_writev writes n caller buffers to fd with writev, retrying
// partial writes; it returns when all is written or on error.
//
//export segpickle_writev
func segpickle_writev(fd C.int, ptrs **C.void, lens *C.int64_t, n C.int64_t, written *C.int64_t, errOut **C.char) (code C.int) {
	defer guard(&code, errOut)
	injected("segpickle_writev")
	segs, err := cSlices(ptrs, lens, n)
	if err != nil {
		return finish(err, errOut)
	}
	w, err := writevFD(int(fd), segs)
	if written != nil {
		*written = C.int64_t(w)
	}
	return finish(err, errOut)
}

// segpickle_buf_reencode is segpickle_reencode for a pickle held in a Go
// segment buffer (a handle), decoded from its segments without joining.
//
//export segpickle_buf_reencode
func segpickle_buf_reencode(h C.int64_t, protocol C.int, out *C.int64_t, errOut **C.char) (code C.int) {
	defer guard(&code, errOut)
	injected("segpickle_buf_reencode")
	l, err := getList(h)
	if err != nil {
		return finish(err, errOut)
	}
	if out == nil || protocol > 5 || protocol < -1 {
		return finish(fmt.Errorf("%w: protocol %d", errArgument, protocol), errOut)
	}
	if !l.lock() {
		return finish(errHandle, errOut)
	}
	segs := l.l.Segments()
	var v any
	err = unpickler.UnmarshalSegments(segs, &v)
	p := int(protocol)
	if err == nil && p < 0 {
		p = inputProtocol(segs)
	}
	l.mu.Unlock()
	if err != nil {
		return finish(err, errOut)
	}
	res := &list{}
	if err := pickler.EncodeTo(&res.l, v, pickler.Protocol(p)); err != nil {
		res.l.Release()
		return finish(err, errOut)
	}
	*out = newHandle(res)
	return codeOK
}

// segpickle_reencode decodes the pickle held in n caller segments (without
// joining them) with the Go unpickler, encodes the value with the Go
// pickler at protocol (-1: the input's), and returns a new buffer handle
// holding the result. Out-of-band buffers, if nbuf >= 0, are supplied.
//
//export segpickle_reencode
func segpickle_reencode(ptrs **C.void, lens *C.int64_t, n C.int64_t, protocol C.int,
	bufPtrs **C.void, bufLens *C.int64_t, nbuf C.int64_t, out *C.int64_t, errOut **C.char) (code C.int) {
	defer guard(&code, errOut)
	injected("segpickle_reencode")
	if out == nil || protocol > 5 || protocol < -1 {
		return finish(fmt.Errorf("%w: protocol %d", errArgument, protocol), errOut)
	}
	segs, err := cSlices(ptrs, lens, n)
	if err != nil {
		return finish(err, errOut)
	}
	var opts []unpickler.Option
	if nbuf >= 0 {
		bufs, err := cSlices(bufPtrs, bufLens, nbuf)
		if err != nil {
			return finish(err, errOut)
		}
		opts = append(opts, unpickler.Buffers(bufs...))
	}
	var v any
	if err := unpickler.UnmarshalSegments(segs, &v, opts...); err != nil {
		return finish(err, errOut)
	}
	p := int(protocol)
	if p < 0 {
		p = inputProtocol(segs)
	}
	l := &list{}
	if err := pickler.EncodeTo(&l.l, v, pickler.Protocol(p)); err != nil {
		l.l.Release()
		return finish(err, errOut)
	}
	*out = newHandle(l)
	return codeOK
}

func inputProtocol(segs [][]byte) int {
	var head []byte
	for _, s := range segs {
		head = append(head, s[:min(len(s), 2-len(head))]...)
		if len(head) >= 2 {
			break
		}
	}
	if len(head) >= 2 && head[0] == 0x80 {
		return unpickler.InputProtocol(head)
	}
	// Protocols 0 and 1 have no PROTO: walk the opcodes (a copy, for
	// these old, rare streams only).
	var all []byte
	for _, s := range segs {
		all = append(all, s...)
	}
	return unpickler.InputProtocol(all)
}

// segpickle_read_full reads exactly n bytes from fd into dst (caller
// memory), retrying short reads and EINTR. A clean end of stream before
// the first byte sets *got to 0 and returns 0; an end inside returns an I/O
// error.
//
//export segpickle_read_full
func segpickle_read_full(fd C.int, dst unsafe.Pointer, n C.int64_t, got *C.int64_t, errOut **C.char) (code C.int) {
	defer guard(&code, errOut)
	injected("segpickle_read_full")
	if n < 0 || (n > 0 && dst == nil) || fd < 0 {
		return finish(fmt.Errorf("%w: read of %d bytes", errArgument, n), errOut)
	}
	buf := unsafe.Slice((*byte)(dst), int(n))
	done := 0
	for done < len(buf) {
		r, err := syscall.Read(int(fd), buf[done:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if err := waitReadable(int(fd)); err != nil {
				return finish(err, errOut)
			}
			continue
		case err != nil:
			return finish(err, errOut)
		case r == 0:
			if got != nil {
				*got = C.int64_t(done)
			}
			if done == 0 {
				return codeOK
			}
			return finish(fmt.Errorf("connection closed after %d of %d bytes: %w", done, n, syscall.ECONNRESET), errOut)
		}
		done += r
	}
	if got != nil {
		*got = C.int64_t(done)
	}
	return codeOK
}

// segpickle_check decodes a pickle held in caller segments and reports
// only whether it is valid (used to test the error path without encoding).
//
//export segpickle_check
func segpickle_check(ptrs **C.void, lens *C.int64_t, n C.int64_t, errOut **C.char) (code C.int) {
	defer guard(&code, errOut)
	injected("segpickle_check")
	segs, err := cSlices(ptrs, lens, n)
	if err != nil {
		return finish(err, errOut)
	}
	var v any
	return finish(unpickler.UnmarshalSegments(segs, &v), errOut)
}
