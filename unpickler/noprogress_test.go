package unpickler_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/segpickle/segpickle/unpickler"
)

// stuckReader gives its bytes, then (0, nil) forever.
type stuckReader struct {
	data  []byte
	reads int
}

func (r *stuckReader) Read(p []byte) (int, error) {
	r.reads++
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// A reader that returns (0, nil) forever makes the Decoder give up with
// io.ErrNoProgress, as bufio does, instead of spinning.
func TestDecoderNoProgress(t *testing.T) {
	big := []byte{0x80, 5, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint64(big[3:], 1<<20)
	big = append(big, bytes.Repeat([]byte("x"), 200<<10)...)
	cases := map[string][]byte{
		"nothing":                 nil,
		"after PROTO":             {0x80, 5},
		"inside a BINBYTES8 read": big,
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			r := &stuckReader{data: data}
			done := make(chan error, 1)
			go func() {
				var v any
				done <- unpickler.NewDecoder(r).Decode(&v)
			}()
			select {
			case err := <-done:
				if !errors.Is(err, io.ErrNoProgress) {
					t.Fatalf("got %v, want io.ErrNoProgress", err)
				}
				var ue *unpickler.Error
				if len(data) > 0 && !errors.As(err, &ue) {
					t.Errorf("got %T, want an *unpickler.Error that says where", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Decode still spinning after 10 s (hang guard)")
			}
		})
	}
}
