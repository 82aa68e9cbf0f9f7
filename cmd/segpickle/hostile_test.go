package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segpickle/segpickle/internal/hostile"
)

func TestMain(m *testing.M) {
	if hostile.IsChild() {
		if n := os.Getenv("SEGPICKLE_TEST_NOFILE"); n != "" { // a server short of descriptors
			lim, _ := strconv.ParseUint(n, 10, 64)
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
				panic(err)
			}
		}
		hostile.ChildMain(func() int { return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
	}
	os.Exit(m.Run())
}

const MiB = hostile.MiB

// sharedPickle is a protocol-4 list holding one memoized value n times
// (two bytes per reference): payload is the opcode and argument that push it.
func sharedPickle(payload []byte, n int) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x04")
	b.Write(payload)
	b.WriteString("q\x000](") // BINPUT 0, POP, EMPTY_LIST, MARK
	b.Write(bytes.Repeat([]byte("h\x00"), n))
	b.WriteString("e.") // APPENDS, STOP
	return b.Bytes()
}

func withLen4(op byte, body []byte) []byte {
	out := []byte{op, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(out[1:], uint32(len(body)))
	return append(out, body...)
}

// The CLI against inputs built to exhaust it: each case runs in a child
// process and is held to its exit status, message, peak memory (maximum
// resident set, from the kernel) and output size; a hang guard kills it.
// Times are reported (-v), not asserted; see the README's security section.
func TestHostileCLI(t *testing.T) {
	hostile.SkipUnderRace(t)
	dir := t.TempDir()
	long4 := append([]byte("\x80\x02"), withLen4(0x8b, bytes.Repeat([]byte{0x7f}, 16*MiB))...)
	long4 = append(long4, '.')
	files := map[string][]byte{
		// 30,000 MARKs: the indent used to grow by 4 spaces a level (1 GiB of output).
		"marks.pkl": append(bytes.Repeat([]byte("("), 30000), '.'),
		// 3M nested lists, 6 MB: the listing used to be kept in memory (770 MiB).
		"nested.pkl": append(append(append([]byte("\x80\x04"), bytes.Repeat([]byte("]"), 3_000_001)...),
			bytes.Repeat([]byte("a"), 3_000_000)...), '.'),
		// One 2 KiB str shared a million times: 2 GiB of JSON.
		"sharedstr.pkl": sharedPickle(withLen4('X', bytes.Repeat([]byte("s"), 2048)), 1_000_000),
		// One 64 KiB bytes shared 100,000 times (265 KB): 8.7 GB of base64.
		"sharedbytes.pkl": sharedPickle(withLen4('B', bytes.Repeat([]byte("b"), 64<<10)), 100_000),
		// A 16 MiB LONG4: 40 million decimal digits.
		"long4.pkl": long4,
		// A protocol-0 LONG of 16 Mi digits.
		"textlong.pkl": append(append([]byte("L"), bytes.Repeat([]byte("7"), 16*MiB)...), "L\n."...),
		// A JSON number of 4,000,000 digits (22 s before), and a float of as many.
		"bigint.json":   bytes.Repeat([]byte("7"), 4_000_000),
		"bigfloat.json": append(bytes.Repeat([]byte("7"), 4_000_000), ".5"...),
		// JSON nested 5,000,000 deep (a stack overflow before).
		"deep.json": append(bytes.Repeat([]byte("["), 5_000_000), bytes.Repeat([]byte("]"), 5_000_000)...),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name      string
		args      []string
		wantCode  int
		wantErr   string // in stderr
		maxRSS    int64
		maxOutput int64
	}{
		{"dis 30,000 MARKs", []string{"dis", "marks.pkl"}, 0, "", 32 * MiB, 8 * MiB},
		{"dis 3M nested lists", []string{"dis", "nested.pkl"}, 0, "", 48 * MiB, 512 * MiB},
		{"json 2 KiB str shared 1M times", []string{"json", "sharedstr.pkl"}, 1, "--max-output limit", 128 * MiB, defaultMaxOutput},
		{"json 64 KiB bytes shared 100k times", []string{"json", "--max-output", "10000000", "sharedbytes.pkl"}, 1, "--max-output limit of 10000000", 32 * MiB, 10_000_000},
		{"dis 16 MiB LONG4", []string{"dis", "long4.pkl"}, 0, "", 64 * MiB, 4096},
		{"json 16 MiB LONG4", []string{"json", "long4.pkl"}, 1, "limit (4300 digits)", 112 * MiB, 0},
		{"reencode 16 MiB LONG4", []string{"reencode", "-o", os.DevNull, "long4.pkl"}, 0, "", 112 * MiB, 0},
		{"reencode 16 MiB LONG4 to protocol 0", []string{"reencode", "--protocol", "0", "-o", os.DevNull, "long4.pkl"}, 1, "4300", 112 * MiB, 0},
		{"dis 16 MiB text LONG", []string{"dis", "textlong.pkl"}, 1, "line over 16777216 bytes", 96 * MiB, 4096},
		{"json 16 MiB text LONG", []string{"json", "textlong.pkl"}, 1, "bad LONG", 128 * MiB, 0},
		{"encode 4M-digit int", []string{"encode", "-o", os.DevNull, "bigint.json"}, 1, "limit (4300 digits)", 48 * MiB, 0},
		{"encode 4M-digit float", []string{"encode", "-o", os.DevNull, "bigfloat.json"}, 0, "", 48 * MiB, 0},
		{"encode JSON nested 5M deep", []string{"encode", "-o", os.DevNull, "deep.json"}, 1, "nesting deeper than 10000", 48 * MiB, 0}, // the 10 MB input is read whole, plus the test binary itself
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string(nil), tc.args...)
			args[len(args)-1] = filepath.Join(dir, args[len(args)-1])
			r := hostile.RunSelf(t, nil, 2*time.Minute, args...)
			t.Logf("exit %d, peak RSS %.1f MiB, %d bytes out, %v", r.Code, float64(r.PeakRSS)/MiB, r.Stdout, r.Elapsed.Round(time.Millisecond))
			if r.Code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", r.Code, tc.wantCode, r.Stderr)
			}
			if !strings.Contains(r.Stderr, tc.wantErr) || (tc.wantErr == "" && r.Stderr != "") {
				t.Errorf("stderr %q, want %q", r.Stderr, tc.wantErr)
			}
			if strings.Count(strings.TrimSpace(r.Stderr), "\n") > 0 {
				t.Errorf("stderr is not one line: %q", r.Stderr)
			}
			if r.PeakRSS > tc.maxRSS {
				t.Errorf("peak RSS %d MiB, bound %d MiB", r.PeakRSS/MiB, tc.maxRSS/MiB)
			}
			if r.Stdout > tc.maxOutput {
				t.Errorf("%d bytes of output, bound %d", r.Stdout, tc.maxOutput)
			}
		})
	}
}
