package unpickler_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/unpickler"
)

// TestInvalidOptions: an option given a value it cannot take is a typed
// error from every entry point, before anything is read — not a silent
// default (an unknown Encoding once read Python 2 strs as ASCII).
func TestInvalidOptions(t *testing.T) {
	data := []byte("\x80\x02U\x03abcq\x00.") // a Python 2 str
	for _, c := range []struct {
		opt    unpickler.Option
		option string
	}{
		{unpickler.Encoding("bogus"), "Encoding"},
		{unpickler.Encoding(""), "Encoding"},
		{unpickler.MaxMemo(-1), "MaxMemo"},
		{unpickler.MaxAlloc(-1), "MaxAlloc"},
	} {
		check := func(where string, err error) {
			var ie *unpickler.InvalidOptionError
			require.True(t, errors.As(err, &ie), "%s %s: %v", c.option, where, err)
			require.Equal(t, c.option, ie.Option)
			require.Contains(t, err.Error(), c.option)
		}
		var s string
		check("Unmarshal typed", unpickler.Unmarshal(data, &s, c.opt))
		_, err := unpickler.Load(data, c.opt)
		check("Load", err)
		check("UnmarshalSegments", unpickler.UnmarshalSegments([][]byte{data}, &s, c.opt))
		check("Decoder", unpickler.NewDecoder(bytes.NewReader(data), c.opt).Decode(&s))
	}
	// Every spelling CPython accepts for the four encodings is valid.
	for _, name := range []string{"ASCII", "us-ascii", "latin1", "Latin-1", "ISO-8859-1", "utf-8", "UTF8", "bytes"} {
		_, err := unpickler.Load(data, unpickler.Encoding(name))
		require.NoError(t, err, name)
	}
}
