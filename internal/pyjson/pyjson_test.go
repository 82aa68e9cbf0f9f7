package pyjson_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/internal/pyjson"
)

func TestTaggedRoundTrip(t *testing.T) {
	docs := []string{
		`{"b":2,"a":[1,2.5,"x",null,true]}`,
		`{"$tuple":[1,{"$bytes":"eHk="},{"$bytearray":"eg=="},{"$str2":"cw=="}]}`,
		`{"$set":[1,2]}`,
		`{"$frozenset":["a"]}`,
		`[{"$float":"nan"},{"$float":"-inf"},{"$complex":[1.0,-2.0]}]`,
		`{"$dict":[[1,"one"],[{"$tuple":[1,2]},"pair"]]}`,
		`{"$call":[{"$global":"collections OrderedDict"},[],null,[],[["a",1]]]}`,
		`{"$object":[{"$global":"m C"},[1],{},{"x":1}]}`,
		`[{"$persid":"k"},{"$buffer":0},{"$timedelta":-5},{"$datetime":"2020-01-02T03:04:05.000006"}]`,
		`{"$dict":[["$tuple",1]]}`,
		`123456789012345678901234567890`,
	}
	for _, d := range docs {
		v, err := pyjson.Decode(strings.NewReader(d), true)
		require.NoError(t, err, d)
		var out bytes.Buffer
		require.NoError(t, pyjson.Encode(&out, v), d)
		require.JSONEq(t, d, out.String(), d)
	}
}

func TestPlainJSONKeepsTagsAsDicts(t *testing.T) {
	v, err := pyjson.Decode(strings.NewReader(`{"$tuple":[1]}`), false)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, pyjson.Encode(&out, v))
	require.JSONEq(t, `{"$dict":[["$tuple",[1]]]}`, out.String(), "a one-key dict that looks like a tag is escaped")
}

func TestBadJSON(t *testing.T) {
	for _, d := range []string{"", "{", "[1,]", "1 2", `{"$set":1}`, `{"$bytes":"!!"}`, `{"$complex":[1]}`} {
		_, err := pyjson.Decode(strings.NewReader(d), true)
		require.Error(t, err, d)
	}
}

func TestSharedStructureHasABudget(t *testing.T) {
	var v any = []any{int64(1)}
	for i := 0; i < 40; i++ {
		v = []any{v, v}
	}
	defer func(n int) { *pyjson.MaxNodes = n }(*pyjson.MaxNodes)
	*pyjson.MaxNodes = 1 << 16 // the default, 2^24, takes 19 s under -race
	err := pyjson.Encode(io.Discard, v)
	require.ErrorContains(t, err, "more than 65536 values")
}
