package unpickler

import (
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/segpickle/segpickle/internal/compat"
	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// hashKey checks that k can be a dict key or set member, as CPython's
// hash() would, and returns the form it takes there: a datetime.timezone
// still waiting to become a time's location is final as a key (no fixup
// reaches keys), so it becomes its Call now.
func (m *machine) hashKey(k any) (any, error) {
	if z, ok := k.(tzOffset); ok {
		k = resolve(z)
	}
	return k, m.hashable(k)
}

// py2Str is a Python 2 str (STRING, BINSTRING, SHORT_BINSTRING) as
// Python 3's Unpickler(encoding=enc) reads it; with "bytes" it stays bytes
// there, and here its bytes as a string.
func py2Str(enc string, b []byte) (string, error) {
	switch normEncoding(enc) {
	case "latin_1":
		return latin1String(b), nil
	case "utf_8":
		if !utf8.Valid(b) { // strict: surrogates are refused too
			return "", errors.New("not valid UTF-8")
		}
		return string(b), nil
	case "bytes":
		return string(b), nil
	default: // ASCII
		for _, c := range b {
			if c >= 0x80 {
				return "", errors.New("not ASCII (use the Encoding option)")
			}
		}
		return string(b), nil
	}
}

func latin1String(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// strArg is v as CPython would see a str argument: a str, or a Python 2
// str decoded with the Encoding option (under Encoding("bytes") it is
// bytes in CPython, not a str).
func (m *machine) strArg(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case py.ByteString:
		if normEncoding(m.cfg.encoding) == "bytes" {
			return "", false
		}
		out, err := py2Str(m.cfg.encoding, s)
		return out, err == nil
	}
	return "", false
}

// encodeArgs evaluates str.encode as _codecs.encode(s, enc), bytearray(s,
// enc) and bytes(s, enc) do, for the codecs pickles name (latin-1, how
// Python 3 at protocols < 3 and Python 2 write bytes and bytearray; also
// ASCII and UTF-8). Python 2 pickles write the codec name as a Python 2
// str. ok is false for anything else, or a str the codec would refuse:
// the call then stays data, and CPython raises when it loads it, as it
// would have for the original.
func (m *machine) encodeArgs(args py.Tuple) ([]byte, bool) {
	if len(args) != 2 && len(args) != 1 {
		return nil, false
	}
	s, ok := m.strArg(args[0])
	if !ok {
		return nil, false
	}
	enc := "utf_8" // codecs.encode's default
	if len(args) == 2 {
		name, ok := m.strArg(args[1])
		if !ok {
			return nil, false
		}
		enc = normEncoding(name)
	}
	switch enc {
	case "latin_1":
		return latin1Bytes(s)
	case "ascii":
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, false
			}
		}
		return []byte(s), true
	case "utf_8":
		if !utf8.ValidString(s) { // strict: a surrogate cannot be encoded
			return nil, false
		}
		return []byte(s), true
	}
	return nil, false
}

// normEncoding is a codec name as Python's codec registry finds it:
// lower case, punctuation folded to '_', then a few aliases resolved.
func normEncoding(name string) string {
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.':
			b = append(b, c)
		default:
			if len(b) > 0 && b[len(b)-1] != '_' {
				b = append(b, '_')
			}
		}
	}
	n := strings.TrimSuffix(string(b), "_")
	switch n {
	case "latin_1", "latin1", "latin", "l1", "iso8859_1", "iso_8859_1", "iso8859", "8859", "cp819", "ibm819", "iso_ir_100", "csisolatin1":
		return "latin_1"
	case "utf_8", "utf8", "u8", "utf", "cp65001":
		return "utf_8"
	case "ascii", "us_ascii", "646", "us", "cp367", "ibm367", "csascii", "iso646_us", "iso_ir_6":
		return "ascii"
	}
	return n
}

// stackGlobal is STACK_GLOBAL's name pair. CPython requires two str; a
// Python 2 str is one under the default encoding. As for GLOBAL, names in
// pickles of protocols < 3 are mapped to Python 3's (CPython's find_class
// does so for both opcodes).
func (m *machine) stackGlobal(mod, name any) (py.Global, error) {
	ms, ok1 := m.strArg(mod)
	ns, ok2 := m.strArg(name)
	if !ok1 || !ok2 {
		return py.Global{}, m.failf(ErrBadType, "STACK_GLOBAL needs two str, got %s and %s", typeName(mod), typeName(name))
	}
	if m.proto < 3 {
		ms, ns = compat.ToPy3(ms, ns)
	}
	return py.Global{Module: ms, Name: ns}, nil
}

// strKey is a dict key as a struct field name: a str, or a Python 2 str
// read with the Encoding option (as Python 3 would have made it a str).
// ok is false for other keys, which name no field.
func (a *assigner) strKey(k any, t reflect.Type, path string) (string, bool, error) {
	switch x := k.(type) {
	case string:
		return x, true, nil
	case py.ByteString:
		s, err := a.py2str(x)
		if err != nil {
			return "", false, &UnmarshalTypeError{Value: "str (Python 2) key: " + err.Error(), Type: t.String(), Path: path}
		}
		return s, true, nil
	}
	return "", false, nil
}

// mapKey is a dict key as a Go map key: into an interface-typed key, a
// Python 2 str becomes the str Python 3 reads (a py.ByteString is a slice,
// which no Go map can hold as a key).
func (a *assigner) mapKey(k any, t reflect.Type, path string) (any, error) {
	if x, ok := k.(py.ByteString); ok && t.Key().Kind() == reflect.Interface {
		s, err := a.py2str(x)
		if err != nil {
			return nil, &UnmarshalTypeError{Value: "str (Python 2) key: " + err.Error(), Type: t.String(), Path: path}
		}
		return s, nil
	}
	return k, nil
}

// checkNames refuses the names of GLOBAL and INST that CPython cannot
// decode: GLOBAL's are strict UTF-8 (no surrogates), INST's ASCII.
func (m *machine) checkNames(mod, name string) error {
	for _, s := range [2]string{mod, name} {
		if m.code == op.Inst {
			for i := 0; i < len(s); i++ {
				if s[i] >= 0x80 {
					return m.failf(ErrBadArgument, "'ascii' codec can't decode byte 0x%02x in position %d: ordinal not in range(128)", s[i], i)
				}
			}
			continue
		}
		if err := py.CheckStrictString(s); err != nil {
			return m.fail(ErrBadArgument, err.Error())
		}
	}
	return nil
}

// checkPersid refuses a PERSID that is not ASCII, as CPython does.
func (m *machine) checkPersid(l []byte) error {
	for _, c := range l {
		if c >= 0x80 {
			return m.fail(ErrBadArgument, "persistent IDs in protocol 0 must be ASCII strings")
		}
	}
	return nil
}

// stateBytes is a datetime's packed state: bytes, or the Python 2 str that
// Python 2 wrote, when the Encoding option makes it one datetime accepts
// (as bytes under "bytes", as a latin-1 str under "latin1"; under ASCII or
// UTF-8 only if it is ASCII: CPython refuses the rest).
func (m *machine) stateBytes(v any) ([]byte, bool) {
	switch b := v.(type) {
	case []byte:
		return b, true
	case py.ByteString:
		switch normEncoding(m.cfg.encoding) {
		case "bytes", "latin_1":
			return b, true
		}
		for _, c := range b {
			if c >= 0x80 {
				return nil, false
			}
		}
		return b, true
	}
	return nil, false
}
