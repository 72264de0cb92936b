package sched

import (
	"runtime"
	"testing"
)

// TestBackground lowers a goroutine's thread by BackgroundNice and leaves
// the threads of other goroutines alone.
func TestBackground(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread priorities are Linux's")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := Nice()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		set, seen int
		err       error
	}
	got := make(chan result)
	go func() {
		set, err := Background()
		seen, _ := Nice()
		got <- result{set, seen, err}
	}()
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := min(before+BackgroundNice, 19); r.set != want || r.seen != want {
		t.Fatalf("background thread: nice %d (seen %d), want %d", r.set, r.seen, want)
	}
	if after, _ := Nice(); after != before {
		t.Fatalf("this test's own thread went from nice %d to %d", before, after)
	}
}
