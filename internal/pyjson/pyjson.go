// Package pyjson converts between JSON and segpickle's Python value model.
//
// Plain JSON maps as Python's json module does: integers of any size to int
// (int64 or *big.Int, never float), numbers with a fraction or exponent to
// float, strings to str (a lone surrogate escape, "\udce9", too: see
// surrogates.go), arrays to list, objects to dict with key order kept. The
// tagged form adds one-key objects for what JSON lacks:
//
//	{"$tuple": [...]}            tuple
//	{"$bytes": "<base64>"}       bytes
//	{"$bytearray": "<base64>"}   bytearray
//	{"$str2": "<base64>"}        Python 2 str
//	{"$set": [...]}              set
//	{"$frozenset": [...]}        frozenset
//	{"$float": "nan"|"inf"|"-inf"} non-finite float
//	{"$complex": [re, im]}       complex
//	{"$dict": [[k, v], ...]}     dict whose keys are not all str (or that could be read as a tag)
//	{"$global": "module name"}   global
//	{"$call": [callable, [args...], state?, [listitems], [[k, v]...], [after...]]}  REDUCE (+BUILD)
//	{"$object": [class, [args...], {kwargs}, state?, [listitems], [[k, v]...], [after...]]} NEWOBJ (+BUILD)
//	(state is null when there is none; the tail is left out when empty;
//	after: values built after it and discarded, py.Call.After)
//	{"$persid": id}              persistent id
//	{"$buffer": n}               out-of-band buffer placeholder
//	{"$datetime": "RFC 3339"}    datetime.datetime ("Z"-less, offset-less = naive)
//	{"$timedelta": microseconds} datetime.timedelta
package pyjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/segpickle/segpickle/py"
)

// Decode reads one JSON document from r. With tagged, one-key objects whose
// key is a known tag are read as the tagged form.
func Decode(r io.Reader, tagged bool) (any, error) {
	d, err := newDecoder(r) // strings as Python reads them (surrogates.go)
	if err != nil {
		return nil, err
	}
	v, err := decodeValue(d, tagged, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		if err == nil {
			return nil, errors.New("json: more than one document")
		}
		return nil, err
	}
	return v, nil
}

func decodeValue(d *decoder, tagged bool, depth int) (any, error) {
	tok, err := d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return fromToken(d, tok, tagged, depth)
}

func fromToken(d *decoder, tok json.Token, tagged bool, depth int) (any, error) {
	switch t := tok.(type) {
	case nil, bool, string:
		return t, nil
	case json.Number:
		return Number(string(t))
	case json.Delim:
		if depth >= maxDepth {
			return nil, fmt.Errorf("json: nesting deeper than %d at byte %d", maxDepth, d.InputOffset())
		}
		switch t {
		case '[':
			list := []any{}
			for d.More() {
				v, err := decodeValue(d, tagged, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := d.Token()
			return list, err
		case '{':
			dict := py.NewDict(0)
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				v, err := decodeValue(d, tagged, depth+1)
				if err != nil {
					return nil, err
				}
				dict.Set(k, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			if tagged && dict.Len() == 1 {
				it := dict.Items()[0]
				if k := it.Key.(string); strings.HasPrefix(k, "$") {
					return untag(k, it.Value)
				}
			}
			return dict, nil
		}
	}
	return nil, fmt.Errorf("json: unexpected token %v", tok)
}

// Number converts a JSON number as Python's json module does.
func Number(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if d := len(strings.TrimPrefix(s, "-")); d > MaxIntDigits {
			return nil, fmt.Errorf("json: integer of %d digits exceeds the limit (%d digits) for integer string conversion, as in Python's json", d, MaxIntDigits)
		}
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("json: bad integer %q", s)
		}
		return b, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil // ±inf or 0, as Python's float()
		}
		return nil, fmt.Errorf("json: bad number %q", s)
	}
	return f, nil
}

func untag(tag string, v any) (any, error) {
	list := func() ([]any, error) {
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("json: %s wants an array", tag)
		}
		return l, nil
	}
	b64 := func() ([]byte, error) {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("json: %s wants a base64 string", tag)
		}
		return base64.StdEncoding.DecodeString(s)
	}
	switch tag {
	case "$tuple":
		l, err := list()
		return py.Tuple(l), err
	case "$bytes":
		b, err := b64()
		if b == nil && err == nil {
			b = []byte{}
		}
		return b, err
	case "$bytearray":
		b, err := b64()
		if b == nil {
			b = []byte{}
		}
		return py.ByteArray(b), err
	case "$str2":
		b, err := b64()
		if b == nil {
			b = []byte{}
		}
		return py.ByteString(b), err
	case "$set":
		l, err := list()
		return py.NewSet(l...), err
	case "$frozenset":
		l, err := list()
		return py.NewFrozenSet(l...), err
	case "$float":
		switch v {
		case "nan":
			return math.NaN(), nil
		case "inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
		return nil, fmt.Errorf("json: bad $float %v", v)
	case "$complex":
		l, err := list()
		if err != nil || len(l) != 2 {
			return nil, fmt.Errorf("json: $complex wants [re, im]")
		}
		re, ok1 := toFloat(l[0])
		im, ok2 := toFloat(l[1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("json: $complex wants numbers")
		}
		return complex(re, im), nil
	case "$dict":
		l, err := list()
		if err != nil {
			return nil, err
		}
		d := py.NewDict(len(l))
		for _, it := range l {
			kv, ok := it.([]any)
			if !ok || len(kv) != 2 {
				return nil, fmt.Errorf("json: $dict wants [key, value] pairs")
			}
			d.Set(kv[0], kv[1])
		}
		return d, nil
	case "$global":
		s, ok := v.(string)
		mod, name, ok2 := strings.Cut(s, " ")
		if !ok || !ok2 {
			return nil, fmt.Errorf("json: $global wants \"module name\"")
		}
		return py.Global{Module: mod, Name: name}, nil
	case "$call":
		l, err := list()
		if err != nil || len(l) < 2 || len(l) > 6 || len(l) == 4 {
			return nil, fmt.Errorf("json: $call wants [callable, args, state?]")
		}
		args, ok := l[1].([]any)
		if !ok {
			return nil, fmt.Errorf("json: $call args must be an array")
		}
		c := &py.Call{Callable: l[0], Args: py.Tuple(args)}
		if len(l) >= 3 && (l[2] != nil || len(l) == 3) {
			c.State, c.HasState = l[2], true
		}
		var err2 error
		if len(l) >= 5 {
			c.ListItems, c.DictItems, err2 = tail(l[3], l[4])
		}
		if len(l) == 6 && err2 == nil {
			c.After, err2 = afterOf(l[5])
		}
		return c, err2
	case "$object":
		l, err := list()
		if err != nil || len(l) < 3 || len(l) > 7 || len(l) == 5 {
			return nil, fmt.Errorf("json: $object wants [class, args, kwargs, state?]")
		}
		args, ok := l[1].([]any)
		if !ok {
			return nil, fmt.Errorf("json: $object args must be an array")
		}
		o := &py.Object{Class: l[0], Args: py.Tuple(args)}
		if kw, ok := l[2].(*py.Dict); ok && kw.Len() > 0 {
			o.Kwargs = kw
		}
		if len(l) >= 4 && (l[3] != nil || len(l) == 4) {
			o.State, o.HasState = l[3], true
		}
		var err2 error
		if len(l) >= 6 {
			o.ListItems, o.DictItems, err2 = tail(l[4], l[5])
		}
		if len(l) == 7 && err2 == nil {
			o.After, err2 = afterOf(l[6])
		}
		return o, err2
	case "$persid":
		return py.PersistentID{ID: v}, nil
	case "$buffer":
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("json: $buffer wants an index")
		}
		return py.OutOfBand{Index: int(n)}, nil
	case "$datetime":
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("json: $datetime wants a string")
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, py.Naive)
		return t, err
	case "$timedelta":
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("json: $timedelta wants microseconds")
		}
		return time.Duration(n) * time.Microsecond, nil
	}
	d := py.NewDict(1)
	d.Set(tag, v)
	return d, nil
}

func tail(list, dict any) ([]any, []py.Item, error) {
	l, ok1 := list.([]any)
	d, ok2 := dict.([]any)
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("json: call tail wants [listitems] and [[k, v]...]")
	}
	var items []py.Item
	for _, p := range d {
		kv, ok := p.([]any)
		if !ok || len(kv) != 2 {
			return nil, nil, fmt.Errorf("json: dict items must be [k, v] pairs")
		}
		items = append(items, py.Item{Key: kv[0], Value: kv[1]})
	}
	if len(l) == 0 {
		l = nil
	}
	return l, items, nil
}

// afterOf reads the after list of a $call or $object.
func afterOf(v any) ([]any, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("json: call after wants [values...]")
	}
	if len(l) == 0 {
		l = nil
	}
	return l, nil
}

// withTail appends state (or null) and the list and dict items when there
// are any, and the after list (py.Call.After) when there is one.
func withTail(l []any, has bool, state any, list []any, dict []py.Item, after []any) []any {
	if has || len(list) > 0 || len(dict) > 0 || len(after) > 0 {
		l = append(l, state)
	}
	if len(list) > 0 || len(dict) > 0 || len(after) > 0 {
		pairs := make([]any, len(dict))
		for i, it := range dict {
			pairs[i] = []any{it.Key, it.Value}
		}
		if list == nil {
			list = []any{}
		}
		l = append(l, list, pairs)
	}
	if len(after) > 0 {
		l = append(l, after)
	}
	return l
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// Encode writes v as tagged JSON. Where JSON cannot say a thing exactly
// (a float that is integral is written with ".0"), the tagged form keeps
// the Python type.
func Encode(w io.Writer, v any) error { return EncodeLimited(w, v, 0) }

// OutputLimitError is EncodeLimited's error when the JSON would pass its
// byte limit; what was written before it is a prefix of the document.
type OutputLimitError struct{ Limit int64 }

func (e *OutputLimitError) Error() string {
	return fmt.Sprintf("json: output over %d bytes (shared values expand when written as JSON)", e.Limit)
}

// EncodeLimited is Encode with a bound on the bytes written (0: none). The
// JSON streams to w in pieces of about 32 KiB, so memory does not grow with
// the output.
func EncodeLimited(w io.Writer, v any, maxBytes int64) error {
	e := &encoder{w: w, limit: maxBytes, budget: maxNodes}
	if err := e.encode(v, 0); err != nil {
		// What is still buffered is dropped: a value that has no JSON
		// form found within the first 32 KiB leaves nothing written.
		return err
	}
	e.buf.WriteByte('\n')
	return e.flush()
}

const (
	maxDepth = 10000
	// flushAt is the size at which buffered output goes to the writer.
	flushAt = 32 << 10
	// MaxIntDigits is CPython's default int_max_str_digits: an int with
	// more decimal digits is refused both ways, as Python's json refuses it
	// (and as converting it to or from text would be quadratic).
	MaxIntDigits = 4300
)

// maxNodes bounds the values written: shared structure in a pickle (a list
// referenced twice, twice over, …) expands when written as a tree. A
// variable so that a test can lower it.
var maxNodes = 1 << 24

// encoder streams JSON: a scratch buffer flushed to w, with a byte limit.
type encoder struct {
	w       io.Writer
	buf     bytes.Buffer
	written int64
	limit   int64
	budget  int
	inside  map[unsafe.Pointer]bool // the containers being written, outermost first
}

// errRecursive: JSON has no form for a container inside itself (a list
// that holds itself, a dict that is its own value); found when it is
// reached again inside itself, before writing it a second time, so that
// a recursive pickle fails at once rather than 10,000 levels down.
var errRecursive = errors.New("json: a container inside itself has no JSON form")

// enterContainer marks the container at p as being written (false: it
// already is, so v is inside itself); leaveContainer unmarks it.
func (e *encoder) enterContainer(p unsafe.Pointer) bool {
	if p == nil {
		return true
	}
	if e.inside == nil {
		e.inside = make(map[unsafe.Pointer]bool)
	}
	if e.inside[p] {
		return false
	}
	e.inside[p] = true
	return true
}

func (e *encoder) leaveContainer(p unsafe.Pointer) { delete(e.inside, p) }

// flush writes the buffer out, and fails once the limit is passed.
func (e *encoder) flush() error {
	if e.buf.Len() == 0 {
		return nil
	}
	p := e.buf.Bytes()
	over := e.limit > 0 && e.written+int64(len(p)) > e.limit
	if over {
		p = p[:e.limit-e.written]
	}
	n, err := e.w.Write(p)
	e.written += int64(n)
	e.buf.Reset()
	if err != nil {
		return err
	}
	if over {
		return &OutputLimitError{Limit: e.limit}
	}
	return nil
}

// checkInt refuses ints over MaxIntDigits decimal digits, cheaply: the bit
// length rules out most before any conversion.
func checkInt(x *big.Int) (string, error) {
	// 4300 digits need at least 14282 bits; 14300 bits give at most 4305.
	if x.BitLen() > 14300 {
		return "", fmt.Errorf("json: int of %d bits exceeds the limit (%d digits) for integer string conversion, as in Python", x.BitLen(), MaxIntDigits)
	}
	s := x.String()
	if d := len(strings.TrimPrefix(s, "-")); d > MaxIntDigits {
		return "", fmt.Errorf("json: int of %d digits exceeds the limit (%d digits) for integer string conversion, as in Python", d, MaxIntDigits)
	}
	return s, nil
}

func (e *encoder) encode(v any, depth int) error {
	b := &e.buf
	if b.Len() >= flushAt {
		if err := e.flush(); err != nil {
			return err
		}
	}
	if depth > maxDepth {
		return errors.New("json: nesting too deep")
	}
	if e.budget--; e.budget < 0 {
		return fmt.Errorf("json: more than %d values (shared structure expands when written as JSON)", maxNodes)
	}
	if p := py.ContainerID(v); p != nil {
		if !e.enterContainer(p) {
			return errRecursive
		}
		defer e.leaveContainer(p)
	}
	tag := func(name string, f func() error) error {
		b.WriteString(`{"` + name + `":`)
		if err := f(); err != nil {
			return err
		}
		b.WriteByte('}')
		return nil
	}
	arr := func(items []any) error {
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := e.encode(it, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	}
	str := func(s string) { writeString(b, s) }
	b64 := func(p []byte) error { str(base64.StdEncoding.EncodeToString(p)); return nil }
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		s, err := checkInt(x)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString(`{"$float":"nan"}`)
		case math.IsInf(x, 1):
			b.WriteString(`{"$float":"inf"}`)
		case math.IsInf(x, -1):
			b.WriteString(`{"$float":"-inf"}`)
		default:
			s := strconv.FormatFloat(x, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eE") {
				s += ".0"
			}
			b.WriteString(s)
		}
	case complex128:
		return tag("$complex", func() error { return arr([]any{real(x), imag(x)}) })
	case string:
		str(x)
	case []byte:
		return tag("$bytes", func() error { return b64(x) })
	case py.ByteArray:
		return tag("$bytearray", func() error { return b64(x) })
	case py.ByteString:
		return tag("$str2", func() error { return b64(x) })
	case []any:
		return arr(x)
	case py.Tuple:
		return tag("$tuple", func() error { return arr(x) })
	case *py.Set:
		return tag("$set", func() error { return arr(x.Items()) })
	case *py.FrozenSet:
		return tag("$frozenset", func() error { return arr(x.Items()) })
	case *py.Dict:
		items := x.Items()
		plain := !(len(items) == 1 && strings.HasPrefix(fmt.Sprint(items[0].Key), "$"))
		for _, it := range items {
			if _, ok := it.Key.(string); !ok {
				plain = false
			}
		}
		if plain {
			b.WriteByte('{')
			for i, it := range items {
				if i > 0 {
					b.WriteByte(',')
				}
				str(it.Key.(string))
				b.WriteByte(':')
				if err := e.encode(it.Value, depth+1); err != nil {
					return err
				}
			}
			b.WriteByte('}')
			return nil
		}
		return tag("$dict", func() error {
			pairs := make([]any, len(items))
			for i, it := range items {
				pairs[i] = []any{it.Key, it.Value}
			}
			return arr(pairs)
		})
	case py.Global:
		return tag("$global", func() error { str(x.Module + " " + x.Name); return nil })
	case *py.Call:
		return tag("$call", func() error {
			args := []any(x.Args)
			if args == nil {
				args = []any{}
			}
			return arr(withTail([]any{x.Callable, args}, x.HasState, x.State, x.ListItems, x.DictItems, x.After))
		})
	case *py.Object:
		return tag("$object", func() error {
			kw := x.Kwargs
			if kw == nil {
				kw = py.NewDict(0)
			}
			args := []any(x.Args)
			if args == nil {
				args = []any{}
			}
			return arr(withTail([]any{x.Class, args, kw}, x.HasState, x.State, x.ListItems, x.DictItems, x.After))
		})
	case py.PersistentID:
		return tag("$persid", func() error { return e.encode(x.ID, depth+1) })
	case py.OutOfBand:
		return tag("$buffer", func() error { b.WriteString(strconv.Itoa(x.Index)); return nil })
	case py.PickleBuffer:
		if x.ReadOnly {
			return tag("$bytes", func() error { return b64(x.Data) })
		}
		return tag("$bytearray", func() error { return b64(x.Data) })
	case time.Time:
		return tag("$datetime", func() error {
			if x.Location() == py.Naive {
				str(x.Format("2006-01-02T15:04:05.999999"))
			} else {
				str(x.Format("2006-01-02T15:04:05.999999Z07:00"))
			}
			return nil
		})
	case time.Duration:
		return tag("$timedelta", func() error {
			b.WriteString(strconv.FormatInt(int64(x/time.Microsecond), 10))
			return nil
		})
	default:
		return fmt.Errorf("json: no JSON form for %T", v)
	}
	return nil
}
