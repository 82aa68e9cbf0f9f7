// Package hostile holds what the hostile-input suites share: running a
// program in a child process with a hang guard, and reading the child's
// peak memory (its maximum resident set, from the kernel) so that a case
// can say "at most N MiB" without sampling.
package hostile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MiB is 2^20 bytes.
const MiB = 1 << 20

// Result is what a child did.
type Result struct {
	Code    int    // exit status (-1 when killed)
	Stderr  string // its stderr (the first 64 KiB)
	Stdout  int64  // bytes written to stdout (not kept)
	PeakRSS int64  // maximum resident set, bytes
	// HeapSys is the Go heap's address space at exit, bytes: it never
	// shrinks, so it is the peak heap, touched or not (a large buffer
	// that was allocated but never written does not count in PeakRSS).
	HeapSys int64
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

// limitedBuffer keeps the first 64 KiB; safe for concurrent use.
type limitedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 64<<10 - b.b.Len(); room > 0 {
		b.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
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
	if !readPeak(hwm.Name(), &r) {
		t.Fatalf("%v: no peak memory reported; stderr %q", args, r.Stderr)
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
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		os.WriteFile(path, []byte(fmt.Sprintf("%d %d", PeakRSS(), ms.HeapSys)), 0o600)
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

// Child is a program under test started by StartSelf.
type Child struct {
	cmd    *exec.Cmd
	hwm    string
	stderr *limitedBuffer
	start  time.Time
	// Addr is the address from the child's first stdout line,
	// "listening NETWORK ADDR".
	Network, Addr string
}

// StartSelf starts this test binary as a server (see RunSelf) and waits for
// its "listening NETWORK ADDR" line. extraEnv is added to its environment.
func StartSelf(t testing.TB, extraEnv []string, args ...string) *Child {
	t.Helper()
	hwm, err := os.CreateTemp("", "hostile-hwm")
	if err != nil {
		t.Fatal(err)
	}
	hwm.Close()
	t.Cleanup(func() { os.Remove(hwm.Name()) })
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "SEGPICKLE_HOSTILE_CHILD=1", "SEGPICKLE_HOSTILE_HWM="+hwm.Name()), extraEnv...)
	errb := &limitedBuffer{}
	cmd.Stderr = errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{cmd: cmd, hwm: hwm.Name(), stderr: errb, start: time.Now()}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		var b []byte
		one := make([]byte, 1)
		for {
			if n, err := out.Read(one); n == 0 || err != nil || one[0] == '\n' {
				break
			}
			b = append(b, one[0])
		}
		line <- string(b)
		io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "listening" {
			t.Fatalf("%v: first line %q, stderr %q", args, l, errb.String())
		}
		c.Network, c.Addr = f[1], f[2]
	case <-time.After(30 * time.Second):
		t.Fatalf("%v: no listening line after 30 s", args)
	}
	return c
}

// Stop sends SIGTERM, waits (killing after guard) and returns the result.
func (c *Child) Stop(t testing.TB, guard time.Duration) Result {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(guard):
		c.cmd.Process.Kill()
		<-done
		t.Fatalf("still running %v after SIGTERM (hang guard)", guard)
	}
	r := Result{Code: c.cmd.ProcessState.ExitCode(), Stderr: c.stderr.String(), Elapsed: time.Since(c.start)}
	if !readPeak(c.hwm, &r) {
		t.Fatalf("no peak memory reported; stderr %q", r.Stderr)
	}
	return r
}

// Stderr is what the child wrote to stderr so far (the first 64 KiB).
func (c *Child) Stderr() string { return c.stderr.String() }

// readPeak reads what ChildMain recorded.
func readPeak(path string, r *Result) bool {
	b, _ := os.ReadFile(path)
	_, err := fmt.Sscanf(string(b), "%d %d", &r.PeakRSS, &r.HeapSys)
	return err == nil
}
