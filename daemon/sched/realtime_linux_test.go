package sched

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLockRealtime raises a real thread: where the kernel allows it, the
// thread is SCHED_FIFO at the priority, is lowered to SCHED_OTHER (its
// nice value kept) when busy past the budget, and raised again after the
// rest; where it does not, the thread stays SCHED_OTHER and the refusal
// names the system call. Other threads are left alone.
func TestLockRealtime(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mine := policy(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nice, _ := Nice()
		r := lockRealtime(1, 10*time.Millisecond, 50*time.Millisecond, setFIFO)
		defer r.Release()
		s := r.Status()
		if s.Refused != "" {
			if p := policy(t); p.Policy != unix.SCHED_NORMAL {
				t.Errorf("refused (%s), but the thread's policy is %d", s.Refused, p.Policy)
			}
			if s.Raised {
				t.Errorf("refused and raised: %+v", s)
			}
			t.Logf("the kernel refused: %s", s.Refused)
			return
		}
		if p := policy(t); p.Policy != unix.SCHED_FIFO || p.Priority != 1 {
			t.Errorf("raised: policy %d priority %d, want SCHED_FIFO 1", p.Policy, p.Priority)
		}
		now := time.Now()
		r.CaughtUp(now)
		r.Busy(now.Add(11 * time.Millisecond))
		if p := policy(t); p.Policy != unix.SCHED_NORMAL || int(p.Nice) != nice {
			t.Errorf("lowered: policy %d nice %d, want SCHED_OTHER at nice %d", p.Policy, p.Nice, nice)
		}
		r.CaughtUp(now.Add(70 * time.Millisecond))
		if p := policy(t); p.Policy != unix.SCHED_FIFO || !r.Status().Raised {
			t.Errorf("after the rest: policy %d, status %+v, want SCHED_FIFO again", p.Policy, r.Status())
		}
	}()
	<-done
	if p := policy(t); p.Policy != mine.Policy {
		t.Errorf("the test's own thread went from policy %d to %d", mine.Policy, p.Policy)
	}
}

func policy(t *testing.T) *unix.SchedAttr {
	t.Helper()
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
