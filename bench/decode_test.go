package bench

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"

	ogorek "github.com/kisielk/og-rek"
	gp "github.com/nlpodyssey/gopickle/pickle"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// cpythonPickles returns the workloads pickled by CPython (the same values
// as cpython_bench.py) at the given protocol.
var (
	pickleOnce sync.Map
)

func cpythonPickle(b *testing.B, name string, proto int) []byte {
	key := name + string(rune('0'+proto))
	if v, ok := pickleOnce.Load(key); ok {
		return v.([]byte)
	}
	code := `
import pickle, sys
sys.path.insert(0, ".")
from cpython_bench import workloads
v = dict(workloads())[sys.argv[1]]
sys.stdout.buffer.write(pickle.dumps(v, int(sys.argv[2])))
`
	out, err := exec.Command("python3", "-c", code, name, string(rune('0'+proto))).Output()
	if err != nil {
		b.Skipf("python3 could not make the %s pickle: %v", name, err)
	}
	pickleOnce.Store(key, out)
	return out
}

var names = []string{"bytes_1MiB", "ints_100k", "dict_str_float_10k", "messages_10k", "strings_100k"}

type message struct {
	ID     int64    `pickle:"id"`
	Name   string   `pickle:"name"`
	Tags   []string `pickle:"tags"`
	Score  float64  `pickle:"score"`
	OK     bool     `pickle:"ok"`
	Parent *int64   `pickle:"parent"`
	Pos    [2]int64 `pickle:"pos"`
}

func typedTarget(name string) func() any {
	switch name {
	case "bytes_1MiB":
		return func() any { return new([]byte) }
	case "ints_100k":
		return func() any { return new([]int64) }
	case "dict_str_float_10k":
		return func() any { return new(map[string]float64) }
	case "messages_10k":
		return func() any { return new([]message) }
	default:
		return func() any { return new([]string) }
	}
}

// BenchmarkDecode: CPython's pickles (protocols 2 and 5) decoded into any
// by segpickle, gopickle and og-rek, and into typed Go values by segpickle
// (Unmarshal, and a Decoder over an io.Reader: segpickle-typed-reader);
// each with cpu-ns/op (cpython_bench.py reports CPython's the same way).
func BenchmarkDecode(b *testing.B) {
	for _, proto := range []int{2, 5} {
		for _, name := range names {
			data := cpythonPickle(b, name, proto)
			prefix := name + "/p" + string(rune('0'+proto))
			b.Run(prefix+"/segpickle-any", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				cpu := startCPU()
				for b.Loop() {
					if _, err := unpickler.Load(data); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
			})
			b.Run(prefix+"/segpickle-typed", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				mk := typedTarget(name)
				cpu := startCPU()
				for b.Loop() {
					if err := unpickler.Unmarshal(data, mk()); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
			})
			b.Run(prefix+"/segpickle-typed-reader", func(b *testing.B) {
				// A Decoder over an io.Reader (a connection, a file).
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				mk := typedTarget(name)
				r := bytes.NewReader(data)
				cpu := startCPU()
				for b.Loop() {
					r.Reset(data)
					if err := unpickler.NewDecoder(r).Decode(mk()); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
			})
			b.Run(prefix+"/gopickle", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				s := string(data)
				cpu := startCPU()
				for b.Loop() {
					if _, err := gp.Loads(s); err != nil {
						b.Skipf("gopickle cannot decode this: %v", err)
					}
				}
				cpu.report(b)
			})
			b.Run(prefix+"/ogrek", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				cpu := startCPU()
				for b.Loop() {
					d := ogorek.NewDecoder(strings.NewReader(string(data)))
					if _, err := d.Decode(); err != nil {
						b.Skipf("og-rek cannot decode this: %v", err)
					}
				}
				cpu.report(b)
			})
		}
	}
}

// hostileKeyPickles are the key-hashing cases of issue 9, made by CPython
// (cpython_bench.py's hostile_keys, timed there the same way).
var hostileKeys = []string{"tuple_key_65000_refs_4KiB_str", "tuple_key_20000_ints_reused_3000", "frozenset_key_65000_ints"}

// BenchmarkHostileKeys: dict keys whose hashing must be bounded by the
// input, next to CPython's pickle.loads of the same pickles.
func BenchmarkHostileKeys(b *testing.B) {
	for _, name := range hostileKeys {
		data := cpythonPickleOf(b, "hostile_keys", name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				if _, err := unpickler.Load(data); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
	}
}

// cpythonPickleOf is cpythonPickle for another table of cpython_bench.py
// (pickled at protocol 5).
func cpythonPickleOf(b *testing.B, table, name string) []byte {
	key := table + "/" + name
	if v, ok := pickleOnce.Load(key); ok {
		return v.([]byte)
	}
	code := `
import pickle, sys
sys.path.insert(0, ".")
import cpython_bench
v = dict(getattr(cpython_bench, sys.argv[1])())[sys.argv[2]]
sys.stdout.buffer.write(pickle.dumps(v, 5))
`
	out, err := exec.Command("python3", "-c", code, table, name).Output()
	if err != nil {
		b.Skipf("python3 could not make the %s pickle: %v", name, err)
	}
	pickleOnce.Store(key, out)
	return out
}

var _ = py.Tuple{}

// BenchmarkDecodeSmallStream: 1,000 small messages (a 60-byte pickle of a
// dict of 4 items) back to back, as an RPC connection carries them: a
// Decoder over the stream (reads of 64 KiB, and of 1,500 bytes as a
// network gives them), into any and into a struct, against Unmarshal of
// each. Per op: the 1,000 messages.
func BenchmarkDecodeSmallStream(b *testing.B) {
	type msg struct {
		ID    int64    `pickle:"id"`
		Name  string   `pickle:"name"`
		Tags  []string `pickle:"tags"`
		Score float64  `pickle:"score"`
	}
	one, err := pickler.Marshal(map[string]any{"id": int64(123456), "name": "user42", "tags": []any{"red", "blue"}, "score": 1.5})
	if err != nil {
		b.Fatal(err)
	}
	const count = 1000
	stream := bytes.Repeat(one, count)
	targets := map[string]func() any{"any": func() any { return new(any) }, "typed": func() any { return new(msg) }}
	for _, name := range []string{"any", "typed"} {
		target := targets[name]
		b.Run(name+"/unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				for range count {
					if err := unpickler.Unmarshal(one, target()); err != nil {
						b.Fatal(err)
					}
				}
			}
			cpu.report(b)
		})
		for _, n := range []int{64 << 10, 1500} {
			b.Run(fmt.Sprintf("%s/decoder-reads-%d", name, n), func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					dec := unpickler.NewDecoder(&chunked{bytes.NewReader(stream), n})
					for range count {
						if err := dec.Decode(target()); err != nil {
							b.Fatal(err)
						}
					}
				}
				cpu.report(b)
			})
		}
	}
}

// chunked hands out at most n bytes a Read.
type chunked struct {
	r io.Reader
	n int
}

func (c *chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }
