package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segpickle/segpickle/internal/hostile"
)

// The 6 MB pickle of 3,000,000 nested empty lists (issue 9) goes through
// `segpickle reencode` within 512 MiB peak RSS (785 MiB before; CPython's
// pickle.loads takes 325 MB): it decodes, and the pickler refuses it at its
// depth limit with one line.
func TestReencodeNestedListsMemory(t *testing.T) {
	hostile.SkipUnderRace(t)
	p := append(append(append([]byte("\x80\x04"), bytes.Repeat([]byte("]"), 3_000_000)...),
		bytes.Repeat([]byte("a"), 3_000_000-1)...), '.')
	path := filepath.Join(t.TempDir(), "nested.pkl")
	if err := os.WriteFile(path, p, 0o600); err != nil {
		t.Fatal(err)
	}
	r := hostile.RunSelf(t, nil, 3*time.Minute, "reencode", "-o", os.DevNull, path)
	t.Logf("exit %d, peak RSS %.1f MiB, %v: %s", r.Code, float64(r.PeakRSS)/MiB, r.Elapsed.Round(time.Millisecond), r.Stderr)
	if r.Code != 1 || !strings.Contains(r.Stderr, "nesting deeper than") {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r.PeakRSS > 512*MiB {
		t.Errorf("peak RSS %d MiB, bound 512 MiB", r.PeakRSS/MiB)
	}
}
