package py

import (
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Python's str may hold lone surrogates (U+D800..U+DFFF): os.fsdecode
// gives them for file names that are not UTF-8 ('caf\udce9.csv'). Go's
// UTF-8 has no place for them, so segpickle keeps them as CPython's pickle
// writes them: each surrogate as its own 3-byte "surrogatepass" UTF-8
// sequence, ED A0..BF 80..BF. A decoded Go string is therefore exactly the
// bytes that BINUNICODE carried; it is valid UTF-8 unless the Python str
// held a surrogate. Two surrogates in a row stay two code points (6 bytes),
// as in Python, where '\ud83d\ude00' != '\U0001f600'.
//
// ValidString, ValidUTF8 and CheckUTF8 are the one validator both codecs
// use: what they accept is what CPython's UTF-8 decoder accepts with
// errors='surrogatepass', which is how pickle reads BINUNICODE.

// ValidString reports whether s is a str in the form above: UTF-8, where a
// surrogate code point may also appear as its 3-byte sequence.
func ValidString(s string) bool { return utf8.ValidString(s) || invalidAt(s) < 0 }

// ValidUTF8 is ValidString for bytes.
func ValidUTF8(b []byte) bool { return utf8.Valid(b) || invalidAt(asString(b)) < 0 }

// asString views b as a string, without copying, for reading only.
func asString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// UTF8Error says where bytes are not a Python str, in the words of
// CPython's UnicodeDecodeError.
type UTF8Error struct {
	Offset int    // position of the first byte that cannot be decoded
	End    int    // end of the undecodable sequence (Offset+1 for one byte)
	Byte   byte   // the byte at Offset
	Reason string // "invalid start byte", "invalid continuation byte", "unexpected end of data"
}

func (e *UTF8Error) Error() string {
	if e.End > e.Offset+1 {
		return "'utf-8' codec can't decode bytes in position " + strconv.Itoa(e.Offset) + "-" +
			strconv.Itoa(e.End-1) + ": " + e.Reason
	}
	return "'utf-8' codec can't decode byte 0x" + strconv.FormatUint(uint64(e.Byte)|0x100, 16)[1:] +
		" in position " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// CheckUTF8 returns nil when b is a str in the form above (what CPython's
// pickle reads from BINUNICODE), and otherwise a *UTF8Error as CPython's
// UnicodeDecodeError would describe it.
func CheckUTF8(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	return CheckString(asString(b))
}

// CheckString is CheckUTF8 for a string.
func CheckString(s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	i := invalidAt(s)
	if i < 0 {
		return nil
	}
	n, reason := reasonAt(s, i)
	return &UTF8Error{Offset: i, End: i + n, Byte: s[i], Reason: reason}
}

// DecodeRune is utf8.DecodeRuneInString that also decodes a surrogate's
// 3-byte sequence to the surrogate. Any other invalid byte gives
// (utf8.RuneError, 1).
func DecodeRune(s string) (rune, int) {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n == 1 && isSurrogateSeq(s, 0) {
		return rune(s[0]&0x0f)<<12 | rune(s[1]&0x3f)<<6 | rune(s[2]&0x3f), 3
	}
	return r, n
}

// AppendRune is utf8.AppendRune that writes a surrogate code point as its
// 3-byte sequence instead of U+FFFD.
func AppendRune(b []byte, r rune) []byte {
	if r >= 0xd800 && r <= 0xdfff {
		return append(b, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
	}
	return utf8.AppendRune(b, r)
}

func isSurrogateSeq(s string, i int) bool {
	return i+2 < len(s) && s[i] == 0xed && s[i+1] >= 0xa0 && s[i+1] <= 0xbf && s[i+2] >= 0x80 && s[i+2] <= 0xbf
}

// invalidAt returns the offset of the first byte that is neither UTF-8 nor
// a surrogate's sequence, or -1.
func invalidAt(s string) int {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if !isSurrogateSeq(s, i) {
				return i
			}
			n = 3
		}
		i += n
	}
	return -1
}

// reasonAt classifies the invalid sequence at s[i] as CPython does, and
// says how many bytes it spans.
func reasonAt(s string, i int) (int, string) {
	c := s[i]
	var n int
	lo, hi := byte(0x80), byte(0xbf) // range of the first continuation byte
	switch {
	case c >= 0xc2 && c <= 0xdf:
		n = 1
	case c >= 0xe0 && c <= 0xef:
		n = 2
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f // A0..BF: a surrogate, which invalidAt accepted if complete
		}
	case c >= 0xf0 && c <= 0xf4:
		n = 3
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f
		}
	default:
		return 1, "invalid start byte"
	}
	for k := 1; k <= n; k++ {
		if i+k >= len(s) {
			return k, "unexpected end of data"
		}
		d := s[i+k]
		if k == 1 && (d < lo || d > hi) || k > 1 && (d < 0x80 || d > 0xbf) {
			return k, "invalid continuation byte"
		}
	}
	return 1, "invalid continuation byte" // not reached for bytes invalidAt stopped at
}

// CheckStrictString is CheckString for CPython's strict UTF-8 decoder (how
// pickle reads GLOBAL's names): a surrogate is refused too.
func CheckStrictString(s string) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			n, reason := reasonAt(s, i)
			return &UTF8Error{Offset: i, End: i + n, Byte: s[i], Reason: reason}
		}
		i += n
	}
	return nil
}
