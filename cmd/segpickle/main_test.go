package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/pickler"
)

// runCLI runs the CLI in process and returns its exit status and streams.
func runCLI(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func samplePickle(t *testing.T) []byte {
	b, err := pickler.Marshal(map[string]any{"k": []any{int64(1), "x"}}, pickler.Protocol(2))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every command answers -h and --help with its usage and flags, exit 0.
func TestHelpEveryCommand(t *testing.T) {
	for _, c := range commands {
		for _, h := range []string{"-h", "--help"} {
			code, out, errs := runCLI(t, nil, c.name, h)
			if code != exitOK {
				t.Errorf("%s %s: exit %d, stderr %q", c.name, h, code, errs)
			}
			if !strings.Contains(out, "usage: segpickle "+c.name) {
				t.Errorf("%s %s: no usage line in %q", c.name, h, out)
			}
			if c.name != "dis" && !strings.Contains(out, "-o") && !strings.Contains(out, "-listen") {
				t.Errorf("%s %s: no flags listed in %q", c.name, h, out)
			}
		}
	}
	code, out, _ := runCLI(t, nil, "--help")
	if code != exitOK || !strings.Contains(out, "encode") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, nil, "--version")
	if code != exitOK || out != "segpickle "+version+"\n" {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

// Exit statuses: 0 success, 1 bad data, 2 bad usage.
func TestExitCodes(t *testing.T) {
	good := samplePickle(t)
	cases := []struct {
		name  string
		stdin []byte
		args  []string
		want  int
	}{
		{"ok", good, []string{"json"}, exitOK},
		{"bad data", []byte("\x80\x05K"), []string{"json"}, exitData},
		{"bad JSON", []byte("{"), []string{"encode", "-o", os.DevNull}, exitData},
		{"unknown command", nil, []string{"frobnicate"}, exitUsage},
		{"no command", nil, nil, exitUsage},
		{"bad flag", good, []string{"json", "--bogus"}, exitUsage},
		{"bad flag value", good, []string{"reencode", "--protocol", "x"}, exitUsage},
		{"protocol out of range", []byte("1"), []string{"encode", "--protocol", "9"}, exitUsage},
		{"extra argument", good, []string{"dis", "a", "b"}, exitUsage},
		{"argument to encode", nil, []string{"encode", "a", "b"}, exitUsage},
		{"argument to echo-server", nil, []string{"echo-server", "x"}, exitUsage},
		{"bad mode", nil, []string{"echo-server", "--mode", "x"}, exitUsage},
		{"missing file", nil, []string{"dis", filepath.Join(t.TempDir(), "none.pkl")}, exitData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tc.stdin, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.want, errs)
			}
			if code != exitOK && errs == "" {
				t.Error("no message on stderr")
			}
		})
	}
}

// dis, json and reencode read a file argument; "-" is stdin.
func TestFileArgument(t *testing.T) {
	good := samplePickle(t)
	path := filepath.Join(t.TempDir(), "k.pkl")
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"dis", "json", "reencode"} {
		_, fromStdin, _ := runCLI(t, good, cmd, "-")
		code, fromFile, errs := runCLI(t, []byte("not read"), cmd, path)
		if code != exitOK || fromFile != fromStdin || fromFile == "" {
			t.Errorf("%s FILE: exit %d (%q), output %q, from stdin %q", cmd, code, errs, fromFile, fromStdin)
		}
	}
	_, out, _ := runCLI(t, nil, "json", path)
	if out != `{"k":[1,"x"]}`+"\n" {
		t.Errorf("json FILE: %q", out)
	}
}

// Binary output is refused on a terminal (as gzip does) unless -o names a
// file; text output is not.
func TestBinaryToTerminal(t *testing.T) {
	defer func(f func(io.Writer) bool) { isTerminal = f }(isTerminal)
	isTerminal = func(io.Writer) bool { return true }
	good := samplePickle(t)
	for _, args := range [][]string{{"reencode"}, {"encode"}} {
		in := good
		if args[0] == "encode" {
			in = []byte(`{"a": 1}`)
		}
		code, out, errs := runCLI(t, in, args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, "terminal") {
			t.Errorf("%v to a terminal: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
		path := filepath.Join(t.TempDir(), "out.pkl")
		code, out, errs = runCLI(t, in, append(args, "-o", path)...)
		written, _ := os.ReadFile(path)
		if code != exitOK || out != "" || len(written) == 0 || written[len(written)-1] != '.' {
			t.Errorf("%v -o FILE: exit %d, stdout %q, stderr %q, file %q", args, code, out, errs, written)
		}
	}
	if code, out, _ := runCLI(t, good, "dis"); code != exitOK || !strings.Contains(out, "STOP") {
		t.Errorf("dis to a terminal: exit %d, %q", code, out)
	}
}

func TestTerminalDetection(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fileIsTerminal(f) {
		t.Error("the null device is not a terminal")
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"65536": 65536, "64KiB": 64 << 10, "64K": 64 << 10, "1GiB": 1 << 30,
		"64GiB": 64 << 30, "2MB": 2 << 20, "1T": 1 << 40, "0": 0} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1.5G", "99999999999T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
	s := sizeFlag(256 << 20)
	if s.String() != "256MiB" {
		t.Errorf("String() = %q", s.String())
	}
	if code, _, errs := runCLI(t, nil, "echo-server", "--max-frame", "10"); code != exitUsage || !strings.Contains(errs, "range") {
		t.Errorf("--max-frame 10: exit %d, %q", code, errs)
	}
}

// A command that fails leaves no -o file behind.
func TestFailedOutputRemoved(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.json")
	code, _, _ := runCLI(t, []byte("\x80\x05]K"), "json", "-o", out)
	if code != exitData {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-o file left after a failure: %v", err)
	}
}

// A failure never removes an -o file that was there before: not a device
// (an earlier version removed /dev/null), not the user's file.
func TestFailedOutputKeepsExistingFiles(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "mine.json")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{os.DevNull, existing} {
		code, _, _ := runCLI(t, []byte("\x80\x05]K"), "json", "-o", out)
		if code != exitData {
			t.Fatalf("exit %d", code)
		}
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatalf("%s removed after a failure: %v", out, err)
		}
		if out == os.DevNull && fi.Mode()&os.ModeDevice == 0 {
			t.Fatalf("%s is no longer a device: %v", out, fi.Mode())
		}
	}
}
