package pickler_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

type selfMarshaler struct{ n int }

func (s selfMarshaler) MarshalPickle() (any, error) { return s, nil }

type selfSlice []int

func (s selfSlice) MarshalPickle() (any, error) { return s, nil }

type wrapper struct{ inner any }

func (w wrapper) MarshalPickle() (any, error) { return w.inner, nil }

type chanMarshaler struct{}

func (chanMarshaler) MarshalPickle() (any, error) { return make(chan int), nil }

var errHook = errors.New("hook failed")

type failing struct{}

func (failing) MarshalPickle() (any, error) { return nil, errHook }

// TestMarshalerResults: what a Marshaler returns is checked as any value.
// A Marshaler that returns itself is ErrMarshaler; one that returns another
// value of its own type (a wrapper around a wrapper) is written, where it
// was refused as "returned its own type"; one whose type cannot be compared
// and returns itself stops at MaxDepth; garbage is a typed error with its
// path; a failure wraps the Marshaler's own error.
func TestMarshalerResults(t *testing.T) {
	_, err := pickler.Marshal([]any{selfMarshaler{1}})
	require.ErrorIs(t, err, pickler.ErrMarshaler)

	out, err := pickler.Marshal(wrapper{wrapper{wrapper{py.Tuple{1, 2}}}}, pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, "\x80\x02K\x01K\x02\x86q\x00.", string(out))
	out, err = pickler.Marshal(py.DictOf(wrapper{wrapper{[2]int{1, 2}}}, 3), pickler.Protocol(2))
	require.NoError(t, err)
	require.Equal(t, "\x80\x02}q\x00K\x01K\x02\x86q\x01K\x03s.", string(out))

	_, err = pickler.Marshal(selfSlice{1}, pickler.MaxDepth(50))
	require.ErrorIs(t, err, pickler.ErrTooDeep)

	_, err = pickler.Marshal(map[string]any{"a": []any{chanMarshaler{}}})
	var te *pickler.UnsupportedTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "[a][0]", te.Path)

	_, err = pickler.Marshal(struct{ F failing }{})
	require.ErrorIs(t, err, pickler.ErrMarshaler)
	require.ErrorIs(t, err, errHook)
	var ve *pickler.UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, ".F", ve.Path)
}

// TestPanickingMarshalerIsErrMarshaler: a panic in MarshalPickle is the
// Marshaler's failure (ErrMarshaler, with the panic's value and the path),
// not the encoder's (ErrInternal, as it was).
func TestPanickingMarshalerIsErrMarshaler(t *testing.T) {
	_, err := pickler.Marshal(map[string]any{"k": []any{1, panicky{}}})
	require.ErrorIs(t, err, pickler.ErrMarshaler)
	require.NotErrorIs(t, err, pickler.ErrInternal)
	require.Contains(t, err.Error(), "boom")
	var ve *pickler.UnsupportedValueError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "[k][1]", ve.Path)
}
