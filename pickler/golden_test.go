package pickler_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/internal/golden"
	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/pickler"
)

// TestGoldenCPython checks that our bytes equal CPython's pickle.dumps for
// every value of tests/gen_golden.py at every protocol.
func TestGoldenCPython(t *testing.T) {
	g, err := golden.Load()
	require.NoError(t, err)
	for _, c := range g.Cases {
		for proto := 0; proto <= 5; proto++ {
			want := c.Pickle(proto)
			t.Run(c.Name+"/p"+strconv.Itoa(proto), func(t *testing.T) {
				v, err := pyjson.Decode(strings.NewReader(c.Value), true)
				require.NoError(t, err)
				got, err := pickler.Marshal(v, pickler.Protocol(proto))
				if want.Error != "" {
					require.Error(t, err, "CPython refused: %s", want.Error)
					return
				}
				require.NoError(t, err)
				exp, err := want.Bytes()
				require.NoError(t, err)
				require.NotNil(t, exp, "no pickle stored")
				if !bytes.Equal(exp, got) {
					t.Fatalf("bytes differ from CPython %s", firstDiff(exp, got))
				}
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
