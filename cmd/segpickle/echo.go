package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

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
	maxFrame := fs.Int64("max-frame", frame.DefaultMaxFrame, "largest frame accepted, in bytes")
	quiet := fs.Bool("quiet", false, "no log lines")
	if err := c.parse(0); err != nil {
		return err
	}
	if *mode != "raw" && *mode != "decode" {
		return usagef("--mode must be raw or decode, not %q", *mode)
	}
	ln, err := echo.Listen(*addr)
	if err != nil {
		return err
	}
	logger := log.New(c.stderr, "", log.LstdFlags)
	if *quiet {
		logger = log.New(io.Discard, "", 0)
	}
	// The first line tells scripts where we listen.
	fmt.Fprintf(c.stdout, "listening %s %s\n", ln.Addr().Network(), ln.Addr().String())
	if f, ok := c.stdout.(interface{ Flush() error }); ok {
		f.Flush()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &echo.Server{Mode: echo.Mode(*mode), MaxFrame: *maxFrame, Log: logger}
	err = srv.Serve(ctx, ln)
	logger.Printf("echo-server: stopped")
	return err
}
