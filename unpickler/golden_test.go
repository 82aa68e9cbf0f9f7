package unpickler_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/internal/golden"
	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

// goldenPickles loads CPython's pickles of the shared golden corpus.
func goldenPickles(t testing.TB) *golden.Corpus {
	t.Helper()
	g, err := golden.Load()
	require.NoError(t, err)
	return g
}

// goldenBytes is p's pickle, nil when CPython refused the value.
func goldenBytes(t testing.TB, p golden.Pickle) []byte {
	t.Helper()
	data, err := p.Bytes()
	require.NoError(t, err)
	return data
}

// TestGoldenDecodeReencode: every CPython pickle of the corpus decodes to
// the value the corpus names, and re-encodes to CPython's exact bytes.
func TestGoldenDecodeReencode(t *testing.T) {
	g := goldenPickles(t)
	n := 0
	for _, c := range g.Cases {
		for proto := 0; proto <= 5; proto++ {
			data := goldenBytes(t, c.Pickle(proto))
			if data == nil {
				continue // CPython refused (recorded as an error)
			}
			t.Run(c.Name+"/p"+strconv.Itoa(proto), func(t *testing.T) {
				v, err := unpickler.Load(data)
				require.NoError(t, err)
				var js bytes.Buffer
				require.NoError(t, pyjson.Encode(&js, v))
				want, err := pyjson.Decode(strings.NewReader(c.Value), true)
				require.NoError(t, err)
				var wantJS bytes.Buffer
				require.NoError(t, pyjson.Encode(&wantJS, want))
				require.Equal(t, wantJS.String(), js.String())
				out, err := pickler.Marshal(v, pickler.Protocol(proto))
				require.NoError(t, err)
				require.Equal(t, data, out, "re-encoded bytes differ")
				// The same through segments of 7 bytes (of 4093 for
				// the large pickles, whose opcodes straddle them too,
				// so that -race stays quick).
				step := 7
				if len(data) > 64<<10 {
					step = 4093
				}
				var segs [][]byte
				for i := 0; i < len(data); i += step {
					segs = append(segs, data[i:min(i+step, len(data))])
				}
				var v2 any
				require.NoError(t, unpickler.UnmarshalSegments(segs, &v2))
				out2, err := pickler.Marshal(v2, pickler.Protocol(proto))
				require.NoError(t, err)
				require.Equal(t, data, out2)
			})
			n++
		}
	}
	// Every stored pickle ran, the large ones (stored compressed) too.
	require.Equal(t, g.Stored(), n)
	require.GreaterOrEqual(t, n, 600)
}
