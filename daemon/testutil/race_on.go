//go:build race

package testutil

// RaceEnabled: the race detector is on; its shadow memory grows with use,
// so process memory says nothing about leaks.
const RaceEnabled = true
