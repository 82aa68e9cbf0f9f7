package unpickler_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

// huntGen writes random protocol-4 pickles heavy in what the fast paths
// take: batches into lists and dicts, memo entries (overwritten, MEMOIZE
// after BINPUTs), GETs of containers then appended to, DUP/POP/POP_MARK
// inside batches, tuples of what is on the stack, frames.
type huntGen struct {
	r    *rand.Rand
	b    []byte
	memo map[uint32]byte // kind: 'l' list, 'd' dict, 's' str, 'x' other
}

func (g *huntGen) put(kind byte) {
	switch g.r.IntN(6) {
	case 0, 1:
		idx := uint32(len(g.memo))
		g.b = append(g.b, 0x94)
		g.memo[idx] = kind
	case 2:
		idx := uint32(g.r.IntN(6))
		g.b = append(g.b, 'q', byte(idx))
		g.memo[idx] = kind
	case 3:
		idx := uint32(g.r.IntN(6))
		g.b = append(g.b, 'r')
		g.b = binary.LittleEndian.AppendUint32(g.b, idx)
		g.memo[idx] = kind
	}
}

func (g *huntGen) get(want byte) bool {
	var c []uint32
	for i := uint32(0); i < 8; i++ {
		if k, ok := g.memo[i]; ok && (want == 0 || k == want) {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		return false
	}
	i := c[g.r.IntN(len(c))]
	if g.r.IntN(4) == 0 {
		g.b = append(g.b, 'j')
		g.b = binary.LittleEndian.AppendUint32(g.b, i)
	} else {
		g.b = append(g.b, 'h', byte(i))
	}
	return true
}

func (g *huntGen) str() {
	s := []string{"a", "b", "id", "name", "x", "", "é", "k1", "k2"}[g.r.IntN(9)]
	if g.r.IntN(5) == 0 {
		g.b = append(g.b, 'X')
		g.b = binary.LittleEndian.AppendUint32(g.b, uint32(len(s)))
	} else {
		g.b = append(g.b, 0x8c, byte(len(s)))
	}
	g.b = append(g.b, s...)
}

// key pushes a hashable: a str, an int or a memoized str.
func (g *huntGen) key() {
	switch g.r.IntN(6) {
	case 0:
		g.b = append(g.b, 'K', byte(g.r.IntN(4)))
	case 1:
		if g.get('s') {
			return
		}
		fallthrough
	default:
		g.str()
		if g.r.IntN(3) == 0 {
			g.put('s')
		}
	}
}

func (g *huntGen) scalar() byte {
	switch g.r.IntN(9) {
	case 0:
		g.b = append(g.b, 'K', byte(g.r.IntN(256)))
	case 1:
		g.b = append(g.b, 'M', byte(g.r.IntN(256)), byte(g.r.IntN(256)))
	case 2:
		g.b = append(g.b, 'J')
		g.b = binary.LittleEndian.AppendUint32(g.b, g.r.Uint32())
	case 3:
		g.b = append(g.b, 'G')
		g.b = binary.BigEndian.AppendUint64(g.b, 0x3ff0000000000000+uint64(g.r.IntN(1000))<<40)
	case 4:
		g.b = append(g.b, 'N')
	case 5:
		g.b = append(g.b, 0x88+byte(g.r.IntN(2)))
	default:
		g.str()
		return 's'
	}
	return 'x'
}

// stmt writes something that leaves the stack as it was: a container read
// back from the memo and added to, a value pushed and popped, a MARK
// popped.
func (g *huntGen) stmt(depth int) {
	switch g.r.IntN(4) {
	case 0:
		if g.get('l') {
			if g.r.IntN(2) == 0 {
				g.b = append(g.b, '(')
				for range g.r.IntN(4) {
					g.expr(depth + 1)
				}
				g.b = append(g.b, 'e')
			} else {
				g.expr(depth + 1)
				g.b = append(g.b, 'a')
			}
			g.b = append(g.b, '0')
		}
	case 1:
		if g.get('d') {
			g.b = append(g.b, '(')
			for range g.r.IntN(3) {
				g.key()
				g.expr(depth + 1)
			}
			g.b = append(g.b, 'u', '0')
		}
	case 2:
		g.expr(depth + 1)
		g.b = append(g.b, '0')
	case 3:
		g.b = append(g.b, '(')
		for range g.r.IntN(3) {
			g.expr(depth + 1)
		}
		g.b = append(g.b, '1')
	}
}

func (g *huntGen) items(depth int, dict bool) {
	n := g.r.IntN(6)
	if g.r.IntN(8) == 0 {
		n = 60 + g.r.IntN(10) // around smallBatch
	}
	for range n {
		if g.r.IntN(6) == 0 {
			g.stmt(depth)
		}
		if dict {
			g.key()
		}
		if g.r.IntN(10) == 0 && !dict {
			g.expr(depth + 1)
			g.b = append(g.b, '2') // DUP: the item twice
			continue
		}
		g.expr(depth + 1)
	}
}

func (g *huntGen) expr(depth int) {
	k := g.r.IntN(10)
	if depth > 4 || len(g.b) > huntCap {
		k = 9
	}
	var kind byte
	switch k {
	case 0, 1: // list
		g.b = append(g.b, ']')
		if g.r.IntN(2) == 0 {
			g.put('l')
		}
		for range g.r.IntN(3) {
			if g.r.IntN(4) == 0 {
				g.expr(depth + 1)
				g.b = append(g.b, 'a')
				continue
			}
			g.b = append(g.b, '(')
			g.items(depth, false)
			g.b = append(g.b, 'e')
		}
		kind = 'l'
	case 2, 3: // dict
		g.b = append(g.b, '}')
		if g.r.IntN(2) == 0 {
			g.put('d')
		}
		for range g.r.IntN(3) {
			if g.r.IntN(4) == 0 {
				g.key()
				g.expr(depth + 1)
				g.b = append(g.b, 's')
				continue
			}
			g.b = append(g.b, '(')
			g.items(depth, true)
			g.b = append(g.b, 'u')
		}
		kind = 'd'
	case 4: // tuple
		n := g.r.IntN(5)
		if n == 0 {
			g.b = append(g.b, ')')
		} else if n <= 3 {
			for range n {
				g.expr(depth + 1)
			}
			g.b = append(g.b, 0x84+byte(n))
		} else {
			g.b = append(g.b, '(')
			g.items(depth, false)
			g.b = append(g.b, 't')
		}
		kind = 'x'
	case 5:
		if g.get(0) {
			return
		}
		fallthrough
	default:
		kind = g.scalar()
	}
	if g.r.IntN(3) == 0 {
		g.put(kind)
	}
}

// pickle is a whole pickle: an outer list of a few values, cut into frames
// at random points between whole top-level values.
func (g *huntGen) pickle() []byte {
	g.b = g.b[:0]
	g.memo = map[uint32]byte{}
	g.b = append(g.b, ']')
	g.put('l')
	g.b = append(g.b, '(')
	for range 1 + g.r.IntN(4) {
		if g.r.IntN(4) == 0 {
			g.stmt(0)
		}
		g.expr(0)
	}
	g.b = append(g.b, 'e')
	if g.r.IntN(3) == 0 {
		g.stmt(0)
	}
	g.b = append(g.b, '.')
	out := []byte{0x80, 4}
	if g.r.IntN(2) == 0 {
		out = append(out, 0x95)
		out = binary.LittleEndian.AppendUint64(out, uint64(len(g.b)))
	}
	return append(out, g.b...)
}

type nReader struct {
	r io.Reader
	n []int
	i int
}

func (s *nReader) Read(p []byte) (int, error) {
	n := s.n[s.i%len(s.n)]
	s.i++
	if len(p) > n {
		p = p[:n]
	}
	return s.r.Read(p)
}

// huntCheck decodes data on every path and says how they disagree.
func huntCheck(t *testing.T, data []byte, withPy bool) string {
	v, err := unpickler.Load(data)
	if msg := internalError(err); msg != "" {
		return "bytes: " + msg
	}
	if withPy {
		if err != nil {
			if res := cpython(t, cpyRequest{A: data, B: []byte("N.")}); res.Status != "refused" {
				return fmt.Sprintf("Go refuses (%v), CPython loads", err)
			}
		} else {
			out, perr := pickler.Marshal(v, pickler.Protocol(5))
			if perr != nil {
				return fmt.Sprintf("re-encode: %v", perr)
			}
			if res := cpython(t, cpyRequest{A: data, B: out}); res.Status != "equal" {
				return fmt.Sprintf("CPython: %s: %s", res.Status, res.Msg)
			}
		}
	}
	same := func(where string, v2 any, err2 error) string {
		if msg := internalError(err2); msg != "" {
			return where + ": " + msg
		}
		if d := sameOutcome(v, err, v2, err2); d != "" {
			return where + ": " + d
		}
		return ""
	}
	for i := 1; i < len(data) && len(data) < 800; i++ {
		var v2 any
		err2 := unpickler.UnmarshalSegments([][]byte{data[:i], data[i:]}, &v2)
		if d := same(fmt.Sprintf("segments at %d", i), v2, err2); d != "" {
			return d
		}
	}
	segs := make([][]byte, len(data))
	for i := range data {
		segs[i] = data[i : i+1]
	}
	var v2 any
	err2 := unpickler.UnmarshalSegments(segs, &v2)
	if d := same("one-byte segments", v2, err2); d != "" {
		return d
	}
	for _, n := range [][]int{{1}, {2}, {3}, {7}, {1, 7, 2, 13}} {
		var v3 any
		err3 := unpickler.NewDecoder(&nReader{r: bytes.NewReader(data), n: n}).Decode(&v3)
		if err == nil && err3 != nil || err != nil && err3 == nil {
			return fmt.Sprintf("reader %v: %v vs %v", n, err, err3)
		}
		if err == nil {
			if d := valueDiff(v, v3); d != "" {
				return fmt.Sprintf("reader %v: %s", n, d)
			}
		}
	}
	var v4 any
	err4 := unpickler.NewDecoder(iotest.HalfReader(bytes.NewReader(data))).Decode(&v4)
	if d := same("half reader", v4, err4); d != "" && err == nil {
		return d
	}
	for _, mk := range []func() any{
		func() any { return new([]any) }, func() any { return new([]int64) }, func() any { return new([]string) },
		func() any { return new(map[string]float64) }, func() any { return new([]map[string]any) },
		func() any { return new([][]int64) }, func() any { return new([]huntStruct) }, func() any { return new([]map[string]float64) },
	} {
		want, got := mk(), mk()
		errWant, errGot := unpickler.RefUnmarshal(data, want), unpickler.Unmarshal(data, got)
		if msg := internalError(errGot); msg != "" {
			return fmt.Sprintf("typed %T: %s", got, msg)
		}
		if (errWant == nil) != (errGot == nil) {
			return fmt.Sprintf("typed %T: errors differ: %v / %v", got, errWant, errGot)
		}
		if errWant == nil && !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("typed %T: values differ:\n %#v\n %#v", got, want, got)
		}
	}
	return ""
}

type huntStruct struct {
	ID   int64  `pickle:"id"`
	Name string `pickle:"name"`
	A    any    `pickle:"a"`
	B    []any  `pickle:"b"`
	X    float64
}

// TestHuntSmall decodes small random pickles (huntGen) on every path and
// reports the shortest that disagrees. HUNT_SEED=n runs 20,000 of another
// seed.
func TestHuntSmall(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	huntCap = 60
	defer func() { huntCap = 1500 }()
	g := &huntGen{r: rand.New(rand.NewPCG(3, huntSeed))}
	var best []byte
	var bestD string
	for range huntSmallN {
		data := g.pickle()
		if best != nil && len(data) >= len(best) {
			continue
		}
		if d := huntCheck(t, data, false); d != "" {
			best, bestD = data, d
		}
	}
	if best != nil {
		t.Errorf("%s\n%q", bestD, best)
	}
}

// TestHuntRandom: larger random pickles, also compared with CPython.
func TestHuntRandom(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	g := &huntGen{r: rand.New(rand.NewPCG(1, huntSeed))}
	fails := 0
	for i := range huntN {
		data := g.pickle()
		if d := huntCheck(t, data, true); d != "" {
			t.Errorf("case %d: %s\n%q", i, d, data)
			if fails++; fails > 5 {
				return
			}
		}
	}
}

var huntN = 150

var huntCap = 1500

var huntSeed, huntSmallN = func() (uint64, int) {
	if s := os.Getenv("HUNT_SEED"); s != "" {
		n, _ := strconv.Atoi(s)
		return uint64(n), 20000
	}
	return 4, 1000
}()
