package pickler

import (
	"math"

	"github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/py"
)

// Option configures Marshal, EncodeTo and Encoder.
type Option func(*config)

type config struct {
	proto        int
	frameSize    int
	threshold    int
	sortKeys     bool
	maxDepth     int
	bufferCB     func(py.PickleBuffer) bool
	persistentID func(v any) (id any, ok bool)
	err          error
}

// DefaultMaxDepth is the default nesting limit: deeper values fail with an
// error instead of exhausting the stack.
const DefaultMaxDepth = 10000

func newConfig(opts []Option) config {
	if len(opts) == 0 { // no config on the heap (an option takes its address)
		return config{proto: opcode.DefaultProtocol, frameSize: opcode.FrameSizeTarget, maxDepth: DefaultMaxDepth, sortKeys: true}
	}
	return configWith(opts)
}

func configWith(opts []Option) config {
	c := config{proto: opcode.DefaultProtocol, frameSize: opcode.FrameSizeTarget, maxDepth: DefaultMaxDepth, sortKeys: true}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// Protocol selects the pickle protocol, 0 to 5 (default 5).
func Protocol(n int) Option {
	return func(c *config) {
		if n < 0 || n > opcode.HighestProtocol {
			c.err = &InvalidOptionError{Option: "Protocol", Value: n, Min: 0, Max: opcode.HighestProtocol}
			return
		}
		c.proto = n
	}
}

// FrameSize sets the frame size target at protocol 4 and above (default
// 64 KiB, as CPython; other values give streams CPython still reads but
// does not itself write).
func FrameSize(n int) Option {
	return func(c *config) {
		if n < opcode.FrameSizeMin {
			c.err = &InvalidOptionError{Option: "FrameSize", Value: n, Min: opcode.FrameSizeMin, Max: math.MaxInt}
			return
		}
		c.frameSize = n
	}
}

// RefThreshold sets the size at and above which a []byte or string payload
// is referenced by the output segment list instead of copied
// (segments.DefaultThreshold by default).
func RefThreshold(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.err = &InvalidOptionError{Option: "RefThreshold", Value: n, Min: 0, Max: math.MaxInt}
			return
		}
		c.threshold = n
	}
}

// SortMapKeys(false) lets Go maps encode in Go's iteration order, which
// differs from run to run, to save the sort. By default (true) map keys are
// sorted, as encoding/json does, so that equal maps give equal bytes: str
// keys by their bytes, numbers by value whatever their Go types (NaN after
// the others), arrays item by item; keys of different kinds by kind (None,
// numbers, complex, str, arrays, structs), then by Go type. The order is
// total: a map[any]any holding 1, "1" and 1.0 is written alike every time.
// Struct fields always come in declaration order, and *py.Dict in its own.
func SortMapKeys(on bool) Option { return func(c *config) { c.sortKeys = on } }

// HardMaxDepth caps MaxDepth. The encoder recurses, and exhausting Go's
// stack is fatal, not an error. Its default limit is 10^9 bytes and a
// stack grows by doubling, so the largest there can be is 512 MiB: one
// level of the deepest-framed paths (a struct holding a map of structs, a
// Call as the callable of a Call) takes under 3.2 KiB of stack, so
// 100,000 levels stay under two thirds of it (TestDepthCapIsSafeAllShapes
// checks the ratio).
const HardMaxDepth = 100_000

// MaxDepth limits nesting (default DefaultMaxDepth); n must be in
// [1, HardMaxDepth].
func MaxDepth(n int) Option {
	return func(c *config) {
		if n < 1 || n > HardMaxDepth {
			c.err = &InvalidOptionError{Option: "MaxDepth", Value: n, Min: 1, Max: HardMaxDepth}
			return
		}
		c.maxDepth = n
	}
}

// BufferCallback is called, at protocol 5, for each py.PickleBuffer; as in
// Python, returning false sends the buffer out of band (NEXT_BUFFER) and
// true keeps it in the stream. The callback must keep buf.Data if it sends
// it out of band; the pickle references it by position only. A buffer used
// as a dict key or set item is written in band without asking (out of
// band, the key would be the reader's object, often an unhashable
// bytearray).
func BufferCallback(f func(buf py.PickleBuffer) (inBand bool)) Option {
	return func(c *config) { c.bufferCB = f }
}

// PersistentID is called for every value before it is encoded; when it
// returns ok, the value is written as a persistent reference to id
// (PERSID/BINPERSID), as Python's Pickler.persistent_id.
func PersistentID(f func(v any) (id any, ok bool)) Option {
	return func(c *config) { c.persistentID = f }
}
