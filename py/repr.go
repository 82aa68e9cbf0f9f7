package py

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Repr returns a Python-like text for a value of the model, as Python's
// repr() would print the value it stands for: None, True, 'str', b'bytes',
// [1, 2], (1,), {'k': 'v'}, {1, 2}, frozenset({1}), bytearray(b'x'),
// datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.timedelta(seconds=5).
// Classes are module.name; values Python has no repr for (a REDUCE call, an
// object built by NEWOBJ, a persistent id, an out-of-band placeholder) are
// shown in angle brackets, e.g. <call collections.OrderedDict() dictitems={'a': 1}>.
// Go values outside the model are printed with fmt's %v. A list reached
// again inside itself is [...], as in Python.
//
// The model's types use it for String, so fmt's %v and %s print it.
func Repr(v any) string {
	r := reprState{seen: map[uintptr]bool{}}
	r.value(v, 0)
	return r.sb.String()
}

// String returns the Python repr of the dict (see Repr).
func (d *Dict) String() string { return Repr(d) }

// String returns the Python repr of the set (see Repr).
func (s *Set) String() string { return Repr(s) }

// String returns the Python repr of the frozenset (see Repr).
func (s *FrozenSet) String() string { return Repr(s) }

// String returns the Python repr of the tuple (see Repr).
func (t Tuple) String() string { return Repr(t) }

// String returns the Python repr of the bytearray (see Repr).
func (b ByteArray) String() string { return Repr(b) }

// String returns the Python 2 repr of the str, quoted with byte escapes
// (see Repr).
func (b ByteString) String() string { return Repr(b) }

// String returns the call as <call callable(args) …> (see Repr).
func (c *Call) String() string { return Repr(c) }

// String returns the object as <object class.__new__(args) …> (see Repr).
func (o *Object) String() string { return Repr(o) }

// String returns <persistent id …>.
func (p PersistentID) String() string { return Repr(p) }

// String returns PickleBuffer(b'…') (see Repr).
func (p PickleBuffer) String() string { return Repr(p) }

// String returns <out-of-band buffer N>.
func (o OutOfBand) String() string { return Repr(o) }

// maxReprDepth bounds the nesting Repr follows (deeper levels print as
// ...), so that a deep value cannot exhaust the stack.
const maxReprDepth = 1000

type reprState struct {
	sb   strings.Builder
	seen map[uintptr]bool // containers being printed, for [...]
}

// enter marks a container as being printed; false if it already is.
func (r *reprState) enter(p uintptr) bool {
	if p == 0 {
		return true
	}
	if r.seen[p] {
		return false
	}
	r.seen[p] = true
	return true
}

func (r *reprState) leave(p uintptr) { delete(r.seen, p) }

func (r *reprState) value(v any, depth int) {
	sb := &r.sb
	if depth > maxReprDepth {
		sb.WriteString("...")
		return
	}
	switch x := v.(type) {
	case nil:
		sb.WriteString("None")
	case bool:
		if x {
			sb.WriteString("True")
		} else {
			sb.WriteString("False")
		}
	case int:
		sb.WriteString(strconv.Itoa(x))
	case int64:
		sb.WriteString(strconv.FormatInt(x, 10))
	case int8, int16, int32, uint, uint8, uint16, uint32, uint64, uintptr:
		fmt.Fprint(sb, x)
	case *big.Int:
		if x == nil {
			sb.WriteString("None")
		} else {
			sb.WriteString(x.String())
		}
	case big.Int:
		sb.WriteString(x.String())
	case float64:
		sb.WriteString(floatRepr(x))
	case float32:
		sb.WriteString(floatRepr(float64(x)))
	case complex128:
		complexRepr(sb, x)
	case complex64:
		complexRepr(sb, complex128(x))
	case string:
		strRepr(sb, x)
	case []byte:
		bytesRepr(sb, x)
	case ByteArray:
		sb.WriteString("bytearray(")
		bytesRepr(sb, x)
		sb.WriteString(")")
	case ByteString:
		quoteBytes(sb, "", x) // a Python 2 str: bytes' escapes, without the b
	case []any:
		p := uintptr(0)
		if len(x) > 0 {
			p = uintptr(reflect.ValueOf(x).UnsafePointer())
		}
		if !r.enter(p) {
			sb.WriteString("[...]")
			return
		}
		sb.WriteByte('[')
		r.seq(x, depth)
		sb.WriteByte(']')
		r.leave(p)
	case Tuple:
		sb.WriteByte('(')
		r.seq(x, depth)
		if len(x) == 1 {
			sb.WriteByte(',')
		}
		sb.WriteByte(')')
	case *Dict:
		if x == nil {
			sb.WriteString("None")
			return
		}
		p := uintptr(reflect.ValueOf(x).UnsafePointer())
		if !r.enter(p) {
			sb.WriteString("{...}")
			return
		}
		r.items(x.items, depth)
		r.leave(p)
	case *Set:
		if x == nil {
			sb.WriteString("None")
			return
		}
		r.set(x, "set()", "", depth)
	case *FrozenSet:
		if x == nil {
			sb.WriteString("None")
			return
		}
		r.set(&x.Set, "frozenset()", "frozenset(", depth)
	case Global:
		sb.WriteString(x.String())
	case *Call:
		if x == nil {
			sb.WriteString("None")
			return
		}
		sb.WriteString("<call ")
		r.value(x.Callable, depth+1)
		sb.WriteByte('(')
		r.seq(x.Args, depth)
		sb.WriteByte(')')
		r.extras(x.ListItems, x.DictItems, x.State, x.HasState, depth)
		sb.WriteByte('>')
	case *Object:
		if x == nil {
			sb.WriteString("None")
			return
		}
		sb.WriteString("<object ")
		r.value(x.Class, depth+1)
		sb.WriteString(".__new__(")
		r.seq(x.Args, depth)
		if x.Kwargs.Len() > 0 {
			if len(x.Args) > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("**")
			r.value(x.Kwargs, depth+1)
		}
		sb.WriteByte(')')
		r.extras(x.ListItems, x.DictItems, x.State, x.HasState, depth)
		sb.WriteByte('>')
	case PersistentID:
		sb.WriteString("<persistent id ")
		r.value(x.ID, depth+1)
		sb.WriteByte('>')
	case PickleBuffer:
		sb.WriteString("PickleBuffer(")
		if x.ReadOnly {
			bytesRepr(sb, x.Data)
		} else {
			sb.WriteString("bytearray(")
			bytesRepr(sb, x.Data)
			sb.WriteByte(')')
		}
		sb.WriteByte(')')
	case OutOfBand:
		fmt.Fprintf(sb, "<out-of-band buffer %d>", x.Index)
	case time.Time:
		timeRepr(sb, x)
	case time.Duration:
		durationRepr(sb, x)
	default:
		fmt.Fprintf(sb, "%v", v)
	}
}

func (r *reprState) seq(xs []any, depth int) {
	for i, e := range xs {
		if i > 0 {
			r.sb.WriteString(", ")
		}
		r.value(e, depth+1)
	}
}

func (r *reprState) items(items []Item, depth int) {
	r.sb.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			r.sb.WriteString(", ")
		}
		r.value(it.Key, depth+1)
		r.sb.WriteString(": ")
		r.value(it.Value, depth+1)
	}
	r.sb.WriteByte('}')
}

func (r *reprState) set(s *Set, empty, open string, depth int) {
	if len(s.items) == 0 {
		r.sb.WriteString(empty)
		return
	}
	r.sb.WriteString(open)
	r.sb.WriteByte('{')
	r.seq(s.items, depth)
	r.sb.WriteByte('}')
	if open != "" {
		r.sb.WriteByte(')')
	}
}

func (r *reprState) extras(list []any, dict []Item, state any, hasState bool, depth int) {
	if len(list) > 0 {
		r.sb.WriteString(" listitems=[")
		r.seq(list, depth)
		r.sb.WriteByte(']')
	}
	if len(dict) > 0 {
		r.sb.WriteString(" dictitems=")
		r.items(dict, depth)
	}
	if hasState {
		r.sb.WriteString(" state=")
		r.value(state, depth+1)
	}
}

// floatRepr is Python's repr of a float (see AppendFloatRepr).
func floatRepr(f float64) string {
	var tmp [32]byte
	return string(AppendFloatRepr(tmp[:0], f))
}

// AppendFloatRepr appends Python's repr() of f (with ".0" for integral
// values, as float.__repr__ and protocol-0 FLOAT write it): the shortest
// text that reads back the same, in fixed notation for exponents from -4 to
// 15. It allocates nothing beyond b's growth.
func AppendFloatRepr(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d.ddde±XX
	neg := s[0] == '-'
	if neg {
		s = s[1:]
		b = append(b, '-')
	}
	ei := 0
	for ei < len(s) && s[ei] != 'e' {
		ei++
	}
	mant, expS := s[:ei], s[ei+1:]
	exp, _ := strconv.Atoi(string(expS))
	var digits [24]byte
	nd := 0
	for _, c := range mant {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	d := digits[:nd]
	// Python's repr switches to exponent form when exp < -4 or exp >= 16.
	if exp < -4 || exp >= 16 {
		b = append(b, d[0])
		if len(d) > 1 {
			b = append(b, '.')
			b = append(b, d[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(exp), 10)
	}
	if exp < 0 {
		b = append(b, '0', '.')
		for i := 0; i < -exp-1; i++ {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	if len(d) <= exp+1 {
		b = append(b, d...)
		for i := len(d); i < exp+1; i++ {
			b = append(b, '0')
		}
		return append(b, '.', '0')
	}
	b = append(b, d[:exp+1]...)
	b = append(b, '.')
	return append(b, d[exp+1:]...)
}

func complexRepr(sb *strings.Builder, c complex128) {
	re, im := real(c), imag(c)
	imText := floatRepr(im)
	imText = strings.TrimSuffix(imText, ".0")
	if re == 0 && !math.Signbit(re) {
		sb.WriteString(imText + "j")
		return
	}
	reText := strings.TrimSuffix(floatRepr(re), ".0")
	sign := "+"
	if math.Signbit(im) || math.IsNaN(im) && strings.HasPrefix(imText, "-") {
		sign = ""
	}
	sb.WriteString("(" + reText + sign + imText + "j)")
}

// strRepr is Python's repr of a str: single quotes unless the text has
// single quotes and no double ones; printable characters as they are.
func strRepr(sb *strings.Builder, s string) {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	sb.WriteByte(q)
	for i := 0; i < len(s); {
		c, n := DecodeRune(s[i:])          // a lone surrogate too (see ValidString)
		if c == utf8.RuneError && n == 1 { // not UTF-8 (Go strings may be anything)
			fmt.Fprintf(sb, `\x%02x`, s[i])
			i++
			continue
		}
		i += n
		switch {
		case c == rune(q) || c == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(sb, `\x%02x`, c)
		case c < 0x7f || unicode.IsPrint(c) && !unicode.Is(unicode.Cs, c):
			sb.WriteRune(c)
		case c <= 0xff:
			fmt.Fprintf(sb, `\x%02x`, c)
		case c <= 0xffff:
			fmt.Fprintf(sb, `\u%04x`, c)
		default:
			fmt.Fprintf(sb, `\U%08x`, c)
		}
	}
	sb.WriteByte(q)
}

// bytesRepr is Python's repr of bytes: b'…' with printable ASCII as it is.
func bytesRepr(sb *strings.Builder, b []byte) { quoteBytes(sb, "b", b) }

func quoteBytes(sb *strings.Builder, prefix string, b []byte) {
	q := byte('\'')
	if bytesHas(b, '\'') && !bytesHas(b, '"') {
		q = '"'
	}
	sb.WriteString(prefix)
	sb.WriteByte(q)
	for _, c := range b {
		switch {
		case c == q || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(q)
}

func bytesHas(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// timeRepr is datetime.datetime's repr; a location other than Naive is a
// tzinfo (timezone.utc, or a fixed offset).
func timeRepr(sb *strings.Builder, t time.Time) {
	fmt.Fprintf(sb, "datetime.datetime(%d, %d, %d, %d, %d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
	us := t.Nanosecond() / 1000
	if t.Second() != 0 || us != 0 {
		fmt.Fprintf(sb, ", %d", t.Second())
	}
	if us != 0 {
		fmt.Fprintf(sb, ", %d", us)
	}
	if t.Location() != Naive {
		_, off := t.Zone()
		if off == 0 && t.Location() == time.UTC {
			sb.WriteString(", tzinfo=datetime.timezone.utc")
		} else {
			sb.WriteString(", tzinfo=datetime.timezone(")
			durationRepr(sb, time.Duration(off)*time.Second)
			sb.WriteString(")")
		}
	}
	sb.WriteByte(')')
}

// durationRepr is datetime.timedelta's repr: days, seconds and
// microseconds, normalized as Python does (only days may be negative).
func durationRepr(sb *strings.Builder, d time.Duration) {
	us := d.Microseconds()
	const usPerDay = 86400 * 1000000
	days := us / usPerDay
	rest := us % usPerDay
	if rest < 0 {
		days--
		rest += usPerDay
	}
	secs, micros := rest/1000000, rest%1000000
	var parts []string
	if days != 0 {
		parts = append(parts, fmt.Sprintf("days=%d", days))
	}
	if secs != 0 {
		parts = append(parts, fmt.Sprintf("seconds=%d", secs))
	}
	if micros != 0 {
		parts = append(parts, fmt.Sprintf("microseconds=%d", micros))
	}
	if len(parts) == 0 {
		parts = []string{"0"}
	}
	sb.WriteString("datetime.timedelta(" + strings.Join(parts, ", ") + ")")
}
