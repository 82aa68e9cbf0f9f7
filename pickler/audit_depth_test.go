package pickler_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// TestPersistentIDChainIsBounded: a py.PersistentID holding another is a
// level of nesting, so a chain deeper than MaxDepth is ErrTooDeep. Before,
// savePersistent recursed without counting: a 3 MB pickle of nested
// BINPERSIDs (which the unpickler decodes, without recursing, into such a
// chain) killed `segpickle reencode` and segpickle.reencode with a fatal
// stack overflow.
func TestPersistentIDChainIsBounded(t *testing.T) {
	const n = 20_000
	var v any = 1
	for i := 0; i < n; i++ {
		v = py.PersistentID{ID: v}
	}
	_, err := pickler.Marshal(v)
	require.ErrorIs(t, err, pickler.ErrTooDeep)

	// The same chain as the unpickler makes it from nested BINPERSIDs.
	in := append([]byte{0x80, 0x05, 'K', 1}, bytes.Repeat([]byte{'Q'}, n)...)
	in = append(in, '.')
	dec, err := unpickler.Load(in)
	require.NoError(t, err)
	_, err = pickler.Marshal(dec)
	require.ErrorIs(t, err, pickler.ErrTooDeep)

	// Within the limit it is written back byte for byte.
	in = append([]byte{0x80, 0x05, 'K', 1}, bytes.Repeat([]byte{'Q'}, 100)...)
	in = append(in, '.')
	dec, err = unpickler.Load(in)
	require.NoError(t, err)
	out, err := pickler.Marshal(dec, pickler.Protocol(5), pickler.FrameSize(1<<20))
	require.NoError(t, err)
	require.Equal(t, in[2:], out[len(out)-len(in)+2:])
}

// TestPersistentIDHookSurvivesPanic: a Marshaler that panics inside a
// persistent ID is an error, and the Encoder's next Encode still calls
// its PersistentID hook (savePersistent turns the hook off while it writes
// the id; a panic used to leave it off for good).
func TestPersistentIDHookSurvivesPanic(t *testing.T) {
	var buf bytes.Buffer
	calls := 0
	enc := pickler.NewEncoder(&buf, pickler.PersistentID(func(v any) (any, bool) {
		calls++
		if s, ok := v.(string); ok && s == "ref" {
			return panicky{}, true
		}
		if s, ok := v.(string); ok && s == "ok" {
			return "id", true
		}
		return nil, false
	}))
	err := enc.Encode("ref")
	require.ErrorIs(t, err, pickler.ErrMarshaler)
	buf.Reset()
	calls = 0
	require.NoError(t, enc.Encode("ok"))
	require.Equal(t, 1, calls, "the hook was not called after the panic")
	require.Contains(t, buf.String(), "id")
	require.Contains(t, buf.String(), "Q") // BINPERSID
}

type ifaceNode struct{ X any }
type recList []recList
type arrNode [1]any

// deepShapes are recursive shapes that TestDepthCapIsSafe does not build:
// each level is one nesting level as the pickler counts it.
func deepShapes(n int) map[string]any {
	vals := map[string]any{}
	add := func(name string, wrap func(any) any, seed any) {
		v := seed
		for i := 0; i < n; i++ {
			v = wrap(v)
		}
		vals[name] = v
	}
	g := py.Global{Module: "m", Name: "f"}
	add("struct value in interface", func(v any) any { return ifaceNode{X: v} }, 1)
	add("map[any]any", func(v any) any { return map[any]any{1: v} }, 1)
	add("*py.Dict", func(v any) any { return py.DictOf("a", v) }, 1)
	add("[1]any array", func(v any) any { return arrNode{v} }, 1)
	add("recursive slice type", func(v any) any { return recList{v.(recList)} }, recList(nil))
	add("frozenset", func(v any) any { return py.NewFrozenSet(v) }, 1)
	add("object state", func(v any) any { return &py.Object{Class: g, State: v, HasState: true} }, 1)
	add("call after", func(v any) any { return &py.Call{Callable: g, Args: py.Tuple{}, After: []any{v}} }, 1)
	add("call args", func(v any) any { return &py.Call{Callable: g, Args: py.Tuple{v}} }, 1)
	add("persistent id", func(v any) any { return py.PersistentID{ID: v} }, 1)
	add("map with 9 str keys", func(v any) any {
		return map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "z": v}
	}, 1)
	return vals
}

// TestDepthCapIsSafeAllShapes: HardMaxDepth levels of each shape fit in Go's
// stack. Go's goroutine stacks are powers of two and the default limit is
// 1e9 bytes, so the largest stack there can be is 512 MiB: 10,000 levels
// must fit in a tenth of it, i.e. in a stack of 32 MiB (SetMaxStack(51 MiB)
// allows 32 MiB and refuses 64). TestDepthCapIsSafe's budget, a tenth of
// 1 GiB, lets 64 MiB through: a shape passing it could still need 640 MiB,
// a fatal overflow, at HardMaxDepth.
func TestDepthCapIsSafeAllShapes(t *testing.T) {
	const n = 10_000
	budget := (512 << 20) / (pickler.HardMaxDepth / n)
	defer debug.SetMaxStack(debug.SetMaxStack(budget))
	shapes := deepShapes(n)
	for name, v := range deepValues(n) {
		shapes[name] = v
	}
	hook := pickler.PersistentID(func(any) (any, bool) { return nil, false })
	for name, v := range shapes {
		for _, opts := range [][]pickler.Option{
			{pickler.Protocol(0)}, {pickler.Protocol(2)}, {pickler.Protocol(5)}, {pickler.Protocol(5), hook},
		} {
			_, err := pickler.Marshal(v, append(opts, pickler.MaxDepth(pickler.HardMaxDepth))...)
			if err != nil && !errors.Is(err, pickler.ErrProtocol) {
				require.NoError(t, err, name)
			}
		}
	}
}

type cycNode struct {
	Name string
	Next *cycNode
	Kids []*cycNode
	M    map[string]any
}

type freshSelf struct{ n int }

// MarshalPickle returns a new list holding a new value of its type: no
// identity to memoize, so only the depth limit ends it.
func (f freshSelf) MarshalPickle() (any, error) { return []any{freshSelf{f.n + 1}}, nil }

// TestCyclesTerminate: every cycle Go can build either pickles with its
// sharing (CPython loads an object that contains itself) or is a typed
// error: a tuple that contains itself (Python cannot build one) is
// ErrCycle, a frozenset that contains itself and a Marshaler that makes a
// new self each time stop at MaxDepth.
func TestCyclesTerminate(t *testing.T) {
	a := &cycNode{Name: "a"}
	b := &cycNode{Name: "b", Next: a}
	a.Next = b
	a.Kids = []*cycNode{a, b}
	a.M = map[string]any{"a": a}
	m := map[string]any{}
	m["self"] = m
	ma := map[any]any{}
	ma[1] = ma
	l := make([]any, 2)
	l[0], l[1] = l, m
	d := py.NewDict(1)
	d.Set("me", d)
	var self any
	pself := &self
	self = pself
	good := map[string]struct {
		v     any
		check string // a Python expression over v that must be true
	}{
		"pointer graph":                      {a, "v['Next']['Next'] is v and v['Kids'][0] is v and v['M']['a'] is v"},
		"map in itself":                      {m, "v['self'] is v"},
		"map[any]any":                        {ma, "v[1] is v"},
		"slice":                              {l, "v[0] is v and v[1]['self'] is v[1]"},
		"py.Dict":                            {d, "v['me'] is v"},
		"pointer to an interface holding it": {pself, "v is None"},
	}
	type pyc struct{ Name, Check, Pickle string }
	var cases []pyc
	for name, c := range good {
		for p := 0; p <= 5; p++ {
			out, err := pickler.Marshal(c.v, pickler.Protocol(p))
			if name == "pointer to an interface holding it" {
				require.ErrorIs(t, err, pickler.ErrTooDeep, name)
				continue
			}
			require.NoError(t, err, "%s protocol %d", name, p)
			cases = append(cases, pyc{fmt.Sprintf("%s protocol %d", name, p), c.check, base64.StdEncoding.EncodeToString(out)})
		}
	}
	if _, err := exec.LookPath("python3"); err == nil {
		in, err := json.Marshal(cases)
		require.NoError(t, err)
		cmd := exec.Command("python3", "-c", `
import base64, json, pickle, sys
for c in json.load(sys.stdin):
    v = pickle.loads(base64.b64decode(c["Pickle"]))
    if not eval(c["Check"]):
        print("not shared:", c["Name"])
`)
		cmd.Stdin = bytes.NewReader(in)
		res, err := cmd.CombinedOutput()
		require.NoError(t, err, string(res))
		require.Empty(t, string(res))
	}
	tu := make(py.Tuple, 1)
	tu[0] = tu
	_, err := pickler.Marshal(tu)
	require.ErrorIs(t, err, pickler.ErrCycle)
	fs := py.NewFrozenSet()
	fs.Add(fs)
	_, err = pickler.Marshal(fs)
	require.ErrorIs(t, err, pickler.ErrTooDeep)
	_, err = pickler.Marshal(freshSelf{})
	require.ErrorIs(t, err, pickler.ErrTooDeep)
}
