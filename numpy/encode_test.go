package numpy_test

import (
	"bytes"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/numpy"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
)

// TestMarshalForms: an Array value, a pointer and a struct field marshal
// alike; several arrays in one pickle share their dtype through the memo,
// as numpy's pickles do (numpy's bytes for the same list, pickled by
// /usr/bin/python3 when it has numpy).
func TestMarshalForms(t *testing.T) {
	a := numpy.New([]float64{0, 0})
	byPtr, err := pickler.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	byVal, err := pickler.Marshal(*a)
	if err != nil || !bytes.Equal(byPtr, byVal) {
		t.Fatalf("value and pointer differ: %v", err)
	}
	type holder struct {
		A numpy.Array  `pickle:"a"`
		P *numpy.Array `pickle:"p"`
	}
	withField, err := pickler.Marshal(holder{A: *a, P: a}, pickler.Protocol(5))
	if err != nil || !bytes.Contains(withField, []byte("_frombuffer")) {
		t.Fatalf("struct field: %v %q", err, withField)
	}

	list := []any{numpy.New([]float64{0, 0}), numpy.New([]float64{1, 1, 1}), py.DictOf("w", numpy.New([]int32{0, 1}))}
	out, err := exec.Command("/usr/bin/python3", "-c", `
import pickle, sys, numpy as np
v = [np.zeros(2), np.ones(3), {'w': np.arange(2, dtype='<i4')}]
for p in (2, 3, 4, 5):
    print(pickle.dumps(v, p).hex())
`).Output()
	if err != nil {
		t.Skipf("/usr/bin/python3 with numpy is needed for numpy's bytes: %v", err)
	}
	for i, want := range strings.Fields(string(out)) {
		proto := i + 2
		got, err := pickler.Marshal(list, pickler.Protocol(proto))
		if err != nil {
			t.Fatal(err)
		}
		if h := hexOf(got); h != want {
			t.Errorf("protocol %d: a list of arrays differs from numpy's\n got %s\nwant %s", proto, h, want)
		}
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }
