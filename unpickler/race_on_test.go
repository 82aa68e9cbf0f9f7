//go:build race

package unpickler

// raceEnabled: the race detector is on (tests that only repeat a check
// over more random inputs take fewer under it: it runs them 5-20x slower).
const raceEnabled = true
