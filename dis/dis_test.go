package dis_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/segpickle/segpickle/dis"
	"github.com/segpickle/segpickle/internal/stream"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

func samples(t *testing.T) [][]byte {
	t.Helper()
	v := []any{int64(1), int64(300), int64(-70000), int64(1) << 40, "héllo", []byte("raw"), 2.5, true, nil,
		py.Tuple{int64(1), "a"}, py.DictOf("k", []any{int64(1)}), py.NewSet(int64(3)),
		py.Global{Module: "os", Name: "path"}, strings.Repeat("x", 300)}
	var out [][]byte
	for p := 0; p <= 5; p++ {
		b, err := pickler.Marshal(v, pickler.Protocol(p))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func walkAll(t *testing.T, r stream.Reader) ([]dis.Instruction, int) {
	t.Helper()
	var ins []dis.Instruction
	p, err := dis.Walk(&r, dis.Options{}, func(in dis.Instruction) error { ins = append(ins, in); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return ins, p
}

// TestInputsAgree: bytes, 3-byte segments and a one-byte reader give the
// same instructions, ending at STOP, with the pickle's protocol.
func TestInputsAgree(t *testing.T) {
	for p, data := range samples(t) {
		want, proto := walkAll(t, stream.Bytes(data))
		if want[len(want)-1].Name != "STOP" || want[len(want)-1].Depth != 0 {
			t.Fatalf("p%d: last instruction %+v", p, want[len(want)-1])
		}
		if dis.InputProtocol(data) != p || proto > p || (p >= 2 && p <= 4 && proto != p) {
			t.Fatalf("p%d: InputProtocol %d, Walk %d", p, dis.InputProtocol(data), proto)
		}
		var segs [][]byte
		for i := 0; i < len(data); i += 3 {
			segs = append(segs, data[i:min(i+3, len(data))])
		}
		got, _ := walkAll(t, stream.Segments(segs))
		got2, _ := walkAll(t, stream.FromReader(iotest.OneByteReader(bytes.NewReader(data))))
		for i := range want {
			if got[i] != want[i] || got2[i] != want[i] {
				t.Fatalf("p%d instruction %d: %+v / %+v / %+v", p, i, want[i], got[i], got2[i])
			}
		}
	}
}

func TestListing(t *testing.T) {
	data := []byte("\x80\x02(K\x01\x8c\x03abc\x8a\x02\x00\x80t\x94.")
	var sb strings.Builder
	if err := dis.Disassemble(&sb, data); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PROTO            2", "    BININT1          1", "SHORT_BINUNICODE \"abc\"",
		"LONG1            -32768", "TUPLE", "MEMOIZE          (as 0)", "highest protocol among opcodes = 4"} {
		if !strings.Contains(sb.String(), want) {
			t.Fatalf("listing lacks %q:\n%s", want, sb.String())
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, c := range []struct {
		in    string
		cause error
		off   int64
	}{
		{"\x80\x05K", stream.ErrTruncated, 2},
		{"\x80\x05\xff", stream.ErrUnknownOpcode, 2},
		{"\x80\x05N", stream.ErrNoStop, 3},
		{"\x80\x05\x8e\x00\x00\x00\x00\x00\x00\x00\x40", stream.ErrTruncated, 2},
		{"T\xff\xff\xff\xff", stream.ErrBadArgument, 0},
	} {
		err := dis.Disassemble(io.Discard, []byte(c.in))
		var e *dis.Error
		if !errors.Is(err, c.cause) || !errors.As(err, &e) || e.Offset != c.off {
			t.Fatalf("%q: %v", c.in, err)
		}
	}
}

// zeros is an endless stream of zero bytes (payload filler).
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// TestStreamingBounded: a 256 MiB BINBYTES8 payload streams through the
// disassembler with memory bounded by the reader's buffer, not the payload.
func TestStreamingBounded(t *testing.T) {
	const n = 256 << 20
	head := []byte{0x80, 5, 0x8e}
	head = binary.LittleEndian.AppendUint64(head, n)
	r := io.MultiReader(bytes.NewReader(head), &zeros{n: n}, strings.NewReader("."))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var sb strings.Builder
	if err := dis.DisassembleReader(&sb, r); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("allocated %d bytes for a %d-byte payload", grew, n)
	}
	if !strings.Contains(sb.String(), "(268435456 bytes)") {
		t.Fatalf("listing:\n%s", sb.String())
	}
}

// TestDeepIndentCapped: 100,000 nested MARKs print lines of bounded length.
func TestDeepIndentCapped(t *testing.T) {
	data := append(bytes.Repeat([]byte{'('}, 100000), '.')
	var sb strings.Builder
	err := dis.Disassemble(&sb, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(sb.String(), "\n") {
		if len(l) > 4*dis.MaxIndent+64 {
			t.Fatalf("line of %d bytes", len(l))
		}
	}
}
