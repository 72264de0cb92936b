package sched

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRealtimeThread raises real threads: where the kernel allows it, the
// thread is SCHED_FIFO at the priority, is lowered to SCHED_OTHER (its
// nice value kept) when busy past the budget, raised again after the
// rest, and when the loop pins another thread, the priority moves there
// and the first is lowered; Release lowers the last. Where the kernel
// refuses, the thread stays SCHED_OTHER and the refusal names the system
// call. The test's own thread is left alone.
func TestRealtimeThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mine := policyOf(t, 0)
	// Two goroutines on threads of their own take turns with r, as one
	// loop does that the runtime moves between threads; the channels
	// order their uses of r.
	var r *Realtime
	var nice int
	moved, checked, done := make(chan bool), make(chan struct{}), make(chan struct{})
	go func() { // the first thread
		defer close(done)
		runtime.LockOSThread()
		nice, _ = Nice()
		r = newRealtime(1, 10*time.Millisecond, 50*time.Millisecond, setPolicy, gettid)
		if s := r.Status(); s.Refused != "" {
			if p := policyOf(t, 0); p.Policy != unix.SCHED_NORMAL {
				t.Errorf("refused (%s), but the thread's policy is %d", s.Refused, p.Policy)
			}
			if s.Raised {
				t.Errorf("refused and raised: %+v", s)
			}
			t.Logf("the kernel refused: %s", s.Refused)
			r.Release()
			moved <- false
			return
		}
		if p := policyOf(t, 0); p.Policy != unix.SCHED_FIFO || p.Priority != 1 {
			t.Errorf("raised: policy %d priority %d, want SCHED_FIFO 1", p.Policy, p.Priority)
		}
		now := time.Now()
		r.CaughtUp(now)
		r.Busy(now.Add(11 * time.Millisecond))
		if p := policyOf(t, 0); p.Policy != unix.SCHED_NORMAL || int(p.Nice) != nice {
			t.Errorf("lowered: policy %d nice %d, want SCHED_OTHER at nice %d", p.Policy, p.Nice, nice)
		}
		r.CaughtUp(now.Add(70 * time.Millisecond))
		r.Pin()
		if p := policyOf(t, 0); p.Policy != unix.SCHED_FIFO || !r.Status().Raised {
			t.Errorf("after the rest: policy %d, status %+v, want SCHED_FIFO again", p.Policy, r.Status())
		}
		r.Unpin()
		moved <- true
		<-checked // the second thread has pinned
		if p := policyOf(t, 0); p.Policy != unix.SCHED_NORMAL || int(p.Nice) != nice {
			t.Errorf("left: policy %d nice %d, want SCHED_OTHER at nice %d", p.Policy, p.Nice, nice)
		}
	}()
	if <-moved {
		go func() { // the second thread
			defer close(checked)
			runtime.LockOSThread()
			r.Pin()
			if p := policyOf(t, 0); p.Policy != unix.SCHED_FIFO || p.Priority != 1 {
				t.Errorf("moved: policy %d priority %d, want SCHED_FIFO 1", p.Policy, p.Priority)
			}
			r.Unpin()
			r.Release()
			if p := policyOf(t, 0); p.Policy != unix.SCHED_NORMAL || int(p.Nice) != nice {
				t.Errorf("released: policy %d nice %d, want SCHED_OTHER at nice %d", p.Policy, p.Nice, nice)
			}
		}()
	}
	<-done
	if p := policyOf(t, 0); p.Policy != mine.Policy {
		t.Errorf("the test's own thread went from policy %d to %d", mine.Policy, p.Policy)
	}
}

func policyOf(t *testing.T, tid int) *unix.SchedAttr {
	t.Helper()
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestBackgroundFromRealtime: a thread that a Realtime left at SCHED_FIFO
// and a background goroutine then locks goes to SCHED_OTHER at the
// background nice value.
func TestBackgroundFromRealtime(t *testing.T) {
	type result struct {
		attr       *unix.SchedAttr
		nice, want int
		err        error
		refused    error
	}
	got := make(chan result)
	go func() {
		runtime.LockOSThread() // ends with the goroutine
		base, _ := Nice()
		if err := setPolicy(gettid(), 1); err != nil {
			got <- result{refused: err}
			return
		}
		nice, err := Background()
		a, aerr := unix.SchedGetAttr(0, 0)
		got <- result{attr: a, nice: nice, want: min(base+BackgroundNice, 19), err: errors.Join(err, aerr)}
	}()
	r := <-got
	if r.refused != nil {
		t.Skipf("the kernel refused a real-time thread: %v", r.refused)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.attr.Policy != unix.SCHED_NORMAL || int(r.attr.Nice) != r.want || r.nice != r.want {
		t.Errorf("background after real-time: policy %d nice %d (returned %d), want SCHED_OTHER at nice %d", r.attr.Policy, r.attr.Nice, r.nice, r.want)
	}
}
