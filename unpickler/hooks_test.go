package unpickler_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// pair is what the test constructor returns: it stores itself into an
// [2]int or a string, and leaves other targets to the assigner.
type pair struct{ a, b int64 }

func (p pair) AssignPickle(dst reflect.Value) (bool, error) {
	switch dst.Kind() {
	case reflect.Array:
		if dst.Len() != 2 {
			return true, errors.New("pair needs two slots")
		}
		dst.Index(0).SetInt(p.a)
		dst.Index(1).SetInt(p.b)
		return true, nil
	case reflect.String:
		dst.SetString("pair")
		return true, nil
	}
	return false, nil
}

// TestSelfAssigner: a registered constructor's value that implements
// SelfAssigner stores itself into typed targets, with paths on errors;
// targets it declines get the assigner's rules; any stays the Call.
func TestSelfAssigner(t *testing.T) {
	r := unpickler.NewRegistry()
	r.Register("m", "pair", func(c unpickler.Construct) (any, error) {
		return pair{c.Args[0].(int64), c.Args[1].(int64)}, nil
	})
	call := &py.Call{Callable: py.Global{Module: "m", Name: "pair"}, Args: py.Tuple{int64(3), int64(4)}}
	p, err := pickler.Marshal(py.DictOf("P", call), pickler.Protocol(4))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ P [2]int }
	if err := unpickler.Unmarshal(p, &s, unpickler.Classes(r)); err != nil || s.P != [2]int{3, 4} {
		t.Errorf("[2]int: %v %v", s, err)
	}
	var str struct{ P string }
	if err := unpickler.Unmarshal(p, &str, unpickler.Classes(r)); err != nil || str.P != "pair" {
		t.Errorf("string: %v %v", str, err)
	}
	var three struct{ P [3]int }
	err = unpickler.Unmarshal(p, &three, unpickler.Classes(r))
	var te *unpickler.UnmarshalTypeError
	if !errors.As(err, &te) || te.Path != ".P" || !strings.Contains(err.Error(), "two slots") {
		t.Errorf("[3]int: %v", err)
	}
	var f struct{ P float64 } // declined: the assigner's own type error
	if err := unpickler.Unmarshal(p, &f, unpickler.Classes(r)); !errors.As(err, &te) {
		t.Errorf("float64: %v", err)
	}
	var a struct{ P any }
	if err := unpickler.Unmarshal(p, &a, unpickler.Classes(r)); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.P.(*py.Call); !ok {
		t.Errorf("any: %T", a.P)
	}
}

// TestZeroCopyByteArray: with ZeroCopy a BYTEARRAY8 payload aliases the
// input (how numpy arrays pickled in band at protocol 5 decode without a
// copy), capped at its length so that appending cannot overwrite the
// input after it; without ZeroCopy it is a copy.
func TestZeroCopyByteArray(t *testing.T) {
	data, err := pickler.Marshal([]any{py.ByteArray("abcdef"), "tail"}, pickler.Protocol(5))
	if err != nil {
		t.Fatal(err)
	}
	v, err := unpickler.Load(data, unpickler.ZeroCopy(true))
	if err != nil {
		t.Fatal(err)
	}
	ba := v.([]any)[0].(py.ByteArray)
	if cap(ba) != len(ba) {
		t.Errorf("cap %d, len %d: an append would write into the input", cap(ba), len(ba))
	}
	ba[0] = 'X'
	if !strings.Contains(string(data), "Xbcdef") {
		t.Error("ZeroCopy bytearray does not alias the input")
	}
	_ = append(ba, "!!!!"...)
	if !strings.Contains(string(data), "tail") {
		t.Error("append wrote into the input")
	}
	v, err = unpickler.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	v.([]any)[0].(py.ByteArray)[1] = 'Y'
	if strings.Contains(string(data), "XYcdef") {
		t.Error("without ZeroCopy the bytearray aliases the input")
	}
}
