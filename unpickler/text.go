package unpickler

import (
	"strings"

	"github.com/segpickle/segpickle/py"
)

// rawUnicodeEscape decodes Python's raw_unicode_escape: bytes are latin-1
// characters, except \uXXXX and \UXXXXXXXX after an odd run of backslashes.
func rawUnicodeEscape(b []byte) (string, bool) {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			sb.WriteRune(rune(c))
			continue
		}
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		run := j - i
		if run%2 == 1 && j < len(b) && (b[j] == 'u' || b[j] == 'U') {
			for k := 0; k < run-1; k++ {
				sb.WriteByte('\\')
			}
			n := 4
			if b[j] == 'U' {
				n = 8
			}
			if j+1+n > len(b) {
				return "", false
			}
			var r rune
			for _, h := range b[j+1 : j+1+n] {
				d, ok := hexVal(h)
				if !ok {
					return "", false
				}
				r = r<<4 | rune(d)
			}
			if r > 0x10ffff || r < 0 {
				return "", false
			}
			if r >= 0xd800 && r <= 0xdfff {
				// A lone surrogate: kept in its 3-byte form (see package py).
				var enc [3]byte
				sb.Write(py.AppendRune(enc[:0], r))
			} else {
				sb.WriteRune(r)
			}
			i = j + n
			continue
		}
		for k := 0; k < run; k++ {
			sb.WriteByte('\\')
		}
		i = j - 1
	}
	return sb.String(), true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseStringLiteral decodes the argument of STRING: a quoted Python 2 str
// literal, unescaped as codecs.escape_decode does.
func parseStringLiteral(l []byte) ([]byte, bool) {
	if len(l) < 2 || (l[0] != '\'' && l[0] != '"') || l[len(l)-1] != l[0] {
		return nil, false
	}
	s := l[1 : len(l)-1]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, false // trailing backslash
		}
		switch e := s[i]; e {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, e)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case 'x':
			if i+2 >= len(s) {
				return nil, false
			}
			h, ok1 := hexVal(s[i+1])
			l2, ok2 := hexVal(s[i+2])
			if !ok1 || !ok2 {
				return nil, false
			}
			out = append(out, h<<4|l2)
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(s[i]-'0')
			}
			out = append(out, byte(v))
		default:
			out = append(out, '\\', e)
		}
	}
	return out, true
}
