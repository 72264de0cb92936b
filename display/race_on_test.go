//go:build race

package display

// raceEnabled: the race detector is on; its shadow memory grows with use,
// so process memory says nothing about leaks.
const raceEnabled = true
