package sched

import (
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"
)

// fakeSet records the priorities a Realtime sets, failing with err.
type fakeSet struct {
	calls []int
	err   error
}

func (f *fakeSet) set(prio int) error {
	f.calls = append(f.calls, prio)
	return f.err
}

// TestRealtimeLowersWhenBusy: a loop busy past the budget without catching
// up is lowered once, stays low through its rest even if it catches up,
// and is raised at the first catch-up after the rest.
func TestRealtimeLowersWhenBusy(t *testing.T) {
	f := &fakeSet{}
	done := make(chan struct{})
	go func() { // LockRealtime locks the goroutine's thread: not the test's
		defer close(done)
		t0 := time.Unix(1000, 0)
		procs := runtime.GOMAXPROCS(0)
		r := lockRealtime(2, 20*time.Millisecond, 500*time.Millisecond, f.set)
		if got := runtime.GOMAXPROCS(0); got != procs+1 {
			t.Errorf("GOMAXPROCS %d with the thread locked, want %d: one more for the thread's waits", got, procs+1)
		}
		defer func() {
			r.Release()
			r.Release()
			if got := runtime.GOMAXPROCS(0); got != procs {
				t.Errorf("GOMAXPROCS %d after Release (twice), want %d again", got, procs)
			}
		}()
		if s := r.Status(); !s.Raised || s.Priority != 2 || s.Lowered != 0 {
			t.Errorf("after start: %+v, want raised at 2", s)
		}
		r.CaughtUp(t0)
		r.Busy(t0.Add(19 * time.Millisecond))
		if s := r.Status(); !s.Raised {
			t.Errorf("lowered within the budget: %+v", s)
		}
		r.CaughtUp(t0.Add(19 * time.Millisecond)) // caught up: the streak starts again
		r.Busy(t0.Add(38 * time.Millisecond))
		if s := r.Status(); !s.Raised {
			t.Errorf("lowered although it caught up 19 ms ago: %+v", s)
		}
		r.Busy(t0.Add(40 * time.Millisecond)) // 21 ms without catching up
		if s := r.Status(); s.Raised || s.Lowered != 1 {
			t.Errorf("busy 21 ms: %+v, want lowered once", s)
		}
		r.Busy(t0.Add(60 * time.Millisecond))
		r.CaughtUp(t0.Add(100 * time.Millisecond)) // within the rest
		if s := r.Status(); s.Raised || s.Lowered != 1 {
			t.Errorf("raised again during its rest: %+v", s)
		}
		r.CaughtUp(t0.Add(540 * time.Millisecond))
		if s := r.Status(); !s.Raised || s.Lowered != 1 {
			t.Errorf("not raised after its rest: %+v", s)
		}
	}()
	<-done
	// raised, lowered for the flood, raised after the rest, lowered by Release
	if want := []int{2, 0, 2, 0}; !slices.Equal(f.calls, want) {
		t.Errorf("priorities set %v, want %v", f.calls, want)
	}
}

// TestRealtimeRefused: a refusal is reported, and not asked again.
func TestRealtimeRefused(t *testing.T) {
	f := &fakeSet{err: errors.New("operation not permitted")}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := lockRealtime(1, time.Millisecond, time.Millisecond, f.set)
		defer r.Release()
		now := time.Now()
		r.CaughtUp(now)
		r.Busy(now.Add(time.Second))
		r.CaughtUp(now.Add(2 * time.Second))
		if s := r.Status(); s.Raised || s.Refused != "operation not permitted" || s.Priority != 1 {
			t.Errorf("refused: %+v", s)
		}
	}()
	<-done
	if len(f.calls) != 1 {
		t.Errorf("asked the kernel %d times (%v), want once", len(f.calls), f.calls)
	}
}

// TestRealtimeUnlockRefused: a thread the kernel will not lower stays
// locked and raised, with the P it was given, and Unlock says why.
func TestRealtimeUnlockRefused(t *testing.T) {
	f := &fakeSet{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		procs := runtime.GOMAXPROCS(0)
		r := lockRealtime(1, Budget, Rest, f.set)
		defer r.Release()
		f.err = errors.New("no")
		if err := r.Unlock(); err == nil {
			t.Errorf("Unlock with the kernel refusing to lower: no error")
		}
		if s := r.Status(); !r.Locked() || !s.OnThread || !s.Raised || s.Switches != 0 {
			t.Errorf("after a refused Unlock: %+v, locked %v; want as before", s, r.Locked())
		}
		if got := runtime.GOMAXPROCS(0); got != procs+1 {
			t.Errorf("GOMAXPROCS %d, want %d (still one more for the thread)", got, procs+1)
		}
		if want := []int{1, 0}; !slices.Equal(f.calls, want) {
			t.Errorf("priorities set %v, want %v", f.calls, want)
		}
	}()
	<-done
}

// TestRealtimeFirstReadBusy: a loop whose first read finds datagrams
// waiting (they came before it started) is busy from the moment it locked,
// not since the zero time: it stays raised.
func TestRealtimeFirstReadBusy(t *testing.T) {
	f := &fakeSet{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := lockRealtime(1, time.Hour, 500*time.Millisecond, f.set)
		defer r.Release()
		r.Busy(time.Now())
		if s := r.Status(); !s.Raised || s.Lowered != 0 {
			t.Errorf("after a first read that found datagrams: %+v, want still raised", s)
		}
	}()
	<-done
}
