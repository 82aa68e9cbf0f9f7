//go:build !race

package pickler

const raceEnabled = false
