//go:build !race

package unpickler

const raceEnabled = false
