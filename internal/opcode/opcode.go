// Package opcode is the single table of pickle opcodes (byte, name, protocol,
// argument kind) shared by the pickler, the unpickler and the disassembler.
// Nothing above this package spells an opcode byte by hand.
package opcode

//go:generate sh -c "python3 gen.py && gofmt -w table_gen.go"

// ArgKind says how an opcode's inline argument is laid out in the stream.
type ArgKind uint8

// Argument kinds, named after pickletools' ArgumentDescriptor names.
const (
	ArgNone      ArgKind = iota // no inline argument
	ArgUint1                    // 1-byte unsigned
	ArgUint2                    // 2-byte little-endian unsigned
	ArgUint4                    // 4-byte little-endian unsigned
	ArgInt4                     // 4-byte little-endian signed
	ArgUint8                    // 8-byte little-endian unsigned
	ArgFloat8                   // 8-byte big-endian IEEE 754
	ArgLong1                    // 1-byte length, then two's complement little-endian
	ArgLong4                    // 4-byte signed length, then two's complement little-endian
	ArgBytes1                   // 1-byte length, then data
	ArgBytes4                   // 4-byte unsigned length, then data
	ArgBytes8                   // 8-byte unsigned length, then data
	ArgString1                  // 1-byte length, then Python 2 str data
	ArgString4                  // 4-byte signed length, then Python 2 str data
	ArgDecimalNL                // decimal integer, newline-terminated
	ArgLongNL                   // decimal integer with optional L, newline-terminated
	ArgFloatNL                  // float repr, newline-terminated
	ArgStringNL                 // quoted, escaped Python 2 str literal, newline-terminated
	ArgUnicodeNL                // raw-unicode-escape text, newline-terminated
	ArgLineNL                   // raw text up to newline
	ArgNamePair                 // two newline-terminated lines (module, name)
)

// Info describes one opcode.
type Info struct {
	Byte  byte
	Name  string
	Proto int
	Arg   ArgKind
}

// Valid reports whether b is a defined opcode.
func Valid(b byte) bool { return table[b].Name != "" }

// Lookup returns the Info for opcode byte b; ok is false for undefined bytes.
func Lookup(b byte) (Info, bool) {
	i := table[b]
	return i, i.Name != ""
}

// Name returns the opcode's pickletools name, or a hex form for undefined bytes.
func Name(b byte) string {
	if n := table[b].Name; n != "" {
		return n
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[b>>4], hex[b&15]})
}

// All returns every defined opcode in byte order.
func All() []Info {
	var out []Info
	for _, i := range table {
		if i.Name != "" {
			out = append(out, i)
		}
	}
	return out
}

// Pickle-level constants shared by encoder and decoder.
const (
	HighestProtocol = 5
	DefaultProtocol = 5
	FrameSizeTarget = 64 * 1024 // CPython's _FRAME_SIZE_TARGET
	FrameSizeMin    = 4         // CPython's _FRAME_SIZE_MIN
	FrameHeaderSize = 9         // FRAME + 8-byte length
)
