package unpickler

import (
	"github.com/segpickle/segpickle/py"
)

// Option configures Unmarshal and Decoder.
type Option func(*config)

// Default limits. A hostile pickle reaching one gets ErrLimit.
const (
	DefaultMaxDepth  = 10000    // nesting of containers
	DefaultMaxMemo   = 1 << 24  // memo entries
	DefaultMaxStack  = 1 << 26  // values on the stack
	DefaultMaxLength = 1 << 32  // one str, bytes or long, in bytes (4 GiB)
	DefaultMaxAlloc  = 16 << 30 // bytes allocated for payloads in one pickle
)

type config struct {
	buffers        [][]byte
	haveBuffers    bool
	persistentLoad func(id any) (any, error)
	extensions     map[int32]py.Global
	zeroCopy       bool
	maxDepth       int
	maxMemo        int
	maxStack       int
	maxLength      int64
	maxAlloc       int64
	registry       *Registry
	encoding       string
	plainMaps      bool
	err            error // the first invalid option
}

func (c *config) invalid(option string, value any, want string) {
	if c.err == nil {
		c.err = &InvalidOptionError{Option: option, Value: value, Want: want}
	}
}

func newConfig(opts []Option) config {
	if len(opts) == 0 {
		// Kept apart: c below is on the heap (the options take its
		// address), one allocation a decode that needs none.
		return defaultConfig()
	}
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

func defaultConfig() config {
	return config{maxDepth: DefaultMaxDepth, maxMemo: DefaultMaxMemo, maxStack: DefaultMaxStack,
		maxLength: DefaultMaxLength, maxAlloc: DefaultMaxAlloc, registry: DefaultRegistry, encoding: "ASCII"}
}

// Buffers supplies the out-of-band buffers of a protocol-5 pickle, in the
// order the pickler's buffer callback saw them (Python's buffers=). Without
// it, NEXT_BUFFER yields py.OutOfBand placeholders.
func Buffers(bufs ...[]byte) Option {
	return func(c *config) { c.buffers, c.haveBuffers = bufs, true }
}

// PersistentLoad resolves persistent ids (PERSID/BINPERSID), as Python's
// Unpickler.persistent_load. Without it, they decode as py.PersistentID.
// It is called once per persistent id, as in Python: with it, typed
// Unmarshal reads the pickle once, on the general path (the direct typed
// path may start again, which would call it twice).
func PersistentLoad(f func(id any) (any, error)) Option {
	return func(c *config) { c.persistentLoad = f }
}

// Extensions supplies the extension registry (copyreg's add_extension) for
// EXT1/EXT2/EXT4; unregistered codes are an error.
func Extensions(m map[int32]py.Global) Option { return func(c *config) { c.extensions = m } }

// ZeroCopy lets decoded bytes and bytearray values alias the input instead
// of copying: they stay valid only as long as the input does, and change
// with it; writing to a bytearray (or to a numpy array decoded over one)
// writes into the input, so the input must be memory the caller may
// write. It applies to Unmarshal and segment input, not to a Decoder's
// reader.
func ZeroCopy(on bool) Option { return func(c *config) { c.zeroCopy = on } }

// HardMaxDepth caps MaxDepth: deeper recursion could exhaust Go's stack,
// which is fatal, not an error.
const HardMaxDepth = 100_000

// MaxDepth limits container nesting (DefaultMaxDepth; at most HardMaxDepth).
func MaxDepth(n int) Option { return func(c *config) { c.maxDepth = min(n, HardMaxDepth) } }

// MaxMemo limits memo entries (DefaultMaxMemo); n must not be negative.
func MaxMemo(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.invalid("MaxMemo", n, "0 or more")
		}
		c.maxMemo = n
	}
}

// MaxLength limits one str, bytes or int argument, in bytes (DefaultMaxLength).
// A negative n is 0 (it once lifted the limit on binary lengths only).
func MaxLength(n int64) Option { return func(c *config) { c.maxLength = max(n, 0) } }

// MaxAlloc limits the bytes allocated for payloads in one pickle
// (DefaultMaxAlloc); n must not be negative.
func MaxAlloc(n int64) Option {
	return func(c *config) {
		if n < 0 {
			c.invalid("MaxAlloc", n, "0 or more")
		}
		c.maxAlloc = n
	}
}

// Classes sets the class registry used by typed Unmarshal
// (DefaultRegistry).
func Classes(r *Registry) Option { return func(c *config) { c.registry = r } }

// Encoding says how typed Unmarshal turns a Python 2 str into a Go string:
// "ASCII" (default, as Python's Unpickler), "latin1", "utf-8" or "bytes"
// (the raw bytes as they are). The decoder also reads a Python 2 str as a
// str with it where CPython needs one (STACK_GLOBAL's names, the codec name
// of _codecs.encode and bytearray); under "bytes" it is not one, as in
// CPython.
//
// Another name is an InvalidOptionError (CPython's LookupError), not a
// silent ASCII.
func Encoding(name string) Option {
	return func(c *config) {
		switch normEncoding(name) {
		case "ascii", "latin_1", "utf_8", "bytes":
		default:
			c.invalid("Encoding", name, `"ASCII", "latin1", "utf-8" or "bytes", or another name of these`)
		}
		c.encoding = name
	}
}
