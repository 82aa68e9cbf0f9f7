package unpickler_test

import (
	"errors"
	"testing"

	"github.com/segpickle/segpickle/internal/golden"
	"github.com/segpickle/segpickle/unpickler"
)

// TestEveryPrefixIsATypedError: every proper prefix of every golden pickle
// of up to 2 KiB (CPython's, protocols 0–5) fails with a typed error that
// says the input ended (ErrTruncated or ErrNoStop) — never a recovered
// panic (ErrInternal), on the dynamic path, the typed path and segment
// input. The fast paths read ahead in the input window; an opcode cut at
// the window's end once indexed an empty slice there.
func TestEveryPrefixIsATypedError(t *testing.T) {
	c, err := golden.Load()
	if err != nil {
		t.Fatal(err)
	}
	var typed struct {
		A []string
		B map[string]float64
		C []int64
	}
	checked := 0
	for _, k := range c.Cases {
		for proto := 0; proto <= 5; proto++ {
			p := k.Pickle(proto)
			data, err := p.Bytes()
			if err != nil || len(data) == 0 || len(data) > 2048 {
				continue
			}
			for i := 0; i < len(data); i++ {
				pre := data[:i]
				_, err := unpickler.Load(pre)
				check := func(where string, err error) {
					if err == nil || errors.Is(err, unpickler.ErrInternal) ||
						!(errors.Is(err, unpickler.ErrTruncated) || errors.Is(err, unpickler.ErrNoStop)) {
						t.Fatalf("%s, protocol %d, %d of %d bytes, %s: %v", k.Name, proto, i, len(data), where, err)
					}
				}
				check("Load", err)
				var list []any
				check("Unmarshal []any", unpickler.Unmarshal(pre, &list))
				if err := unpickler.Unmarshal(pre, &typed); err == nil || errors.Is(err, unpickler.ErrInternal) {
					t.Fatalf("%s, protocol %d, %d bytes, typed: %v", k.Name, proto, i, err)
				}
				if i > 1 {
					check("segments", unpickler.UnmarshalSegments([][]byte{pre[:i/2], pre[i/2:]}, new(any)))
				}
				checked++
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d prefixes checked", checked)
	}
	t.Logf("%d prefixes", checked)
}
