// Package unpickler decodes Python pickles, protocols 0 to 5, into Go
// values: into any (the dynamic value model of package py) or, like
// encoding/json, into structs, maps, slices and other typed Go values.
//
// It never runs code: globals, REDUCE and NEWOBJ become data (py.Global,
// py.Call, py.Object) that re-encode as they came. It is meant for hostile
// input: it never panics, checks every length prefix against what the
// input can still provide before allocating, and enforces limits (nesting,
// memo size, total allocation, string length) that are options with safe
// defaults. Every failure is an *Error that names the byte offset and the
// opcode, and wraps a cause to match with errors.Is.
//
// # Entry points
//
//	err := Unmarshal(data, &v)              // one pickle in a []byte
//	v, err := Load(data)                    // the dynamic value model
//	err = UnmarshalSegments(segs, &v)       // a pickle in pieces, never joined
//	err = NewDecoder(r).Decode(&v)          // pickles back to back on a stream
//
// Unmarshal, Load and the Decoder speak raw pickles, as pickle.dumps writes
// them. A segpickle Channel (Python) or the echo server speak frames (see
// package frame): read the frame first, then decode its pickle.
//
// # Decoding into any
//
// An any target gets the dynamic model, per the table in package py: None
// is nil, int is int64 (or *big.Int beyond int64), float is float64, str is
// string, bytes is []byte, list is []any, tuple is py.Tuple, dict is
// *py.Dict (insertion-ordered, any hashable key), set is *py.Set, and so
// on. This holds wherever an any is found, inside a typed target too: the
// values of a map[string]any are *py.Dict for a dict, never map[string]any.
// The model's types print as Python's repr (fmt's %v).
//
// With PlainMaps(true), dicts become plain Go maps instead, as
// encoding/json makes them: map[string]any when every key is a str,
// map[any]any when every key is None, bool, int (int64), float, complex,
// timedelta or a global, and otherwise still a *py.Dict (a tuple, bytes or
// object key), whose values are converted. A dict the pickle shares is one
// Go map; Go maps have no order, so insertion order is lost.
//
// # Decoding into typed Go values
//
// Unmarshal follows the Go type it is given, as encoding/json does:
//
//   - Structs are filled from a dict, or from a class instance's __dict__
//     state (a BUILD state dict, or the dict of a (dict, slots) pair). A key
//     matches the field whose `pickle:"name"` tag is the key, else the field
//     named so, else a field whose name or tag equals it case-insensitively
//     (as encoding/json). Keys that match no field are ignored; non-str keys
//     are skipped. `pickle:"-"` fields are never set; fields of embedded
//     structs are promoted, and nil embedded pointers are allocated. A tuple
//     or list fills the fields in order instead (more items than fields is
//     an error).
//   - Maps are filled from a dict (keys and values converted by these same
//     rules), and a map[T]struct{} from a set. A nil map is made.
//   - Slices from a list, tuple, set or frozenset; arrays likewise (more
//     items than the array holds is an error; fewer leave the other
//     elements as they were). []byte takes bytes, bytearray, a Python 2
//     str, a PickleBuffer's data, or a UUID's 16 bytes, as a copy (with
//     ZeroCopy(true), a top-level []byte target may alias the input);
//     [N]byte takes bytes of exactly N.
//   - Pointers are allocated as needed. None sets the target to its zero
//     value (nil for a pointer, map, slice or interface).
//   - Numbers: a Python int fills any Go integer kind it fits (else an
//     *UnmarshalTypeError naming the value, e.g. "int 300"), a float32/64,
//     big.Int, big.Float or big.Rat (and an int64-sized one a complex); a
//     float fills float32/64 (float32 only if it fits), big.Float or
//     complex, never an integer; a Decimal fills a float, a string or a
//     big.Float. bool fills only bool.
//   - Strings take str, a Decimal's text, a UUID's text, and a Python 2 str
//     decoded by the Encoding option ("ASCII" by default, as Python;
//     "latin1", "utf-8", or "bytes" for the raw bytes).
//   - time.Time takes datetime.datetime (a naive one gets location
//     py.Naive), datetime.date and datetime.time; time.Duration takes
//     timedelta.
//   - A type whose pointer implements Unmarshaler (UnmarshalPickle(any)
//     error) is given the dynamic value and decodes itself.
//
// A value that fits none of these is an *UnmarshalTypeError with the
// Python type, the Go type and the path to it (".Items[3].Name").
//
// # Classes
//
// Class instances (REDUCE and NEWOBJ: a *py.Call or *py.Object in the
// dynamic model) go through the class registry when they meet a typed
// target: Classes(r) chooses it, NewRegistry returns one with the defaults,
// and Registry.Register(module, name, ctor) adds a Constructor that turns
// the instance's arguments and state into a Go value. The defaults
// (DefaultRegistry) know collections.OrderedDict, defaultdict and Counter
// (a dict), deque (a list), datetime.date and datetime.time (time.Time),
// decimal.Decimal (Decimal), fractions.Fraction (*big.Rat), uuid.UUID
// ([16]byte, or its text into a string) and copyreg._reconstructor. An
// unregistered class still fills a struct from its __dict__ state.
//
// The dynamic model (an any target) does not consult the registry: there,
// only calls whose result Go has an exact type for are evaluated (set,
// frozenset, bytearray, complex, _codecs.encode and bytes(), datetime,
// timedelta, timezone); an OrderedDict stays a *py.Call with its items, so
// that it re-encodes as it came.
//
// # Limits
//
// MaxDepth, MaxMemo, MaxLength and MaxAlloc bound nesting, memo entries, one
// argument's length and the bytes allocated for one pickle; their defaults
// are the Default* constants. Reaching one is ErrLimit.
package unpickler
