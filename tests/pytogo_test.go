package tests

import (
	"math/big"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// pickleFromPython runs a python3 expression and returns pickle.dumps of it.
func pickleFromPython(t *testing.T, setup, expr string, proto int) []byte {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH: the cross-language tests need it")
	}
	code := "import pickle, sys, collections, datetime, decimal, fractions, uuid\n" + setup +
		"\nsys.stdout.buffer.write(pickle.dumps(" + expr + ", " + string(rune('0'+proto)) + "))"
	out, err := exec.Command("python3", "-c", code).Output()
	require.NoError(t, err, code)
	return out
}

const pointClass = `
import __main__
class Point:
    def __init__(self, x, y, label):
        self.x, self.y, self.label = x, y, label
__main__.Point = Point
`

type Point struct {
	X     int    `pickle:"x"`
	Y     int    `pickle:"y"`
	Label string `pickle:"label"`
}

type Record struct {
	Name     string              `pickle:"name"`
	Ordered  map[string]int      `pickle:"ordered"`
	Default  map[string][]int    `pickle:"default"`
	Counts   map[string]int      `pickle:"counts"`
	Queue    []int               `pickle:"queue"`
	Price    float64             `pickle:"price"`
	PriceTxt string              `pickle:"price_txt"`
	Ratio    *big.Rat            `pickle:"ratio"`
	ID       [16]byte            `pickle:"id"`
	IDText   string              `pickle:"id_text"`
	Day      time.Time           `pickle:"day"`
	At       time.Time           `pickle:"at"`
	Wait     time.Duration       `pickle:"wait"`
	Pair     struct{ A, B int }  `pickle:"pair"`
	Tags     map[string]struct{} `pickle:"tags"`
	Big      *big.Int            `pickle:"big"`
	Raw      []byte              `pickle:"raw"`
	Origin   Point               `pickle:"origin"`
	Points   []Point             `pickle:"points"`
	Nothing  *int                `pickle:"nothing"`
	Any      any                 `pickle:"any"`
}

func TestPythonToGoTyped(t *testing.T) {
	expr := `{"name": "rec", "ordered": collections.OrderedDict([("a", 1), ("b", 2)]),
 "default": collections.defaultdict(list, {"k": [1, 2]}), "counts": collections.Counter("aab"),
 "queue": collections.deque([3, 4]), "price": decimal.Decimal("12.50"), "price_txt": decimal.Decimal("12.50"),
 "ratio": fractions.Fraction(3, 4), "id": uuid.UUID(int=0x0102030405060708090a0b0c0d0e0f10),
 "id_text": uuid.UUID(int=0x0102030405060708090a0b0c0d0e0f10),
 "day": datetime.date(2024, 2, 29), "at": datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
 "wait": datetime.timedelta(seconds=90), "pair": (1, 2), "tags": {"x", "y"}, "big": 2**100, "raw": b"\x00\x01",
 "origin": Point(1, 2, "o"), "points": [Point(3, 4, "p")], "nothing": None, "any": [1, "two"]}`
	for proto := 0; proto <= 5; proto++ {
		data := pickleFromPython(t, pointClass, expr, proto)
		var r Record
		require.NoError(t, unpickler.Unmarshal(data, &r), "protocol %d", proto)
		require.Equal(t, "rec", r.Name)
		require.Equal(t, map[string]int{"a": 1, "b": 2}, r.Ordered)
		require.Equal(t, map[string][]int{"k": {1, 2}}, r.Default)
		require.Equal(t, map[string]int{"a": 2, "b": 1}, r.Counts)
		require.Equal(t, []int{3, 4}, r.Queue)
		require.Equal(t, 12.5, r.Price)
		require.Equal(t, "12.50", r.PriceTxt)
		require.Zero(t, big.NewRat(3, 4).Cmp(r.Ratio))
		require.Equal(t, [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, r.ID)
		require.Equal(t, "01020304-0506-0708-090a-0b0c0d0e0f10", r.IDText)
		require.Equal(t, time.Date(2024, 2, 29, 0, 0, 0, 0, py.Naive), r.Day)
		require.True(t, time.Date(2024, 2, 29, 10, 30, 0, 0, time.UTC).Equal(r.At))
		require.Equal(t, 90*time.Second, r.Wait)
		require.Equal(t, struct{ A, B int }{1, 2}, r.Pair)
		require.Equal(t, map[string]struct{}{"x": {}, "y": {}}, r.Tags)
		require.Zero(t, new(big.Int).Lsh(big.NewInt(1), 100).Cmp(r.Big))
		require.Equal(t, []byte{0, 1}, r.Raw)
		require.Equal(t, Point{1, 2, "o"}, r.Origin)
		require.Equal(t, []Point{{3, 4, "p"}}, r.Points)
		require.Nil(t, r.Nothing)
		require.Equal(t, []any{int64(1), "two"}, r.Any)
	}
}

func TestPythonToGoTypeErrors(t *testing.T) {
	data := pickleFromPython(t, "", `{"name": 5}`, 5)
	var r Record
	err := unpickler.Unmarshal(data, &r)
	var te *unpickler.UnmarshalTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, ".Name", te.Path)
	require.Equal(t, "int", te.Value)

	data = pickleFromPython(t, "", `[1, 2, 300]`, 5)
	var small []uint8
	err = unpickler.Unmarshal(data, &small)
	require.ErrorAs(t, err, &te)
	require.Equal(t, "[2]", te.Path)

	require.ErrorIs(t, unpickler.Unmarshal(data, nil), unpickler.ErrNotPointer)
	var notPtr []int
	require.ErrorIs(t, unpickler.Unmarshal(data, notPtr), unpickler.ErrNotPointer)
}

func TestPython2Strings(t *testing.T) {
	// A Python 2 pickle of the str 'caf\xe9' (latin-1 bytes).
	data := []byte("S'caf\\xe9'\np0\n.")
	var s string
	require.Error(t, unpickler.Unmarshal(data, &s), "ASCII is the default, as in Python")
	require.NoError(t, unpickler.Unmarshal(data, &s, unpickler.Encoding("latin1")))
	require.Equal(t, "café", s)
	var b []byte
	require.NoError(t, unpickler.Unmarshal(data, &b))
	require.Equal(t, []byte("caf\xe9"), b)
	v, err := unpickler.Load(data)
	require.NoError(t, err)
	require.Equal(t, py.ByteString("caf\xe9"), v)
}

type celsius float64

func (c *celsius) UnmarshalPickle(v any) error {
	f, ok := v.(float64)
	if !ok {
		return unpickler.ErrBadType
	}
	*c = celsius(f - 273.15)
	return nil
}

func TestUnmarshaler(t *testing.T) {
	data := pickleFromPython(t, "", `[273.15, 373.15]`, 4)
	var temps []celsius
	require.NoError(t, unpickler.Unmarshal(data, &temps))
	require.InDelta(t, 100.0, float64(temps[1]), 1e-9)
}
