package pyjson_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/internal/pyjson"
	"github.com/segpickle/segpickle/py"
)

// A call's After list (values built after it and discarded, as a state
// setter's result) has its place in the tagged form.
func TestTaggedAfter(t *testing.T) {
	for _, doc := range []string{
		`{"$call":[{"$global":"m C"},[],null,[],[],[{"$call":[{"$global":"m f"},[1]]}]]}`,
		`{"$object":[{"$global":"m C"},[],{},{"x":1},[2],[["k",3]],[{"$call":[{"$global":"m f"},[]]},{"$buffer":0}]]}`,
	} {
		v, err := pyjson.Decode(strings.NewReader(doc), true)
		require.NoError(t, err, doc)
		var after []any
		switch x := v.(type) {
		case *py.Call:
			after = x.After
		case *py.Object:
			after = x.After
		}
		require.NotEmpty(t, after, doc)
		var out bytes.Buffer
		require.NoError(t, pyjson.Encode(&out, v))
		require.Equal(t, doc, strings.TrimSpace(out.String()))
	}
	_, err := pyjson.Decode(strings.NewReader(`{"$call":[{"$global":"m C"},[],null,[],[],5]}`), true)
	require.Error(t, err)
}
