package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestOutputIsNotTheInput: -o naming the input file (by any path to it)
// is a usage error and leaves the file as it was. Before, the output was
// opened with O_TRUNC first (reencode, dis, json) or before the input was
// read (encode): `segpickle reencode -o f.pkl f.pkl` emptied f.pkl and
// then failed on the empty input.
func TestOutputIsNotTheInput(t *testing.T) {
	dir := t.TempDir()
	pkl := filepath.Join(dir, "f.pkl")
	doc := filepath.Join(dir, "f.json")
	want := samplePickle(t)
	for _, c := range []struct {
		cmd, file string
		data      []byte
	}{
		{"reencode", pkl, want}, {"dis", pkl, want}, {"json", pkl, want}, {"encode", doc, []byte(`{"a": [1, 2]}`)},
	} {
		if err := os.WriteFile(c.file, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		other := filepath.Join(dir, ".", filepath.Base(c.file)) // another spelling of the same file
		for _, out := range []string{c.file, other} {
			code, _, errs := runCLI(t, nil, c.cmd, "-o", out, c.file)
			if code != exitUsage {
				t.Errorf("%s -o %s %s: exit %d (%q), want %d", c.cmd, out, c.file, code, errs, exitUsage)
			}
			got, err := os.ReadFile(c.file)
			if err != nil || !bytes.Equal(got, c.data) {
				t.Errorf("%s -o %s %s: the input is now %q (%v)", c.cmd, out, c.file, got, err)
			}
		}
		// Another output file still works.
		if code, _, errs := runCLI(t, nil, c.cmd, "-o", filepath.Join(dir, "out"), c.file); code != exitOK {
			t.Errorf("%s -o out: exit %d, %q", c.cmd, code, errs)
		}
	}
}
