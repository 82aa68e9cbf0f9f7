package stream

import (
	"encoding/binary"

	op "github.com/segpickle/segpickle/internal/opcode"
)

// Memo opcodes: indexes are handed out in order, as the reader assigns
// them; the opcode is the protocol's (MEMOIZE at 4+, BINPUT/LONG_BINPUT at
// 1-3, text PUT at 0; BINGET/LONG_BINGET, text GET to fetch).

// MemoPut memoizes the object on top of the stack and returns its index.
func (w *Writer) MemoPut() uint32 {
	i := w.nextMemo
	w.nextMemo++
	switch {
	case w.proto >= 4:
		w.Byte(op.Memoize)
	case w.proto >= 1 && i < 256:
		w.Byte2(op.Binput, byte(i))
	case w.proto >= 1:
		p := w.Avail(5)
		p[0] = op.LongBinput
		binary.LittleEndian.PutUint32(p[1:], i)
		w.Commit(5)
	default:
		w.TextOp(op.Put, int64(i))
	}
	return i
}

// Memoized returns the index of a MEMOIZE the caller wrote itself into the
// window (protocol 4 and above), as MemoPut would have.
func (w *Writer) Memoized() uint32 {
	i := w.nextMemo
	w.nextMemo++
	return i
}

// MemoizedN is Memoized for n MEMOIZEs the caller wrote: it returns the
// index of the first.
func (w *Writer) MemoizedN(n int) uint32 {
	i := w.nextMemo
	w.nextMemo += uint32(n)
	return i
}

// MemoGet pushes memo entry i.
func (w *Writer) MemoGet(i uint32) {
	switch {
	case w.proto >= 1 && i < 256:
		w.Byte2(op.Binget, byte(i))
	case w.proto >= 1:
		p := w.Avail(5)
		p[0] = op.LongBinget
		binary.LittleEndian.PutUint32(p[1:], i)
		w.Commit(5)
	default:
		w.TextOp(op.Get, int64(i))
	}
}

// NextMemo is the index the next MemoPut will assign.
func (w *Writer) NextMemo() uint32 { return w.nextMemo }
