// Package tests holds the cross-language tests: Go ↔ Python round trips
// through python3, which must be on PATH.
package tests

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// pyCheck runs python3 once over all cases: each pickle must load to an
// object equal to the Python expression (and of the same type).
const pyCheck = `
import base64, collections, datetime, io, json, math, pickle, pickletools, sys
cases = json.load(sys.stdin)
out = []
for c in cases:
    try:
        data = base64.b64decode(c["pickle"])
        pickletools.dis(data, out=io.StringIO())  # pickletools must read every stream we write
        got = pickle.loads(data)
        want = eval(c["expr"])
        ok = got == want and type(got) is type(want)
        if isinstance(want, float) and math.isnan(want):
            ok = math.isnan(got)
        out.append("" if ok else "got %r, want %r" % (got, want))
    except Exception as e:
        out.append("error: %r" % e)
json.dump(out, sys.stdout)
`

type pyCase struct {
	Name   string `json:"-"`
	Pickle string `json:"pickle"`
	Expr   string `json:"expr"`
}

func runPython(t *testing.T, cases []pyCase) []string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH: the cross-language tests need it")
	}
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	cmd := exec.Command("python3", "-c", pyCheck)
	cmd.Stdin = bytesReader(in)
	out, err := cmd.Output()
	require.NoError(t, err, "python3 failed")
	var res []string
	require.NoError(t, json.Unmarshal(out, &res))
	require.Len(t, res, len(cases), "python3 answered for %d of %d cases", len(res), len(cases))
	return res
}

type message struct {
	ID     int64     `pickle:"id"`
	Name   string    `pickle:"name"`
	Tags   []string  `pickle:"tags"`
	Score  float64   `pickle:"score"`
	OK     bool      `pickle:"ok"`
	Parent *message  `pickle:"parent"`
	Pos    [2]int    `pickle:"-"`
	PosT   py.Tuple  `pickle:"pos"`
	When   time.Time `pickle:"when,omitempty"`
}

func TestGoToPython(t *testing.T) {
	shared := []any{int64(1)}
	cyc := py.NewDict(1)
	cyc.Set("me", cyc)
	cases := []struct {
		name string
		v    any
		expr string
	}{
		{"none", nil, "None"},
		{"bools", []any{true, false}, "[True, False]"},
		{"ints", []any{0, -1, 255, 256, 65536, math.MaxInt32, math.MinInt32, int64(math.MaxInt64), int64(math.MinInt64), uint64(math.MaxUint64), int8(-8), uint16(9)},
			"[0, -1, 255, 256, 65536, 2**31-1, -2**31, 2**63-1, -2**63, 2**64-1, -8, 9]"},
		{"big", new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(3), 300)), "-(3 << 300)"},
		{"floats", []any{1.5, float32(0.25), math.Inf(-1), 1e-300}, "[1.5, 0.25, float('-inf'), 1e-300]"},
		{"nan", math.NaN(), "float('nan')"},
		{"complex", complex(1, -2), "complex(1, -2)"},
		{"str", "héllo ☃ 😀\n\\", "'héllo ☃ 😀\\n\\\\'"},
		{"bytes", []byte{0, 1, 255}, "b'\\x00\\x01\\xff'"},
		{"bytes array", [4]byte{1, 2, 3, 4}, "b'\\x01\\x02\\x03\\x04'"},
		{"bytearray", py.ByteArray("ab"), "bytearray(b'ab')"},
		{"py2 str", py.ByteString("raw\x00'\""), "'raw\\x00\\'\"'"}, // loads' default encoding is ASCII
		{"tuple", py.Tuple{1, "a", py.Tuple{}}, "(1, 'a', ())"},
		{"list of ints", []int{3, 2, 1}, "[3, 2, 1]"},
		{"map", map[string]int{"a": 1}, "{'a': 1}"},
		{"int-keyed map", map[int]string{1: "x"}, "{1: 'x'}"},
		{"tuple keys", py.DictOf(py.Tuple{1, 2}, "pair"), "{(1, 2): 'pair'}"},
		{"set", py.NewSet(1, 2, 3), "{1, 2, 3}"},
		{"frozenset", py.NewFrozenSet("a"), "frozenset({'a'})"},
		{"struct", message{ID: 1, Name: "n", Tags: []string{"a", "b"}, Score: 0.5, OK: true, PosT: py.Tuple{1, 2}},
			"{'id': 1, 'name': 'n', 'tags': ['a', 'b'], 'score': 0.5, 'ok': True, 'parent': None, 'pos': (1, 2)}"},
		{"naive datetime", time.Date(2024, 2, 29, 23, 59, 58, 123456000, py.Naive), "datetime.datetime(2024, 2, 29, 23, 59, 58, 123456)"},
		{"utc datetime", time.Date(1999, 12, 31, 1, 2, 3, 0, time.UTC), "datetime.datetime(1999, 12, 31, 1, 2, 3, tzinfo=datetime.timezone.utc)"},
		{"offset datetime", time.Date(2001, 1, 1, 0, 0, 0, 0, time.FixedZone("", -5*3600)),
			"datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))"},
		{"timedelta", -90 * time.Second, "datetime.timedelta(seconds=-90)"},
		{"global", py.Global{Module: "collections", Name: "OrderedDict"}, "collections.OrderedDict"},
		{"call", &py.Call{Callable: py.Global{Module: "collections", Name: "OrderedDict"}, Args: py.Tuple{[]any{py.Tuple{"k", 1}}}},
			"collections.OrderedDict([('k', 1)])"},
		{"object with state", &py.Object{Class: py.Global{Module: "collections", Name: "Counter"}, State: nil, HasState: false},
			"collections.Counter()"},
		{"shared", []any{shared, shared}, "[[1], [1]]"},
	}
	var pcs []pyCase
	var names []string
	for _, c := range cases {
		for proto := 0; proto <= 5; proto++ {
			out, err := pickler.Marshal(c.v, pickler.Protocol(proto))
			require.NoError(t, err, c.name)
			pcs = append(pcs, pyCase{Pickle: base64.StdEncoding.EncodeToString(out), Expr: c.expr})
			names = append(names, c.name+"/p"+strconv.Itoa(proto))
		}
	}
	// Identity checks that == cannot see.
	for proto := 0; proto <= 5; proto++ {
		out, err := pickler.Marshal([]any{shared, shared, cyc}, pickler.Protocol(proto))
		require.NoError(t, err)
		pcs = append(pcs, pyCase{Pickle: base64.StdEncoding.EncodeToString(out), Expr: "True"})
		names = append(names, "identity/p"+strconv.Itoa(proto))
	}
	res := runPython(t, pcs[:len(pcs)-6])
	for i, r := range res {
		require.Empty(t, r, names[i])
	}
	idCheck := `
import base64, json, pickle, sys
out = []
for c in json.load(sys.stdin):
    v = pickle.loads(base64.b64decode(c["pickle"]))
    out.append("" if v[0] is v[1] and v[2]["me"] is v[2] else "identity lost")
json.dump(out, sys.stdout)
`
	cmd := exec.Command("python3", "-c", idCheck)
	in, _ := json.Marshal(pcs[len(pcs)-6:])
	cmd.Stdin = bytesReader(in)
	out, err := cmd.Output()
	require.NoError(t, err)
	var ids []string
	require.NoError(t, json.Unmarshal(out, &ids))
	require.Len(t, ids, 6, "one identity answer per protocol")
	for i, r := range ids {
		require.Empty(t, r, names[len(names)-6+i])
	}
}
