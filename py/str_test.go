package py_test

import (
	"encoding/hex"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/py"
)

// CPython's verdicts: bytes.fromhex(h).decode('utf-8', 'surrogatepass'),
// and str(UnicodeDecodeError) when it fails.
var utf8Cases = []struct{ hex, err string }{
	{"", ""},
	{"616263", ""},
	{"636166c3a9", ""},
	{"eda080", ""},
	{"636166edb3a92e637376", ""},
	{"eda0bdedb880", ""},
	{"f09f9880", ""},
	{"93", "'utf-8' codec can't decode byte 0x93 in position 0: invalid start byte"},
	{"7880", "'utf-8' codec can't decode byte 0x80 in position 1: invalid start byte"},
	{"c080", "'utf-8' codec can't decode byte 0xc0 in position 0: invalid start byte"},
	{"c1bf", "'utf-8' codec can't decode byte 0xc1 in position 0: invalid start byte"},
	{"e08080", "'utf-8' codec can't decode byte 0xe0 in position 0: invalid continuation byte"},
	{"e09fbf", "'utf-8' codec can't decode byte 0xe0 in position 0: invalid continuation byte"},
	{"eda0", "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"},
	{"eda041", "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"},
	{"ed41", "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"},
	{"f08fbfbf", "'utf-8' codec can't decode byte 0xf0 in position 0: invalid continuation byte"},
	{"f4908080", "'utf-8' codec can't decode byte 0xf4 in position 0: invalid continuation byte"},
	{"f5808080", "'utf-8' codec can't decode byte 0xf5 in position 0: invalid start byte"},
	{"ff", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"},
	{"6162e4", "'utf-8' codec can't decode byte 0xe4 in position 2: unexpected end of data"},
	{"6162e4b8", "'utf-8' codec can't decode bytes in position 2-3: unexpected end of data"},
	{"e4b8e4b8ad", "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte"},
	{"f09f98", "'utf-8' codec can't decode bytes in position 0-2: unexpected end of data"},
}

func TestCheckUTF8LikeCPython(t *testing.T) {
	for _, c := range utf8Cases {
		b, err := hex.DecodeString(c.hex)
		require.NoError(t, err)
		got := py.CheckUTF8(b)
		require.Equal(t, c.err == "", py.ValidUTF8(b), c.hex)
		require.Equal(t, c.err == "", py.ValidString(string(b)), c.hex)
		if c.err == "" {
			require.NoError(t, got, c.hex)
			require.NoError(t, py.CheckString(string(b)), c.hex)
		} else {
			require.EqualError(t, got, c.err, c.hex)
			var ue *py.UTF8Error
			require.ErrorAs(t, got, &ue)
		}
	}
}

func TestSurrogateRunes(t *testing.T) {
	// '\ud83d\ude00' is two code points in Python, not '\U0001f600'.
	var b []byte
	for _, r := range []rune{0xd83d, 0xde00, 'x', 0x1f600, 0xdce9} {
		b = py.AppendRune(b, r)
	}
	require.Equal(t, "eda0bdedb88078f09f9880edb3a9", hex.EncodeToString(b))
	require.False(t, utf8.Valid(b))
	require.True(t, py.ValidUTF8(b))
	var got []rune
	for s := string(b); s != ""; {
		r, n := py.DecodeRune(s)
		got = append(got, r)
		s = s[n:]
	}
	require.Equal(t, []rune{0xd83d, 0xde00, 'x', 0x1f600, 0xdce9}, got)
	r, n := py.DecodeRune("\x93")
	require.Equal(t, utf8.RuneError, r)
	require.Equal(t, 1, n)
}
