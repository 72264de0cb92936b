//go:build !race

package testutil

// RaceEnabled: the race detector is off.
const RaceEnabled = false
