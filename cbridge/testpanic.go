//go:build cgo

package main

import "os"

// panicOnCall is set when the library is loaded with SEGPICKLE_TEST_PANIC=1
// in the environment: every export that returns a status then panics right
// after its guard is in place, so a test (tests/test_cabi.py) can check that
// each one recovers and returns codeInternal with a message. Nothing else
// reads it; unset, it costs one branch per call.
var panicOnCall = os.Getenv("SEGPICKLE_TEST_PANIC") == "1"

// injected panics when panicOnCall is set; every guarded export calls it
// first, with its own name.
func injected(export string) {
	if panicOnCall {
		panic("injected panic in " + export + " (SEGPICKLE_TEST_PANIC=1)")
	}
}
