//go:build race

package hostile

// RaceEnabled is true in a -race build.
const RaceEnabled = true
