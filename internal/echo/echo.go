// Package echo is the echo server behind `segpickle echo-server`: it reads
// frames and sends each back, either as received (raw) or decoded with the
// Go unpickler and re-encoded with the Go pickler (decode), so that the Go
// codec is on the path.
package echo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/segments"
	"github.com/segpickle/segpickle/unpickler"
)

// Mode says what the server does with a frame.
type Mode string

// The modes.
const (
	Raw    Mode = "raw"
	Decode Mode = "decode"
)

// Server serves echo connections.
type Server struct {
	Mode     Mode
	MaxFrame int64
	Log      *log.Logger

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen opens addr: "unix:/path", a path with a slash, or host:port (TCP).
func Listen(addr string) (net.Listener, error) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		return net.Listen("unix", p)
	}
	if strings.Contains(addr, "/") {
		return net.Listen("unix", addr)
	}
	return net.Listen("tcp", addr)
}

// Serve accepts connections until ctx is done, then closes the listener,
// closes the connections still open and waits for their handlers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Mode != Raw && s.Mode != Decode {
		return fmt.Errorf("echo: unknown mode %q (raw or decode)", s.Mode)
	}
	if s.Log == nil {
		s.Log = log.New(io.Discard, "", 0)
	}
	s.conns = map[net.Conn]struct{}{}
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		ln.Close()
	}()
	defer close(stop)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.shutdown()
			return err
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.handle(c)
	}
	s.shutdown()
	return nil
}

func (s *Server) shutdown() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) handle(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	peer := c.RemoteAddr().String()
	fr := frame.NewReader(c, s.MaxFrame)
	var out segments.List
	defer out.Release()
	for {
		f, err := fr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			s.Log.Printf("echo: dropping %s: %v", peer, err)
			return
		}
		err = s.reply(c, f, &out)
		f.Release()
		out.Reset()
		if err != nil {
			s.Log.Printf("echo: dropping %s: %v", peer, err)
			return
		}
	}
}

func (s *Server) reply(c net.Conn, f *frame.Frame, out *segments.List) error {
	if s.Mode == Raw {
		_, err := segments.WriteBuffers(c, [][]byte{f.Raw})
		return err
	}
	v, err := unpickler.Load(f.Pickle, unpickler.Buffers(f.Buffers...), unpickler.ZeroCopy(true))
	if err != nil {
		return err
	}
	// Buffers that came out of band go back out of band.
	var oob [][]byte
	err = pickler.EncodeTo(out, v, pickler.BufferCallback(func(b py.PickleBuffer) bool {
		oob = append(oob, b.Data)
		return false
	}))
	if err != nil {
		return err
	}
	_, err = frame.WriteList(c, out, oob)
	return err
}
