package status

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

func TestPythonTableUpToDate(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(PythonPath)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Python()) {
		t.Fatalf("%s is stale: run go generate ./internal/status", PythonPath)
	}
}

func TestTableCodesUnique(t *testing.T) {
	seen := map[int]bool{}
	names := map[string]bool{}
	for _, s := range Table {
		if seen[s.Code] || names[s.Name] {
			t.Errorf("duplicate %d %q", s.Code, s.Name)
		}
		seen[s.Code], names[s.Name] = true, true
	}
	for _, c := range []int{OK, Unpickling, EOF, Value, Type, Pickling, Argument, IO, Internal, Handle} {
		if !seen[c] {
			t.Errorf("code %d missing from Table", c)
		}
	}
	for _, c := range UnpicklingCauses {
		if !seen[c.Code] {
			t.Errorf("cause %v maps to %d, not in Table", c.Err, c.Code)
		}
	}
}

func TestOf(t *testing.T) {
	decode := func(p string) error {
		var v any
		return unpickler.Unmarshal([]byte(p), &v)
	}
	_, perr := pickler.Marshal(make(chan int))
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"no STOP (CPython: EOFError)", decode("\x80\x05K\x01"), EOF},
		{"empty (CPython: EOFError)", decode(""), EOF},
		{"inside an opcode (CPython: UnpicklingError)", decode("\x80\x05J\x01"), Unpickling},
		{"truncated frame", decode("\x80\x05\x95\x10\x00\x00\x00\x00\x00\x00\x00K"), Unpickling},
		{"unknown opcode", decode("\xff"), Unpickling},
		{"unhashable", decode("\x80\x05}]K\x01s."), Type},
		{"pickling", perr, Pickling},
		{"argument", fmt.Errorf("x: %w", ErrArgument), Argument},
		{"handle", ErrHandle, Handle},
		{"errno", syscall.EBADF, IO},
		{"other", errors.New("boom"), Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Errorf("Of(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
