package stream

import (
	"encoding/binary"

	op "github.com/segpickle/segpickle/internal/opcode"
)

// Frames, protocol 4 and above: the writer reserves a FRAME header before
// a frame's first byte, fills it in when the frame closes, and drops it
// when the frame is too small to be worth one (as CPython's framer).

func (w *Writer) startFrame() {
	w.Flush()
	w.needFrame = false
	w.frameHdr = w.out.Reserve(op.FrameHeaderSize)
	w.frameBase = w.out.Len()
}

func (w *Writer) commitFrame() {
	w.Flush()
	if w.frameHdr == nil {
		return
	}
	n := w.out.Len() - w.frameBase
	if n >= op.FrameSizeMin {
		w.frameHdr[0] = op.Frame
		binary.LittleEndian.PutUint64(w.frameHdr[1:], uint64(n))
	} else {
		w.out.Unreserve(w.frameHdr)
	}
	w.frameHdr = nil
	w.needFrame = w.framing
}

// Boundary is called before each object, as CPython's framer commits at
// the start of save(): a frame that reached the target size is closed.
// The test is one comparison with lim (inlined), exact: the window's bytes
// are not yet in the list, so the frame holds len(wb) - lim bytes beyond
// its target (lim is 0 after a Flush: then the full test runs).
func (w *Writer) Boundary() {
	if len(w.wb) >= w.lim {
		w.boundary()
	}
}

func (w *Writer) boundary() {
	if w.frameHdr != nil && w.Len()-w.frameBase >= w.frameSize {
		w.commitFrame()
	}
}
