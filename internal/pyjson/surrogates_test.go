package pyjson_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/py"
)

// As Python's json.loads: a pair of surrogate escapes is one character, a
// lone surrogate stays itself (in package py's form), other escapes and
// U+FFFD as they are.
func TestSurrogateEscapes(t *testing.T) {
	doc := `{"caf\udce9.csv": ["\ud83d\ude00", "\ud83dx", "\ude00\ud83d", "\uDCE9\n\"\\\/\u00e9", "\ufffd \udce9", "plain"]}`
	v, err := pyjson.Decode(strings.NewReader(doc), false)
	require.NoError(t, err)
	want := py.DictOf("caf\xed\xb3\xa9.csv", []any{"\U0001f600", "\xed\xa0\xbdx", "\xed\xb8\x80\xed\xa0\xbd", "\xed\xb3\xa9\n\"\\/é", "\ufffd \xed\xb3\xa9", "plain"})
	require.Equal(t, want.Items(), v.(*py.Dict).Items())

	// Encode writes them back as escapes; Decode reads its own output.
	var out bytes.Buffer
	require.NoError(t, pyjson.Encode(&out, v))
	require.Contains(t, out.String(), `"caf\udce9.csv"`)
	v2, err := pyjson.Decode(&out, true)
	require.NoError(t, err)
	require.Equal(t, want.Items(), v2.(*py.Dict).Items())
}
