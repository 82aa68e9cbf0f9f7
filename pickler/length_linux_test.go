//go:build linux && (amd64 || arm64 || ppc64le || riscv64 || s390x || loong64)

package pickler_test

import (
	"encoding/binary"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
)

// hugeZeros maps 5 GiB of zero pages, read-only and reserving nothing:
// a real Go slice of that length that costs no memory unless read.
func hugeZeros(t *testing.T) []byte {
	const n = 5 << 30
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		t.Skipf("cannot map 5 GiB of address space: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(b) })
	return b
}

// TestLengthOver4GiB: a str or bytes of 4 GiB or more cannot be written
// with a 32-bit length (the reader would take the low 32 bits and run the
// rest as opcodes); below protocol 4 it is a typed error, raised before
// the payload is read; at 4 and 5 it gets an 8-byte length.
func TestLengthOver4GiB(t *testing.T) {
	b := hugeZeros(t)
	s := unsafe.String(unsafe.SliceData(b), len(b))
	values := map[string]any{
		"str":        s,
		"bytes":      b,
		"bytearray":  py.ByteArray(b),
		"buffer":     py.PickleBuffer{Data: b, ReadOnly: true},
		"str in map": map[string]any{"k": []any{s}},
	}
	for proto := 1; proto <= 3; proto++ {
		for name, v := range values {
			_, err := pickler.Marshal(v, pickler.Protocol(proto))
			require.ErrorIs(t, err, pickler.ErrTooLarge, "protocol %d %s", proto, name)
		}
	}
	var ve *pickler.UnsupportedValueError
	_, err := pickler.Marshal(map[string]any{"k": []any{s}}, pickler.Protocol(2))
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "[k][0]", ve.Path)

	// Protocol 4: an 8-byte length, the payload referenced, not read.
	var l segments.List
	require.NoError(t, pickler.EncodeTo(&l, b, pickler.Protocol(4)))
	hdr := l.Segments()[0]
	require.Equal(t, byte(0x8e), hdr[len(hdr)-9]) // BINBYTES8
	require.Equal(t, uint64(len(b)), binary.LittleEndian.Uint64(hdr[len(hdr)-8:]))
	l.Release()
}
