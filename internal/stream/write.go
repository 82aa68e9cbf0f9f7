package stream

import (
	"encoding/binary"
	"strconv"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/segments"
)

// Writer is a pickle's output: opcodes and their arguments written into a
// segments.List, framed at protocol 4 and above as CPython frames, memo
// opcodes chosen by protocol, large payloads referenced instead of copied.
// It knows the layout of opcodes, not the values they stand for (that is
// the pickler's).
//
// Small opcodes go to a window onto the free tail of the list's current
// chunk and are committed to the list in one step (Flush) before anything
// else touches the list. When a frame must start before the next byte,
// the window is empty with no capacity, so the fast paths fall into slow,
// which starts it.
type Writer struct {
	out       *segments.List
	wb        []byte // the window
	proto     int
	frameSize int
	framing   bool   // protocol 4+: frames are written
	needFrame bool   // a frame must start before the next byte
	frameHdr  []byte // the reserved header of the open frame, or nil
	frameBase int    // list length where the open frame's data starts
	lim       int    // len(wb) at which the open frame reaches its target
	nextMemo  uint32
}

// Reset starts a pickle at protocol proto into l, with frames of about
// frameSize bytes at protocol 4 and above.
func (w *Writer) Reset(l *segments.List, proto, frameSize int) {
	*w = Writer{out: l, proto: proto, frameSize: frameSize}
}

// Release drops the Writer's references to the list.
func (w *Writer) Release() { *w = Writer{} }

// Proto is the protocol being written.
func (w *Writer) Proto() int { return w.proto }

// Begin writes the PROTO header (protocol 2 and above) and, at 4 and
// above, arranges for the first frame.
func (w *Writer) Begin() {
	if w.proto >= 2 {
		w.Byte2(op.Proto, byte(w.proto))
	}
	if w.proto >= 4 {
		w.Flush() // the next byte must go through slow, which opens the frame
		w.framing, w.needFrame = true, true
	}
}

// End writes STOP and closes the last frame.
func (w *Writer) End() {
	w.Byte(op.Stop)
	w.commitFrame()
}

// Flush commits the window to the list.
func (w *Writer) Flush() {
	if len(w.wb) > 0 {
		w.out.Commit(len(w.wb))
	}
	w.wb, w.lim = nil, 0
}

func (w *Writer) slow(n int) {
	w.Flush()
	if w.needFrame {
		w.startFrame()
	}
	w.wb = w.out.Grow(n)[:0]
	w.setLim()
}

// setLim places lim for a fresh window: the window length at which the
// open frame reaches its target (Boundary's cheap test), or never.
func (w *Writer) setLim() {
	if w.frameHdr == nil {
		w.lim = int(^uint(0) >> 1)
		return
	}
	w.lim = w.frameBase + w.frameSize - w.out.Len()
}

// Len is the number of bytes written so far.
func (w *Writer) Len() int { return w.out.Len() + len(w.wb) }

// Byte writes one byte.
func (w *Writer) Byte(b byte) {
	if len(w.wb) == cap(w.wb) {
		w.slow(1)
	}
	w.wb = append(w.wb, b)
}

// Byte2 writes two bytes.
func (w *Writer) Byte2(a, b byte) {
	if cap(w.wb)-len(w.wb) < 2 {
		w.slow(2)
	}
	w.wb = append(w.wb, a, b)
}

// MaxAvail is the most Avail may be asked for.
const MaxAvail = 4096

// Avail returns the window's free tail, at least n bytes (n <= MaxAvail);
// the caller writes into it and then calls Commit with what it wrote.
func (w *Writer) Avail(n int) []byte {
	if cap(w.wb)-len(w.wb) < n {
		w.slow(n)
	}
	return w.wb[len(w.wb):cap(w.wb)]
}

// Window is Avail for a run of small objects written back to back: the
// free tail (at least n bytes, n <= MaxAvail) and room, the number of its
// bytes that may be written before the open frame reaches its target. An
// object may start at offset k of the tail without a Boundary call while
// k < room (Boundary would find nothing to do); the caller commits what it
// wrote with Commit.
func (w *Writer) Window(n int) (p []byte, room int) {
	if cap(w.wb)-len(w.wb) < n {
		w.slow(n)
	}
	return w.wb[len(w.wb):cap(w.wb)], w.lim - len(w.wb)
}

// Commit adds k bytes written into Avail's slice.
func (w *Writer) Commit(k int) { w.wb = w.wb[:len(w.wb)+k] }

// Copy writes p by copy, whatever its size.
func (w *Writer) Copy(p []byte) {
	if len(p) <= MaxAvail {
		copy(w.Avail(len(p)), p)
		w.Commit(len(p))
		return
	}
	w.Flush()
	if w.needFrame {
		w.startFrame()
	}
	w.out.Copy(p)
}

// Payload writes an opcode header and its data. Data at or above the
// frame size goes outside any frame, as CPython does; data at or above the
// list's reference threshold is referenced, not copied (it must then stay
// unchanged while the list holds it).
func (w *Writer) Payload(hdr, data []byte) {
	if len(data) < w.out.Threshold() && len(data) <= MaxAvail {
		w.Copy(hdr)
		w.Copy(data)
		return
	}
	w.Flush()
	if w.framing && len(data) >= w.frameSize {
		w.commitFrame()
		w.out.Copy(hdr)
		w.out.Write(data)
		w.needFrame = true
		return
	}
	if w.needFrame {
		w.startFrame()
	}
	w.out.Copy(hdr)
	if len(data) >= w.out.Threshold() {
		w.out.Ref(data)
	} else {
		w.out.Copy(data)
	}
}

// Sized writes data after a length-prefixed opcode: short (1-byte length)
// under 256 bytes, else long (4-byte length), else, when long8 is not 0,
// long8 (8-byte length). The caller has checked that the length fits the
// protocol's opcodes.
func (w *Writer) Sized(short, long, long8 byte, data []byte) {
	n := len(data)
	if n < 256 && short != 0 {
		p := w.Avail(2 + n)
		p[0], p[1] = short, byte(n)
		copy(p[2:], data)
		w.Commit(2 + n)
		return
	}
	if uint64(n) <= 0xffffffff || long8 == 0 {
		var h [5]byte
		h[0] = long
		binary.LittleEndian.PutUint32(h[1:], uint32(n))
		w.Payload(h[:], data)
		return
	}
	var h [9]byte
	h[0] = long8
	binary.LittleEndian.PutUint64(h[1:], uint64(n))
	w.Payload(h[:], data)
}

// TextOp writes opcode, decimal argument, newline (protocol 0's forms).
func (w *Writer) TextOp(code byte, n int64) {
	p := w.Avail(24)
	b := append(p[:0], code)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '\n')
	w.Commit(len(b))
}
