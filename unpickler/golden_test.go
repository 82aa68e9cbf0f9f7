package unpickler_test

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

type golden struct {
	Cases []struct {
		Name    string                  `json:"name"`
		Value   string                  `json:"value"`
		Pickles map[string]goldenPickle `json:"pickles"`
	} `json:"cases"`
}

// goldenPickle is CPython's pickle of a case at one protocol: base64, or
// for pickles over 4 KiB base64 of its zlib compression.
type goldenPickle struct {
	B64  string `json:"b64"`
	Zlib string `json:"zlib"`
	Len  int    `json:"len"`
}

// bytes returns the pickle, or nil when CPython could not pickle the value.
func (p goldenPickle) bytes(t testing.TB) []byte {
	switch {
	case p.B64 != "":
		data, err := base64.StdEncoding.DecodeString(p.B64)
		require.NoError(t, err)
		return data
	case p.Zlib != "":
		z, err := base64.StdEncoding.DecodeString(p.Zlib)
		require.NoError(t, err)
		r, err := zlib.NewReader(bytes.NewReader(z))
		require.NoError(t, err)
		data, err := io.ReadAll(r)
		require.NoError(t, err)
		require.Len(t, data, p.Len)
		return data
	case p.Len != 0:
		t.Fatalf("golden pickle of %d bytes stored without its bytes: run make golden", p.Len)
	}
	return nil
}

// goldenPickles yields CPython's pickles of the pickler's golden corpus.
func goldenPickles(t testing.TB) (g golden) {
	raw, err := os.ReadFile("../pickler/testdata/golden.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &g))
	return g
}

// TestGoldenDecodeReencode: every CPython pickle of the corpus decodes to
// the value the corpus names, and re-encodes to CPython's exact bytes.
func TestGoldenDecodeReencode(t *testing.T) {
	g := goldenPickles(t)
	n := 0
	for _, c := range g.Cases {
		for proto := 0; proto <= 5; proto++ {
			data := c.Pickles[strconv.Itoa(proto)].bytes(t)
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
	stored := 0
	for _, c := range g.Cases {
		for _, p := range c.Pickles {
			if p.B64 != "" || p.Zlib != "" {
				stored++
			}
		}
	}
	require.Equal(t, stored, n)
	require.GreaterOrEqual(t, n, 600)
}
