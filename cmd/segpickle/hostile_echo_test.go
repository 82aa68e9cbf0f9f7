package main

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/internal/hostile"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/unpickler"
)

// echoOnce sends v in a frame on a new connection and checks the reply.
func echoOnce(network, addr string, v string) error {
	c, err := net.DialTimeout(network, addr, 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	data, err := pickler.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := frame.Write(c, [][]byte{data}, nil); err != nil {
		return err
	}
	f, err := frame.NewReader(c, 0).Read()
	if err != nil {
		return err
	}
	defer f.Release()
	got, err := unpickler.Load(f.Pickle)
	if err != nil {
		return err
	}
	if got != v {
		return fmt.Errorf("echoed %v, want %v", got, v)
	}
	return nil
}

// The echo server against hostile clients, in a child process held to
// peak memory bounds (resident set, and the Go heap's address space, which
// counts buffers allocated but never written).
func TestHostileEchoServer(t *testing.T) {
	hostile.SkipUnderRace(t)

	t.Run("1800 connections each declaring a 1 GiB frame", func(t *testing.T) {
		srv := hostile.StartSelf(t, nil, "echo-server", "--quiet")
		hdr := frame.Header(1<<30-64, nil) // 16 bytes, within the 1 GiB maximum
		var conns []net.Conn
		for range 1800 {
			c, err := net.Dial(srv.Network, srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			if _, err := c.Write(hdr); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second) // let the server read what it can (29 KB in all)
		for _, c := range conns {
			c.Close()
		}
		if err := echoOnce(srv.Network, srv.Addr, "after"); err != nil {
			t.Fatalf("server no longer serves: %v", err)
		}
		r := srv.Stop(t, 30*time.Second)
		t.Logf("peak RSS %.1f MiB, Go heap %.1f MiB", float64(r.PeakRSS)/MiB, float64(r.HeapSys)/MiB)
		if r.PeakRSS > 96*MiB || r.HeapSys > 96*MiB {
			t.Errorf("peak RSS %d MiB, heap %d MiB: bound 96 MiB", r.PeakRSS/MiB, r.HeapSys/MiB)
		}
	})

	t.Run("--max-frame 64GiB and a header declaring 60 GiB", func(t *testing.T) {
		srv := hostile.StartSelf(t, nil, "echo-server", "--quiet", "--max-frame", "64GiB")
		c, err := net.Dial(srv.Network, srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(frame.Header(min(math.MaxInt, 60<<30), nil))
		c.Write(make([]byte, 100<<10))
		time.Sleep(200 * time.Millisecond)
		c.Close()
		if err := echoOnce(srv.Network, srv.Addr, "after"); err != nil {
			t.Fatalf("server no longer serves: %v", err)
		}
		r := srv.Stop(t, 30*time.Second)
		t.Logf("peak RSS %.1f MiB, Go heap %.1f MiB", float64(r.PeakRSS)/MiB, float64(r.HeapSys)/MiB)
		if r.PeakRSS > 48*MiB || r.HeapSys > 48*MiB {
			t.Errorf("peak RSS %d MiB, heap %d MiB: bound 48 MiB", r.PeakRSS/MiB, r.HeapSys/MiB)
		}
	})

	t.Run("128 file descriptors and 200 clients", func(t *testing.T) {
		srv := hostile.StartSelf(t, []string{"SEGPICKLE_TEST_NOFILE=128"}, "echo-server")
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- echoOnce(srv.Network, srv.Addr, fmt.Sprint("client ", i))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a client failed: %v; server log %q", err, srv.Stderr())
			}
		}
		r := srv.Stop(t, 30*time.Second)
		if r.Code != 0 {
			t.Errorf("exit %d: %q", r.Code, r.Stderr)
		}
		if !bytes.Contains([]byte(r.Stderr), []byte("too many open files")) {
			t.Logf("the server never ran out of descriptors (log %q)", r.Stderr)
		}
	})

	t.Run("decode mode: a str shared a million times", func(t *testing.T) {
		srv := hostile.StartSelf(t, nil, "echo-server", "--mode", "decode", "--max-frame", "16MiB")
		c, err := net.Dial(srv.Network, srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// 2 MB in, 63 MB out: a str under 64 bytes is written at each
		// reference (a longer one, reached again through one Go string, is
		// written once: 1,000 bytes shared a million times is 2 MB out).
		p := sharedPickle(withLen4('X', bytes.Repeat([]byte("s"), 60)), 1_000_000)
		if _, err := frame.Write(c, [][]byte{p}, nil); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		if _, err := frame.NewReader(c, 0).Read(); err == nil {
			t.Fatal("got a reply, want the connection dropped")
		}
		if err := echoOnce(srv.Network, srv.Addr, "after"); err != nil {
			t.Fatalf("server no longer serves: %v", err)
		}
		r := srv.Stop(t, 30*time.Second)
		t.Logf("peak RSS %.1f MiB, Go heap %.1f MiB", float64(r.PeakRSS)/MiB, float64(r.HeapSys)/MiB)
		if !bytes.Contains([]byte(r.Stderr), []byte("reply would exceed the maximum frame or 64x the request")) {
			t.Errorf("log %q", r.Stderr)
		}
		if r.PeakRSS > 128*MiB {
			t.Errorf("peak RSS %d MiB: bound 128 MiB", r.PeakRSS/MiB)
		}
	})
}
