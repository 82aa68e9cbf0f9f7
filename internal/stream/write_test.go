package stream

import (
	"bytes"
	"encoding/binary"
	"testing"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/segments"
)

func TestMemoOpcodesByProtocol(t *testing.T) {
	for _, c := range []struct {
		proto     int
		put, get  string // for index 0
		put300    string // for index 300
		getPrefix byte
	}{
		{0, "p0\n", "g0\n", "p300\n", op.Get},
		{1, "q\x00", "h\x00", "r\x2c\x01\x00\x00", op.Binget},
		{3, "q\x00", "h\x00", "r\x2c\x01\x00\x00", op.Binget},
		{4, "\x94", "h\x00", "\x94", op.Binget},
	} {
		var l segments.List
		var w Writer
		w.Reset(&l, c.proto, op.FrameSizeTarget)
		if i := w.MemoPut(); i != 0 {
			t.Fatalf("first index %d", i)
		}
		w.MemoGet(0)
		for w.NextMemo() < 300 {
			w.MemoPut()
		}
		mark := w.Len()
		w.MemoPut()
		w.Flush()
		got := l.Bytes()
		want := c.put + c.get
		if string(got[:len(want)]) != want {
			t.Errorf("protocol %d: %q, want %q", c.proto, got[:len(want)], want)
		}
		if string(got[mark:]) != c.put300 {
			t.Errorf("protocol %d: index 300 put %q, want %q", c.proto, got[mark:], c.put300)
		}
		l.Release()
	}
}

// TestMemoizedCountsAsMemoPut: MEMOIZEs the caller wrote itself take the
// indexes MemoPut would have given them, one by one or n at a time.
func TestMemoizedCountsAsMemoPut(t *testing.T) {
	var l segments.List
	var w Writer
	w.Reset(&l, 5, op.FrameSizeTarget)
	w.MemoPut()
	if i := w.Memoized(); i != 1 {
		t.Fatalf("Memoized: %d, want 1", i)
	}
	if i := w.MemoizedN(3); i != 2 {
		t.Fatalf("MemoizedN(3): %d, want 2", i)
	}
	if i := w.MemoPut(); i != 5 {
		t.Fatalf("MemoPut after MemoizedN(3): %d, want 5", i)
	}
	l.Release()
}

// TestFramesAndPayloads: at protocol 4 a frame closes at the first
// Boundary past the target size, small frames lose their header, and a
// payload of the frame size or more goes outside frames, referenced.
func TestFramesAndPayloads(t *testing.T) {
	var l segments.List
	var w Writer
	const target = 64
	w.Reset(&l, 4, target)
	w.Begin()
	for i := 0; i < 100; i++ { // 100 objects of 1 byte
		w.Boundary()
		w.Byte(op.None)
	}
	big := bytes.Repeat([]byte{'x'}, 5000)
	w.Boundary()
	w.Sized(op.ShortBinbytes, op.Binbytes, op.Binbytes8, big)
	w.Boundary()
	w.Byte(op.Newtrue)
	w.End()
	out := l.Bytes()
	// PROTO 4, FRAME 64, 64 NONEs, FRAME 36, 36 NONEs, BINBYTES 5000 (no frame), TRUE STOP (2 bytes: no frame).
	want := []byte{op.Proto, 4, op.Frame}
	want = binary.LittleEndian.AppendUint64(want, target)
	want = append(want, bytes.Repeat([]byte{op.None}, target)...)
	want = append(want, op.Frame)
	want = binary.LittleEndian.AppendUint64(want, 36)
	want = append(want, bytes.Repeat([]byte{op.None}, 36)...)
	want = append(want, op.Binbytes, 0x88, 0x13, 0, 0)
	want = append(want, big...)
	want = append(want, op.Newtrue, op.Stop)
	if !bytes.Equal(out, want) {
		t.Fatalf("got %q\nwant %q", out, want)
	}
	if l.RefCount() != 1 {
		t.Errorf("payload referenced %d times, want 1", l.RefCount())
	}
	l.Release()
}
