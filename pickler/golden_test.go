package pickler_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/pickler"
)

type goldenFile struct {
	Python string `json:"python"`
	Cases  []struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		Pickles map[string]struct {
			B64    string `json:"b64"`
			Len    int    `json:"len"`
			SHA256 string `json:"sha256"`
			Error  string `json:"error"`
		} `json:"pickles"`
	} `json:"cases"`
}

func loadGolden(t testing.TB) goldenFile {
	t.Helper()
	raw, err := os.ReadFile("testdata/golden.json")
	require.NoError(t, err)
	var g goldenFile
	require.NoError(t, json.Unmarshal(raw, &g))
	require.NotEmpty(t, g.Cases)
	return g
}

// TestGoldenCPython checks that our bytes equal CPython's pickle.dumps for
// every value of tests/gen_golden.py at every protocol.
func TestGoldenCPython(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Cases {
		for proto := 0; proto <= 5; proto++ {
			want := c.Pickles[strconv.Itoa(proto)]
			t.Run(c.Name+"/p"+strconv.Itoa(proto), func(t *testing.T) {
				v, err := pyjson.Decode(strings.NewReader(c.Value), true)
				require.NoError(t, err)
				got, err := pickler.Marshal(v, pickler.Protocol(proto))
				if want.Error != "" {
					require.Error(t, err, "CPython refused: %s", want.Error)
					return
				}
				require.NoError(t, err)
				if want.B64 != "" {
					exp, _ := base64.StdEncoding.DecodeString(want.B64)
					if !bytes.Equal(exp, got) {
						t.Fatalf("bytes differ from CPython %s", firstDiff(exp, got))
					}
					return
				}
				sum := sha256.Sum256(got)
				require.Equal(t, want.Len, len(got), "length differs from CPython")
				require.Equal(t, want.SHA256, hex.EncodeToString(sum[:]), "bytes differ from CPython")
			})
		}
	}
}

// firstDiff describes where two byte strings part, with some context.
func firstDiff(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	lo := max(0, i-24)
	return fmt.Sprintf("at offset %d (len want %d, got %d)\nwant …%q\ngot  …%q",
		i, len(want), len(got), want[lo:min(len(want), i+24)], got[lo:min(len(got), i+24)])
}
