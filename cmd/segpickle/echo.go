package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/segpickle/segpickle/frame"
	"github.com/segpickle/segpickle/internal/echo"
)

func init() {
	register(command{"echo-server", "--listen ADDR [--mode raw|decode] [flags]",
		"serve frames back: ADDR is host:port or unix:/path", runEcho})
}

func runEcho(c *call) error {
	fs := c.flags()
	addr := fs.String("listen", "127.0.0.1:0", "address: host:port, or unix:/path")
	mode := fs.String("mode", "raw", "raw: echo frames as received; decode: Go unpickle + Go pickle")
	maxFrame := sizeFlag(frame.DefaultMaxFrame)
	fs.Var(&maxFrame, "max-frame", fmt.Sprintf("largest frame accepted or sent, `SIZE` in bytes (e.g. 64MiB; range 1KiB to 1TiB)"))
	maxConns := fs.Int("max-conns", echo.DefaultMaxConns, "connections served at once; more wait in the backlog")
	idle := fs.Duration("idle-timeout", echo.DefaultIdleTimeout, "drop a connection silent this long between frames (0: never)")
	readT := fs.Duration("read-timeout", echo.DefaultReadTimeout, "drop a connection that takes this long to send one frame (0: never)")
	writeT := fs.Duration("write-timeout", echo.DefaultWriteTimeout, "drop a connection that takes this long to take one reply (0: never)")
	sockMode := fs.String("socket-mode", "0600", "permissions of a Unix socket file (octal)")
	quiet := fs.Bool("quiet", false, "no log lines")
	if err := c.parse(0); err != nil {
		return err
	}
	if *mode != "raw" && *mode != "decode" {
		return usagef("--mode must be raw or decode, not %q", *mode)
	}
	if m := int64(maxFrame); m < echo.MinMaxFrame || m > echo.MaxMaxFrame {
		return usagef("--max-frame %d: range is [%d, %d]", m, int64(echo.MinMaxFrame), int64(echo.MaxMaxFrame))
	}
	if *maxConns < 1 {
		return usagef("--max-conns %d: at least 1", *maxConns)
	}
	perm, err := strconv.ParseUint(*sockMode, 8, 32)
	if err != nil || perm > 0o777 {
		return usagef("--socket-mode %q: want octal permissions such as 0600 or 0660", *sockMode)
	}
	for _, d := range []*time.Duration{idle, readT, writeT} {
		if *d < 0 {
			return usagef("timeouts are durations such as 30s or 5m (0: none), not %v", *d)
		}
		if *d == 0 {
			*d = -1 // the server's "none"
		}
	}
	srv := &echo.Server{Mode: echo.Mode(*mode), MaxFrame: int64(maxFrame), MaxConns: *maxConns,
		IdleTimeout: *idle, ReadTimeout: *readT, WriteTimeout: *writeT}
	if err := srv.Validate(); err != nil {
		return &usageError{err.Error()}
	}
	ln, err := echo.ListenMode(*addr, os.FileMode(perm))
	if err != nil {
		return err
	}
	logger := log.New(c.stderr, "", log.LstdFlags)
	if *quiet {
		logger = log.New(io.Discard, "", 0)
	}
	srv.Log = logger
	// The first line tells scripts where we listen.
	fmt.Fprintf(c.stdout, "listening %s %s\n", ln.Addr().Network(), ln.Addr().String())
	if f, ok := c.stdout.(interface{ Flush() error }); ok {
		f.Flush()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = srv.Serve(ctx, ln)
	logger.Printf("echo-server: stopped")
	return err
}
