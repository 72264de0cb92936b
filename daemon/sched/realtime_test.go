package sched

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// fakeThreads stands for the kernel: it records the policies a Realtime
// sets, failing raises with err, and says which thread the caller is on.
type fakeThreads struct {
	calls []string // "tid:prio"
	err   error
	on    int // the calling thread
}

func (f *fakeThreads) set(tid, prio int) error {
	f.calls = append(f.calls, fmt.Sprintf("%d:%d", tid, prio))
	if prio > 0 {
		return f.err
	}
	return nil
}

func (f *fakeThreads) tid() int { return f.on }

// TestRealtimeLowersWhenBusy: a loop busy past the budget without catching
// up is lowered once, stays low through its rest even if it catches up,
// and its thread is raised at the first Pin after a catch-up past the
// rest. NewRealtime adds a P and Release gives it back.
func TestRealtimeLowersWhenBusy(t *testing.T) {
	f := &fakeThreads{on: 7}
	t0 := time.Unix(1000, 0)
	procs := runtime.GOMAXPROCS(0)
	r := newRealtime(2, 20*time.Millisecond, 500*time.Millisecond, f.set, f.tid)
	if got := runtime.GOMAXPROCS(0); got != procs+1 {
		t.Errorf("GOMAXPROCS %d with a Realtime, want %d: one more for the thread's wake-ups", got, procs+1)
	}
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
	r.Pin()
	r.Unpin()
	if s := r.Status(); s.Raised || s.Lowered != 1 {
		t.Errorf("raised again during its rest: %+v", s)
	}
	r.CaughtUp(t0.Add(540 * time.Millisecond))
	if s := r.Status(); s.Raised {
		t.Errorf("raised before a Pin: %+v", s)
	}
	r.Pin()
	r.Unpin()
	if s := r.Status(); !s.Raised || s.Lowered != 1 {
		t.Errorf("not raised after its rest: %+v", s)
	}
	r.Release()
	r.Release()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS %d after Release (twice), want %d again", got, procs)
	}
	if s := r.Status(); s.Raised {
		t.Errorf("raised after Release: %+v", s)
	}
	if want := []string{"7:2", "7:0", "7:2", "7:0"}; !slices.Equal(f.calls, want) {
		t.Errorf("policies set %v, want %v", f.calls, want)
	}
}

// TestRealtimeFollowsThread: the priority stays on the thread while the
// loop pins the same one, and moves when the loop comes back on another:
// the one left is lowered first.
func TestRealtimeFollowsThread(t *testing.T) {
	f := &fakeThreads{on: 3}
	r := newRealtime(1, Budget, Rest, f.set, f.tid)
	defer r.Release()
	for range 3 {
		r.Pin()
		r.Unpin()
	}
	f.on = 4
	r.Pin()
	r.Unpin()
	if want := []string{"3:1", "3:0", "4:1"}; !slices.Equal(f.calls, want) {
		t.Errorf("policies set %v, want %v", f.calls, want)
	}
	if s := r.Status(); !s.Raised {
		t.Errorf("after moving: %+v, want raised", s)
	}
}

// TestRealtimeRefused: a refusal is reported, and not asked again.
func TestRealtimeRefused(t *testing.T) {
	f := &fakeThreads{on: 5, err: errors.New("operation not permitted")}
	r := newRealtime(1, time.Millisecond, time.Millisecond, f.set, f.tid)
	defer r.Release()
	now := time.Now()
	r.CaughtUp(now)
	r.Busy(now.Add(time.Second))
	r.CaughtUp(now.Add(2 * time.Second))
	f.on = 6
	r.Pin()
	r.Unpin()
	if s := r.Status(); s.Raised || s.Refused != "operation not permitted" || s.Priority != 1 {
		t.Errorf("refused: %+v", s)
	}
	if want := []string{"5:1"}; !slices.Equal(f.calls, want) {
		t.Errorf("policies set %v, want %v: asked once", f.calls, want)
	}
}

// TestRealtimeZero: priority 0 sets nothing.
func TestRealtimeZero(t *testing.T) {
	f := &fakeThreads{on: 2}
	r := newRealtime(0, Budget, Rest, f.set, f.tid)
	r.Pin()
	r.Unpin()
	r.CaughtUp(time.Now())
	r.Pin()
	r.Unpin()
	r.Release()
	if len(f.calls) != 0 || r.Status().Raised {
		t.Errorf("priority 0: set %v, status %+v; want nothing set", f.calls, r.Status())
	}
}
