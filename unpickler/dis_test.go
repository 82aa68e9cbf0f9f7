package unpickler_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/unpickler"
)

// MARK nesting indents up to a cap; deeper lines say their depth, so a
// line's length does not grow with the nesting.
func TestDisassembleIndentCap(t *testing.T) {
	data := append(bytes.Repeat([]byte("("), 30000), '.')
	var out bytes.Buffer
	require.NoError(t, unpickler.Disassemble(&out, data))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 30002)
	for _, l := range lines {
		require.Less(t, len(l), 160, "line %q", l)
	}
	require.Contains(t, lines[29999], "[depth 29999] MARK")
	require.Contains(t, lines[2], "        MARK", "shallow lines are indented as before")
}

// errWriter fails after n bytes.
type errWriter struct{ n, writes int }

var errFull = errors.New("full")

func (w *errWriter) Write(p []byte) (int, error) {
	w.writes++
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// The listing streams: a writer that fails stops it at once with its error.
func TestDisassembleStreams(t *testing.T) {
	data := append(append(append([]byte("\x80\x04"), bytes.Repeat([]byte("]"), 300001)...), bytes.Repeat([]byte("a"), 300000)...), '.')
	w := &errWriter{n: 1 << 20}
	err := unpickler.Disassemble(w, data)
	require.ErrorIs(t, err, errFull)
	require.LessOrEqual(t, w.writes, (1<<20)/(64<<10)+1, "stopped at the first failed write")
}

// LONG1/LONG4 over CPython's 4300 digits are shown by size, not converted
// (a 16 MiB LONG4 took minutes in decimal).
func TestDisassembleHugeLong(t *testing.T) {
	n := 1 << 20
	data := []byte{0x80, 2, 0x8b, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(data[3:], uint32(n))
	data = append(append(data, bytes.Repeat([]byte{0x55}, n)...), '.')
	var out bytes.Buffer
	require.NoError(t, unpickler.Disassemble(&out, data))
	require.Contains(t, out.String(), "<int of 1048576 bytes: over 4300 digits, not shown in decimal>")

	small := []byte{0x80, 2, 0x8a, 2, 0xff, 0x7f, '.'} // LONG1 32767
	out.Reset()
	require.NoError(t, unpickler.Disassemble(&out, small))
	require.Contains(t, out.String(), "LONG1            32767")
}
