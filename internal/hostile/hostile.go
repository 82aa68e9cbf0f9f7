// Package hostile holds what the hostile-input suites share: running a
// program in a child process with a hang guard, and reading the child's
// peak memory (its maximum resident set, from the kernel) so that a case
// can say "at most N MiB" without sampling.
package hostile

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MiB is 2^20 bytes.
const MiB = 1 << 20

// Result is what a child did.
type Result struct {
	Code    int           // exit status (-1 when killed)
	Stderr  string        // its stderr (the first 64 KiB)
	Stdout  int64         // bytes written to stdout (not kept)
	PeakRSS int64         // maximum resident set, bytes
	Elapsed time.Duration // wall time
}

// SkipUnderRace skips t when the race detector is on: it multiplies memory
// and time, so the bounds these suites check mean nothing there. `make test`
// runs them in a pass of their own without -race.
func SkipUnderRace(t testing.TB) {
	if RaceEnabled {
		t.Skip("hostile bounds are measured without -race (the race detector multiplies memory and time); make test runs them separately")
	}
}

// countWriter counts and discards.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// limitedBuffer keeps the first 64 KiB.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// RunSelf runs this test binary again as the program under test: the
// child's TestMain sees SEGPICKLE_HOSTILE_CHILD=1 and runs the program's
// main with args. stdin is the child's input; guard is the hang guard
// (the child is killed after it and the test fails).
func RunSelf(t testing.TB, stdin io.Reader, guard time.Duration, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	hwm, err := os.CreateTemp("", "hostile-hwm")
	if err != nil {
		t.Fatal(err)
	}
	hwm.Close()
	defer os.Remove(hwm.Name())
	cmd.Env = append(os.Environ(), "SEGPICKLE_HOSTILE_CHILD=1", "SEGPICKLE_HOSTILE_HWM="+hwm.Name())
	cmd.Stdin = stdin
	var out countWriter
	var errb limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	r := Result{Code: -1, Stdout: out.n, Stderr: errb.String(), Elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after %v (hang guard)", args, guard)
	}
	if cmd.ProcessState == nil {
		t.Fatalf("%v: %v", args, err)
	}
	r.Code = cmd.ProcessState.ExitCode()
	// The kernel's ru_maxrss of a child counts the parent's peak too (the
	// child shares its memory until exec), so the child reports its own.
	b, _ := os.ReadFile(hwm.Name())
	if r.PeakRSS, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
		t.Fatalf("%v: no peak memory reported (%q)", args, b)
	}
	return r
}

// IsChild reports whether this process is a child started by RunSelf.
func IsChild() bool { return os.Getenv("SEGPICKLE_HOSTILE_CHILD") == "1" }

// ChildMain runs main in a child started by RunSelf, records the process's
// peak resident set (VmHWM) for the parent and exits with main's status.
func ChildMain(main func() int) {
	code := main()
	if path := os.Getenv("SEGPICKLE_HOSTILE_HWM"); path != "" {
		os.WriteFile(path, []byte(strconv.FormatInt(PeakRSS(), 10)), 0o600)
	}
	os.Exit(code)
}

// PeakRSS is this process's peak resident set in bytes (VmHWM), or -1.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return -1
}
