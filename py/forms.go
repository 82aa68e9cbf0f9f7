package py

import (
	"errors"
	"time"
)

// The reduce forms: how Python pickles the standard values that the value
// model gives Go types of their own — a callable and its arguments
// (REDUCE) — each built (for the pickler) and recognized (for the
// unpickler) here, side by side, so that the two directions cannot drift.
// The arguments are what CPython's __reduce__ gives; the recognizers accept
// exactly the shapes that rebuild an equal object and report false for any
// other, which then stays a Call.

// The globals of the reduce forms.
var (
	CodecsEncode      = Global{Module: "_codecs", Name: "encode"}        // bytes at protocols 0-2
	BuiltinBytes      = Global{Module: "builtins", Name: "bytes"}        // b"" at protocols 0-2
	BuiltinBytearray  = Global{Module: "builtins", Name: "bytearray"}    // bytearray below protocol 5
	BuiltinSet        = Global{Module: "builtins", Name: "set"}          // set below protocol 4
	BuiltinFrozenset  = Global{Module: "builtins", Name: "frozenset"}    // frozenset below protocol 4
	BuiltinComplex    = Global{Module: "builtins", Name: "complex"}      // complex
	DatetimeDatetime  = Global{Module: "datetime", Name: "datetime"}     // time.Time
	DatetimeTimedelta = Global{Module: "datetime", Name: "timedelta"}    // time.Duration
	DatetimeTimezone  = Global{Module: "datetime", Name: "timezone"}     // a time.Time's fixed offset
	CopyregNewobj     = Global{Module: "copyreg", Name: "__newobj__"}    // cls.__new__(cls, *args) below protocol 2
	CopyregNewobjEx   = Global{Module: "copyreg", Name: "__newobj_ex__"} // with keyword arguments
)

// ErrDatetimeRange is returned by DatetimeCall for a time outside
// datetime's years 1 to 9999.
var ErrDatetimeRange = errors.New("time outside datetime's years 1..9999")

// ErrTimezoneRange is returned by DatetimeCall for a time whose zone is 24
// hours or more from UTC (Go's FixedZone allows it; Python's timezone
// refuses it, so pickle.loads would fail).
var ErrTimezoneRange = errors.New("time zone offset outside datetime.timezone's range (strictly within 24 hours)")

// Latin1 is the encoding argument of the _codecs.encode form.
const Latin1 = "latin1"

// BytesCall is how protocols 0 to 2 write bytes, as CPython:
// _codecs.encode(b.decode("latin1"), "latin1"), or bytes() when empty.
func BytesCall(b []byte) Call {
	if len(b) == 0 {
		return Call{Callable: BuiltinBytes, Args: Tuple{}}
	}
	return Call{Callable: CodecsEncode, Args: Tuple{Latin1String(b), Latin1}}
}

// Latin1String returns b decoded as latin-1 (each byte one code point).
func Latin1String(b []byte) string {
	i := 0
	for i < len(b) && b[i] < 0x80 {
		i++
	}
	if i == len(b) {
		return string(b)
	}
	out := make([]byte, i, len(b)+(len(b)-i))
	copy(out, b)
	for _, c := range b[i:] {
		if c < 0x80 {
			out = append(out, c)
		} else {
			out = append(out, 0xc0|c>>6, 0x80|c&0x3f)
		}
	}
	return string(out)
}

// Latin1Bytes encodes s as latin-1; ok is false when s has a code point
// above U+00FF (or is not valid UTF-8).
func Latin1Bytes(s string) (b []byte, ok bool) {
	i := 0
	for i < len(s) && s[i] < 0x80 {
		i++
	}
	if i == len(s) {
		return []byte(s), true
	}
	b = make([]byte, i, len(s))
	copy(b, s)
	for j := i; j < len(s); {
		c := s[j]
		switch {
		case c < 0x80:
			b = append(b, c)
			j++
		case (c == 0xc2 || c == 0xc3) && j+1 < len(s) && s[j+1]&0xc0 == 0x80:
			b = append(b, (c&0x03)<<6|s[j+1]&0x3f)
			j += 2
		default:
			return nil, false
		}
	}
	return b, true
}

// BytearrayCall is how protocols below 5 write a bytearray:
// bytearray(bytes), or bytearray() when empty.
func BytearrayCall(b []byte) Call {
	if len(b) == 0 {
		return Call{Callable: BuiltinBytearray, Args: Tuple{}}
	}
	return Call{Callable: BuiltinBytearray, Args: Tuple{b}}
}

// SetCall is how protocols below 4 write a set or frozenset:
// set([items]) / frozenset([items]).
func SetCall(items []any, frozen bool) Call {
	g := BuiltinSet
	if frozen {
		g = BuiltinFrozenset
	}
	return Call{Callable: g, Args: Tuple{append(make([]any, 0, len(items)), items...)}}
}

// ComplexCall is complex(re, im).
func ComplexCall(c complex128) Call {
	return Call{Callable: BuiltinComplex, Args: Tuple{real(c), imag(c)}}
}

// DatetimeCall is datetime.__reduce__ of t: datetime(state) for a naive
// time (location Naive), datetime(state, timezone(offset)) otherwise.
func DatetimeCall(t time.Time) (Call, error) {
	if t.Year() < 1 || t.Year() > 9999 {
		return Call{}, ErrDatetimeRange
	}
	us := t.Nanosecond() / 1000
	st := []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), byte(us >> 16), byte(us >> 8), byte(us)}
	args := Tuple{st}
	if t.Location() != Naive {
		_, off := t.Zone()
		if off <= -86400 || off >= 86400 {
			return Call{}, ErrTimezoneRange
		}
		args = append(args, TimezoneCall(time.Duration(off)*time.Second))
	}
	return Call{Callable: DatetimeDatetime, Args: args}, nil
}

// TimedeltaCall is timedelta.__reduce__ of d, truncated to microseconds:
// timedelta(days, seconds, microseconds).
func TimedeltaCall(d time.Duration) Call {
	us := int64(d / time.Microsecond)
	const day = 86400 * 1000000
	days, rem := us/day, us%day
	if rem < 0 {
		rem += day
		days--
	}
	return Call{Callable: DatetimeTimedelta, Args: Tuple{days, rem / 1000000, rem % 1000000}}
}

// TimezoneCall is timezone(timedelta(offset)).
func TimezoneCall(offset time.Duration) Call {
	return Call{Callable: DatetimeTimezone, Args: Tuple{TimedeltaCall(offset)}}
}

// Reduce recognizes a reduce form: it returns the Go value that
// callable(*args) stands for when callable is one of the forms above and
// args have a shape CPython writes for it. Arguments are decoded values
// (a timedelta already a time.Duration, a list an []any). A timezone
// alone has no Go type: it is recognized only as a datetime's argument
// (see TimezoneOf).
func Reduce(callable Global, args Tuple) (any, bool) {
	switch callable {
	case CodecsEncode:
		if len(args) == 2 {
			s, ok1 := args[0].(string)
			enc, ok2 := args[1].(string)
			if ok1 && ok2 && (enc == "latin1" || enc == "latin-1") {
				return Latin1Bytes(s)
			}
		}
	case BuiltinBytes:
		if len(args) == 0 {
			return []byte{}, true
		}
	case BuiltinBytearray:
		switch len(args) {
		case 0:
			return ByteArray{}, true
		case 1:
			if b, ok := args[0].([]byte); ok {
				return ByteArray(append([]byte{}, b...)), true
			}
		case 2:
			s, ok1 := args[0].(string)
			enc, ok2 := args[1].(string)
			if ok1 && ok2 && (enc == "latin1" || enc == "latin-1") {
				if b, ok := Latin1Bytes(s); ok {
					return ByteArray(b), true
				}
			}
		}
	case BuiltinSet, BuiltinFrozenset:
		var items []any
		switch len(args) {
		case 0:
		case 1:
			l, ok := args[0].([]any)
			if !ok {
				return nil, false
			}
			items = l
		default:
			return nil, false
		}
		for _, it := range items {
			if _, ok := Key(it); !ok {
				return nil, false
			}
		}
		if callable == BuiltinSet {
			return NewSet(items...), true
		}
		return NewFrozenSet(items...), true
	case BuiltinComplex:
		if len(args) == 2 {
			re, ok1 := args[0].(float64)
			im, ok2 := args[1].(float64)
			if ok1 && ok2 {
				return complex(re, im), true
			}
		}
	case DatetimeTimedelta:
		if len(args) == 3 {
			d, ok1 := args[0].(int64)
			s, ok2 := args[1].(int64)
			us, ok3 := args[2].(int64)
			// time.Duration spans ±292 years; a larger timedelta stays a call.
			if ok1 && ok2 && ok3 && d > -106000 && d < 106000 && s >= 0 && s < 86400 && us >= 0 && us < 1000000 {
				return time.Duration(d)*24*time.Hour + time.Duration(s)*time.Second + time.Duration(us)*time.Microsecond, true
			}
		}
	case DatetimeDatetime:
		return DatetimeOf(args)
	}
	return nil, false
}

// TimezoneOf recognizes the arguments of timezone(offset) that a Go fixed
// zone can stand for: one whole-second timedelta within a day.
func TimezoneOf(args Tuple) (offset time.Duration, ok bool) {
	if len(args) != 1 {
		return 0, false
	}
	d, ok := durationOf(args[0])
	if !ok || d <= -24*time.Hour || d >= 24*time.Hour || d%time.Second != 0 {
		return 0, false
	}
	return d, true
}

// ZoneOf returns the location a datetime's tzinfo argument stands for:
// Naive for None, UTC or a fixed zone for a timezone form (a *Call or Call
// of DatetimeTimezone that TimezoneOf accepts, or a *time.Location the
// caller recognized before).
func ZoneOf(tz any) (*time.Location, bool) {
	var c *Call
	switch x := tz.(type) {
	case nil:
		return Naive, true
	case *time.Location:
		return x, x != nil
	case *Call:
		c = x
	case Call:
		c = &x
	default:
		return nil, false
	}
	if c == nil || c.Callable != DatetimeTimezone || c.HasState || len(c.ListItems) > 0 || len(c.DictItems) > 0 {
		return nil, false
	}
	off, ok := TimezoneOf(c.Args)
	if !ok {
		return nil, false
	}
	if off == 0 {
		return time.UTC, true
	}
	return time.FixedZone("", int(off/time.Second)), true
}

// DatetimeOf recognizes datetime(state[, tzinfo]) as a time.Time.
func DatetimeOf(args Tuple) (time.Time, bool) {
	if len(args) != 1 && len(args) != 2 {
		return time.Time{}, false
	}
	st, ok := args[0].([]byte)
	if !ok || len(st) != 10 || st[2] < 1 || st[2] > 12 {
		return time.Time{}, false
	}
	loc := Naive
	if len(args) == 2 {
		if loc, ok = ZoneOf(args[1]); !ok {
			return time.Time{}, false
		}
	}
	year := int(st[0])<<8 | int(st[1])
	us := int(st[7])<<16 | int(st[8])<<8 | int(st[9])
	if year < 1 || st[3] < 1 || st[3] > 31 || st[4] > 23 || st[5] > 59 || st[6] > 59 || us > 999999 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(st[2]), int(st[3]), int(st[4]), int(st[5]), int(st[6]), us*1000, loc)
	if t.Day() != int(st[3]) { // e.g. February 30th
		return time.Time{}, false
	}
	return t, true
}

// durationOf accepts a decoded timedelta (time.Duration) or its unevaluated
// form (a Call of DatetimeTimedelta, as TimedeltaCall builds).
func durationOf(v any) (time.Duration, bool) {
	var c *Call
	switch x := v.(type) {
	case time.Duration:
		return x, true
	case Call:
		c = &x
	case *Call:
		c = x
	default:
		return 0, false
	}
	if c == nil || c.Callable != DatetimeTimedelta || c.HasState || len(c.ListItems) > 0 || len(c.DictItems) > 0 {
		return 0, false
	}
	r, ok := Reduce(DatetimeTimedelta, c.Args)
	if !ok {
		return 0, false
	}
	return r.(time.Duration), true
}
