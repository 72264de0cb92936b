package testutil

import (
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitFor(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 5 {
			time.Sleep(time.Millisecond)
			n.Add(1)
		}
	}()
	WaitFor(t, "five increments", 10*time.Second, func() bool { return n.Load() == 5 })
}

// TestWaitForTimesOut runs WaitFor on a condition that never holds and
// expects it to fail the test.
func TestWaitForTimesOut(t *testing.T) {
	ft := &fakeT{TB: t}
	func() {
		defer func() { _ = recover() }()
		WaitFor(ft, "never", 30*time.Millisecond, func() bool { return false })
	}()
	if !ft.failed {
		t.Error("WaitFor on a condition that never holds did not fail the test")
	}
}

// fakeT records Fatalf and stops the caller as testing.T does, by panicking
// (recovered by the test).
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}

func TestRSS(t *testing.T) {
	before := RSS(t)
	keep := make([]byte, 64<<20)
	for i := range keep {
		keep[i] = 1
	}
	after := RSS(t)
	if after-before < 32<<20 {
		t.Errorf("RSS grew by %d bytes after touching 64 MB, want at least 32 MB", after-before)
	}
	runtime.KeepAlive(keep)
}

func TestRunInChild(t *testing.T) {
	if InChild() {
		if os.Getenv("CHILD_WANT") != "yes" {
			t.Fatal("the child did not get its environment")
		}
		t.Log("RSS line passed up")
		return
	}
	RunInChild(t, "TestRunInChild", "CHILD_WANT=yes")
}
