// Package testutil holds the helpers that the tests of every package share:
// waiting for a condition under a deadline (WaitFor), and the memory-leak
// harness (a test run again in a child process with its own environment,
// the resident set size, whether the race detector is on). Only _test.go
// files import it.
//
// It sits under daemon/ because the top-level folders are fixed by the
// design and an internal/ folder below one of them (daemon/internal) could
// not be imported by capture/ and display/ tests. It imports nothing of the
// project, so a capture or display test that uses it depends on no daemon
// code.
package testutil

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, and fails t (naming what it waited
// for) when limit passes first. It polls often at first and then every 50
// ms, so a cond that is quick to hold is seen at once and an expensive one
// (a status query) is not run in a tight loop.
func WaitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
