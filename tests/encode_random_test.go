package tests

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// randomValuePy loads each pickle and compares it with the same value sent
// as JSON (tuples as lists): a memo GET of the wrong index, a frame of the
// wrong length or a lost item shows as a difference or a load error.
const randomValuePy = `
import base64, json, pickle, sys
def norm(x):
    if isinstance(x, (list, tuple)): return [norm(i) for i in x]
    if isinstance(x, dict): return {k: norm(v) for k, v in x.items()}
    return x
bad = []
for i, (p, js) in enumerate(json.load(sys.stdin)):
    try:
        got = norm(pickle.loads(base64.b64decode(p)))
    except Exception as e:
        bad.append("%d: %r" % (i, e)); continue
    if got != json.loads(js):
        bad.append("%d: differs" % i)
json.dump(bad, sys.stdout)
`

// randomGen builds JSON-like Go values of the kinds the pickler has fast
// ways for: records of one shape, large str-keyed maps, typed maps, small
// tuples and lists, shared containers and strs (memo GETs), singletons.
type randomGen struct {
	r      *rand.Rand
	shared []any      // containers already made, reused to be fetched from the memo
	tuples []py.Tuple // small tuples of records, reused likewise
	long   []string
}

func (g *randomGen) str() string {
	switch g.r.IntN(8) {
	case 0:
		return []string{"", "a", "é", "ab"}[g.r.IntN(4)] // singletons and a short one
	case 1:
		return g.long[g.r.IntN(len(g.long))] // shared long strs: one object
	case 2:
		return "ü" + fmt.Sprint(g.r.IntN(100)) // non-ASCII
	}
	return fmt.Sprintf("s%d", g.r.IntN(1000))
}

func (g *randomGen) scalar() any {
	switch g.r.IntN(6) {
	case 0:
		return []int64{0, 255, 256, 65535, 65536, -1, 1 << 31, -(1 << 31) - 1, 1 << 40}[g.r.IntN(9)]
	case 1:
		return g.r.Float64() * 1000
	case 2:
		return g.r.IntN(2) == 0
	case 3:
		return nil
	}
	return g.str()
}

func (g *randomGen) value(depth int) any {
	if depth > 3 {
		return g.scalar()
	}
	var v any
	switch g.r.IntN(10) {
	case 0, 1:
		return g.scalar()
	case 2:
		if len(g.shared) > 0 {
			return g.shared[g.r.IntN(len(g.shared))]
		}
		return g.scalar()
	case 3: // records of one shape
		n := 1 + g.r.IntN(8)
		l := make([]any, n)
		for i := range l {
			pos := py.Tuple{g.scalar(), g.str()}
			if g.r.IntN(2) == 0 && len(g.tuples) > 0 {
				pos = g.tuples[g.r.IntN(len(g.tuples))] // fetched from the memo
			}
			g.tuples = append(g.tuples, pos)
			l[i] = map[string]any{"id": g.scalar(), "name": g.str(), "pos": pos,
				"tags": []any{g.str(), g.scalar()}, "sub": g.value(depth + 1)}
		}
		v = l
	case 4: // a large map
		n := []int{65, 200, 1000, 1500}[g.r.IntN(4)]
		m := make(map[string]any, n)
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("k%d", g.r.IntN(3*n))
			if g.r.IntN(50) == 0 {
				k = g.str()
			}
			if g.r.IntN(20) == 0 {
				m[k] = g.value(depth + 2)
			} else {
				m[k] = g.scalar()
			}
		}
		v = m
	case 5: // typed maps
		n := []int{3, 70, 1200}[g.r.IntN(3)]
		switch g.r.IntN(3) {
		case 0:
			m := map[string]float64{}
			for i := 0; i < n; i++ {
				m[g.str()+fmt.Sprint(i)] = g.r.Float64()
			}
			v = m
		case 1:
			m := map[string]string{}
			for i := 0; i < n; i++ {
				m[fmt.Sprint(i)] = g.str()
			}
			v = m
		default:
			m := map[string]int64{}
			for i := 0; i < n; i++ {
				m[fmt.Sprintf("i%d", i)] = g.r.Int64() >> g.r.IntN(64)
			}
			v = m
		}
	case 6:
		t := make(py.Tuple, g.r.IntN(5))
		for i := range t {
			t[i] = g.value(depth + 1)
		}
		v = t
	default:
		l := make([]any, g.r.IntN(6))
		for i := range l {
			l[i] = g.value(depth + 1)
		}
		v = l
	}
	g.shared = append(g.shared, v)
	return v
}

// TestRandomValuesLoadInCPython: random values of the kinds above, at every
// protocol, sorted and not, load in CPython as the value they are.
func TestRandomValuesLoadInCPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH: the cross-language tests need it")
	}
	g := &randomGen{r: rand.New(rand.NewPCG(7, 11))}
	for i := 0; i < 4; i++ {
		g.long = append(g.long, strings.Repeat(fmt.Sprint(i), 64+i*30))
	}
	var cases [][2]string
	for i := 0; i < 60; i++ {
		v := g.value(0)
		js, err := json.Marshal(v)
		require.NoError(t, err)
		for proto := 0; proto <= 5; proto++ {
			for _, sorted := range []bool{true, false} {
				p, err := pickler.Marshal(v, pickler.Protocol(proto), pickler.SortMapKeys(sorted))
				require.NoError(t, err)
				cases = append(cases, [2]string{base64.StdEncoding.EncodeToString(p), string(js)})
			}
		}
	}
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	cmd := exec.Command("python3", "-c", randomValuePy)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	require.NoError(t, err)
	var bad []string
	require.NoError(t, json.Unmarshal(out, &bad))
	require.Empty(t, bad, "of %d pickles", len(cases))
}
