package frame_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segpickle/segpickle/frame"
)

func pipePair(t *testing.T, network string) (net.Conn, net.Conn) {
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	c, err := net.Dial(network, ln.Addr().String())
	require.NoError(t, err)
	s := <-acc
	require.NotNil(t, s)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func TestRoundTripTCPAndUnix(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			c, s := pipePair(t, network)
			big := bytes.Repeat([]byte("B"), 3<<20)
			body := [][]byte{[]byte("\x80\x05"), big, []byte(".")}
			bufs := [][]byte{[]byte("oob-1"), {}, bytes.Repeat([]byte("o"), 70000)}
			go func() {
				for i := 0; i < 3; i++ {
					if _, err := frame.Write(c, body, bufs); err != nil {
						return
					}
				}
				c.Close()
			}()
			fr := frame.NewReader(s, 0)
			for i := 0; i < 3; i++ {
				f, err := fr.Read()
				require.NoError(t, err)
				require.Equal(t, bytes.Join(body, nil), f.Pickle)
				require.Len(t, f.Buffers, 3)
				for j := range bufs {
					require.Equal(t, bufs[j], []byte(f.Buffers[j]))
				}
				f.Release()
			}
			_, err := fr.Read()
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestBadFrames(t *testing.T) {
	good := frame.Header(10, []int{5})
	over := frame.Header(1<<40, nil)
	manyBufs := frame.Header(0, nil)
	binary.LittleEndian.PutUint32(manyBufs[4:], 1<<20)
	badVersion := frame.Header(1, nil)
	badVersion[2] = 9
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n"), frame.ErrBadMagic},
		{"bad version", badVersion, frame.ErrBadVersion},
		{"huge body", over, frame.ErrTooLarge},
		{"too many buffers", manyBufs, frame.ErrTooLarge},
		{"truncated header", good[:7], frame.ErrTruncated},
		{"truncated lengths", good[:20], frame.ErrTruncated},
		{"truncated body", append(append([]byte{}, good...), "abc"...), frame.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := frame.NewReader(bytes.NewReader(c.data), 1<<20).Read()
			require.ErrorIs(t, err, c.want)
		})
	}
	// A buffer length that pushes the total past the maximum.
	h := frame.Header(10, []int{1 << 30})
	_, err := frame.NewReader(bytes.NewReader(h), 1<<20).Read()
	require.ErrorIs(t, err, frame.ErrTooLarge)
}

func TestEmptyStreamIsEOF(t *testing.T) {
	_, err := frame.NewReader(bytes.NewReader(nil), 0).Read()
	require.ErrorIs(t, err, io.EOF)
}
