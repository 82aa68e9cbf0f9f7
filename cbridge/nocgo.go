//go:build !cgo

// Package main is the C ABI of segpickle, built with
// go build -buildmode=c-shared (see cbridge.go). It needs cgo: built
// without it (CGO_ENABLED=0, or a cross-compiler without a C toolchain),
// it is a program that says so, so that go build ./... and go vet ./...
// still work there.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "segpickle's C library needs cgo: build it with CGO_ENABLED=1 and go build -buildmode=c-shared ./cbridge")
	os.Exit(2)
}
