package unpickler

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
)

// The text forms of numbers (protocols 0 and 1), read exactly as CPython's
// _pickle.c reads them, so that a pickle CPython accepts gives the same
// value here and one it refuses is refused:
//
//   - INT: C's strtol(s, 0) on the line, newline included: leading
//     whitespace, a sign, 0x for hex and a leading 0 for octal ("010" is
//     8); a line of two characters holding 0 or 1 is a bool ("00", "01",
//     also "+1" or " 0"). What strtol cannot take whole goes to Python's
//     int(s, 0): underscores, 0o and 0b prefixes, trailing whitespace,
//     values beyond 64 bits ("08" is refused there).
//   - LONG: one trailing 'L' dropped, then int(s, 0) ("010L" is refused).
//   - FLOAT: PyOS_string_to_double: no leading whitespace, no underscores,
//     no hex; inf, infinity and nan in any case; too large is refused
//     (OverflowError), too small is 0.
//
// The line is a C string there: it ends at its first NUL byte.

// cString is the line as _pickle.c's C functions see it: cut at its first
// NUL. (The newline they also see only ever counts as whitespace or as the
// end, so it is left out.)
func cString(line []byte) []byte {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		return line[:i]
	}
	return line
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// textIntValue reads INT's argument (the line without its newline).
func textIntValue(line []byte) (any, bool) {
	if len(line) == 0 {
		return nil, false
	}
	s := cString(line)
	if x, end, ok := strtol(s); ok && end == len(s) {
		if len(line)+1 == 3 && (x == 0 || x == 1) {
			return x == 1, true
		}
		return x, true
	}
	return pyIntFromString(s)
}

// textLongValue reads LONG's argument.
func textLongValue(line []byte) (any, bool) {
	if len(line) == 0 {
		return nil, false
	}
	if line[len(line)-1] == 'L' {
		line = line[:len(line)-1]
	}
	return pyIntFromString(cString(line))
}

// strtol is C's strtol(s, &end, 0) for a 64-bit long; ok is false when it
// overflows (errno ERANGE).
func strtol(s []byte) (x int64, end int, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := uint64(10)
	if i < len(s) && s[i] == '0' {
		if i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && digitVal(s[i+2]) < 16 {
			base, i = 16, i+2
		} else {
			base = 8
		}
	}
	start := i
	var u uint64
	over := false
	for i < len(s) {
		d := uint64(digitVal(s[i]))
		if d >= base {
			break
		}
		if u > (math.MaxUint64-d)/base {
			over = true
		} else {
			u = u*base + d
		}
		i++
	}
	if i == start {
		return 0, 0, true // no digits: nothing converted, end at the start
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if over || u > limit {
		return 0, i, false
	}
	if neg {
		return -int64(u), i, true // -(1<<63) wraps to itself, as wanted
	}
	return int64(u), i, true
}

func digitVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 10
	case c >= 'A' && c <= 'Z':
		return c - 'A' + 10
	}
	return 255
}

// pyIntFromString is PyLong_FromString(s, NULL, 0): Python's int literal
// rules with surrounding whitespace, and int_max_str_digits for decimal.
func pyIntFromString(s []byte) (any, bool) { return pyInt(s, 0) }

// memoIndexText reads the argument of GET and PUT as CPython does:
// PyLong_FromString(s, NULL, 10) (whitespace, a sign, underscores, leading
// zeros), not negative.
func memoIndexText(line []byte) (uint64, bool) {
	v, ok := pyInt(cString(line), 10)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		if x >= 0 {
			return uint64(x), true
		}
	case *big.Int:
		if x.Sign() >= 0 && x.IsUint64() {
			return x.Uint64(), true
		}
	}
	return 0, false
}

// pyInt is PyLong_FromString(s, NULL, base) for base 0 (a literal, with
// its prefix) or 10.
func pyInt(s []byte, base0 int) (any, bool) {
	i, n := 0, len(s)
	for i < n && isCSpace(s[i]) {
		i++
	}
	for n > i && isCSpace(s[n-1]) {
		n--
	}
	s = s[i:n]
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	if base0 == 0 && len(s) >= 2 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 10 {
			s = s[2:]
			if len(s) > 0 && s[0] == '_' {
				s = s[1:] // one underscore may follow the prefix
			}
		}
	}
	// Digits, single underscores between them.
	digits := make([]byte, 0, len(s))
	for j := 0; j < len(s); j++ {
		c := s[j]
		if c == '_' {
			if j == 0 || j == len(s)-1 || s[j-1] == '_' {
				return nil, false
			}
			continue
		}
		if int(digitVal(c)) >= base {
			return nil, false
		}
		digits = append(digits, c)
	}
	if len(digits) == 0 {
		return nil, false
	}
	if base0 == 0 && base == 10 && digits[0] == '0' {
		// A decimal literal with a leading zero must be all zeros.
		for _, c := range digits {
			if c != '0' {
				return nil, false
			}
		}
		return int64(0), true
	}
	if base == 10 && len(digits) > maxStrDigits {
		return nil, false // CPython's int_max_str_digits
	}
	if len(digits) <= 18 && base == 10 || len(digits) <= 15 && base == 16 || len(digits) <= 62 && base == 2 || len(digits) <= 20 && base == 8 {
		u, err := strconv.ParseUint(string(digits), base, 64)
		if err == nil && u <= math.MaxInt64 {
			if neg {
				return -int64(u), true
			}
			return int64(u), true
		}
	}
	b, ok := new(big.Int).SetString(string(digits), base)
	if !ok {
		return nil, false
	}
	if neg {
		b.Neg(b)
	}
	return normInt(b), true
}

// textFloatValue reads FLOAT's argument as PyOS_string_to_double does;
// overflow is false, as CPython raises OverflowError.
func textFloatValue(line []byte) (float64, bool) {
	if len(line) == 0 {
		return 0, false
	}
	s := cString(line)
	end := floatPrefix(s)
	if end != len(s) {
		return 0, false
	}
	t := string(s[:end])
	if f, ok := infNaN(t); ok {
		return f, true
	}
	f, err := strconv.ParseFloat(t, 64)
	if math.IsInf(f, 0) {
		return 0, false // OverflowError in CPython
	}
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	return f, true
}

// floatPrefix returns the length of the float literal at the start of s as
// _Py_dg_strtod reads it, or -1 if there is none.
func floatPrefix(s []byte) int {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for _, w := range []string{"infinity", "inf", "nan"} {
		if len(s)-i >= len(w) && bytes.EqualFold(s[i:i+len(w)], []byte(w)) {
			return i + len(w)
		}
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return -1
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	return i
}

func infNaN(t string) (float64, bool) {
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	switch {
	case len(t) == 3 && bytes.EqualFold([]byte(t), []byte("nan")):
		return math.NaN(), true
	case bytes.EqualFold([]byte(t), []byte("inf")), bytes.EqualFold([]byte(t), []byte("infinity")):
		if neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	return 0, false
}
