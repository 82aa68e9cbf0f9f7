package pickler

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Causes of an UnsupportedValueError, for errors.Is.
var (
	// ErrTooLarge: a length the chosen protocol cannot carry (a str or
	// bytes of 4 GiB or more below protocol 4, a Python 2 str of 2 GiB).
	ErrTooLarge = errors.New("too large for the protocol")
	// ErrUnhashable: a dict key or set item that Python cannot hash (a
	// list, dict, set, bytearray, or a struct or map used as a key).
	ErrUnhashable = errors.New("unhashable")
	// ErrDuplicateKey: two keys of a Go map that Python finds equal (1,
	// 1.0 and true in a map[any]any; two pointers to equal values; two
	// times of one instant): CPython would keep one and drop the others'
	// values.
	ErrDuplicateKey = errors.New("keys equal in Python")
	// ErrTooDeep: nesting beyond MaxDepth.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrInvalidString: a str that is not valid UTF-8.
	ErrInvalidString = errors.New("string is not valid UTF-8")
	// ErrProtocol: the value needs an opcode the protocol lacks.
	ErrProtocol = errors.New("not expressible at this protocol")
	// ErrMarshaler: a Marshaler failed or returned itself.
	ErrMarshaler = errors.New("MarshalPickle failed")
	// ErrCycle: a tuple that contains itself with nothing memoizable
	// between (Go can build one, Python cannot).
	ErrCycle = errors.New("self-containing tuple")
	// ErrInternal: a panic inside the encoder, turned into an error.
	ErrInternal = errors.New("internal error")
)

// ErrNilOutput is returned by EncodeTo given a nil *segments.List and by
// the Encode of an Encoder made with a nil io.Writer.
var ErrNilOutput = errors.New("pickler: nil output (a nil *segments.List or io.Writer)")

// UnsupportedTypeError is returned for a Go value that has no pickle form
// (chan, func, unsafe.Pointer, …). Path says where it was, e.g. ".Items[3].Ch".
type UnsupportedTypeError struct {
	Type  reflect.Type
	Path  string
	steps []string // path steps, innermost first, while unwinding
}

func (e *UnsupportedTypeError) Error() string {
	return "pickler: unsupported type " + e.Type.String() + " at " + shortPath(e.Path)
}

// UnsupportedValueError is returned for a value of a supported type that
// cannot be encoded: invalid UTF-8, a length or an opcode the protocol
// lacks, an unhashable key, too deep nesting. Err is one of the Err…
// causes above (errors.Is works on the UnsupportedValueError).
type UnsupportedValueError struct {
	Reason string
	Path   string
	Err    error
	steps  []string
}

func (e *UnsupportedValueError) Error() string {
	return "pickler: " + e.Reason + " at " + shortPath(e.Path)
}

// Unwrap returns the cause.
func (e *UnsupportedValueError) Unwrap() error { return e.Err }

// InvalidOptionError is returned by Marshal, EncodeTo and Encoder.Encode
// for an option given a value out of its range, e.g. Protocol(9).
type InvalidOptionError struct {
	Option   string // "Protocol", "FrameSize", "MaxDepth", "RefThreshold"
	Value    int
	Min, Max int
}

func (e *InvalidOptionError) Error() string {
	return "pickler: invalid " + e.Option + " " + strconv.Itoa(e.Value) +
		" (range is [" + strconv.Itoa(e.Min) + ", " + strconv.Itoa(e.Max) + "])"
}

// fresh returns a copy of a prepared error, for the path to be added to.
func (e *UnsupportedValueError) fresh() *UnsupportedValueError {
	c := *e
	return &c
}

func valueErr(cause error, reason string) *UnsupportedValueError {
	return &UnsupportedValueError{Reason: reason, Err: cause}
}

// withPath adds one step (".Field", "[3]") to a pickler error as it
// unwinds: appended, so that a path of depth d costs O(d), not O(d²); the
// Path string is made once, at the top (finishPath).
func withPath(err error, elem string) error {
	switch e := err.(type) {
	case *UnsupportedTypeError:
		e.steps = append(e.steps, elem)
	case *UnsupportedValueError:
		e.steps = append(e.steps, elem)
	}
	return err
}

func indexPath(i int) string { return "[" + strconv.Itoa(i) + "]" }

// finishPath joins the steps into Path.
func finishPath(err error) error {
	var steps *[]string
	var path *string
	switch e := err.(type) {
	case *UnsupportedTypeError:
		steps, path = &e.steps, &e.Path
	case *UnsupportedValueError:
		steps, path = &e.steps, &e.Path
	default:
		return err
	}
	if len(*steps) == 0 {
		return err
	}
	n := len(*path)
	for _, s := range *steps {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for i := len(*steps) - 1; i >= 0; i-- {
		b.WriteString((*steps)[i])
	}
	b.WriteString(*path)
	*path, *steps = b.String(), nil
	return err
}

// pathEnds is how many steps of a long path Error prints at each end.
const pathEnds = 8

// shortPath is the path as printed: whole when short, else its first and
// last steps around a count of those left out, so that an error 10,000
// levels deep is a line, not 30 KB.
func shortPath(p string) string {
	if p == "" {
		return "top level"
	}
	starts := stepStarts(p)
	if len(starts) <= 2*pathEnds+1 {
		return "path " + p
	}
	head := p[:starts[pathEnds]]
	tail := p[starts[len(starts)-pathEnds]:]
	return "path " + head + "…(" + strconv.Itoa(len(starts)-2*pathEnds) + " steps)…" + tail
}

// stepStarts returns the offsets where the steps of p start: a '.' or a
// '[' or '{' outside brackets and quotes.
func stepStarts(p string) []int {
	var out []int
	depth, quoted := 0, false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case (c == '[' || c == '{') && depth == 0:
			out = append(out, i)
			depth++
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == '.' && depth == 0:
			out = append(out, i)
		}
	}
	return out
}

// maxPathKey is the most bytes of a map key that a path step holds: the
// step is a copy, and a key of gigabytes (a 5 GiB str key too long for
// the protocol) ran the process out of memory building its error.
const maxPathKey = 64

// cutKey is k, or its first maxPathKey bytes (whole runes) and its length.
func cutKey(k string) string {
	if len(k) <= maxPathKey {
		return k
	}
	i := maxPathKey
	for i > 0 && !utf8.RuneStart(k[i]) {
		i--
	}
	return k[:i] + "…(" + strconv.Itoa(len(k)) + " bytes)"
}

func keyPath(k string) string {
	k = cutKey(k)
	if strings.ContainsAny(k, "[]{}.\" ") {
		return "[" + quote(k) + "]"
	}
	return "[" + k + "]"
}

// quote is s in Go's double-quoted form: control characters (a newline in
// a global's name, say) escaped, so that an error stays one line.
func quote(s string) string { return strconv.Quote(s) }

// Marshaler is implemented by Go types that say how they pickle: the
// returned value (often a py.Call, py.Object or py.Global) is encoded in
// their place, as Python's __reduce__.
type Marshaler interface {
	MarshalPickle() (any, error)
}
