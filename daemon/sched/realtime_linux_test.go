package sched

import (
	"runtime"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/testutil"
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
		// A thread that can not end with its goroutine (the main thread)
		// must not stay raised after it.
		r.Release()
		if p := policy(t); p.Policy != unix.SCHED_NORMAL || int(p.Nice) != nice || r.Status().Raised {
			t.Errorf("after Release: policy %d nice %d, status %+v; want SCHED_OTHER at nice %d", p.Policy, p.Nice, r.Status(), nice)
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

// TestRealtimeUnlock moves a real goroutine off its raised thread and back:
// Unlock lowers the thread to SCHED_OTHER before letting it go and gives
// the added P back, so that no thread of the process is left raised; Lock
// raises the thread the goroutine is on then and adds the P again.
func TestRealtimeUnlock(t *testing.T) {
	// A raised thread of an earlier test ends with its goroutine, shortly
	// after it.
	testutil.WaitFor(t, "no SCHED_FIFO thread left by earlier tests", 5*time.Second, func() bool { return fifoThreads(t) == 0 })
	procs := runtime.GOMAXPROCS(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := lockRealtime(1, Budget, Rest, setFIFO)
		defer r.Release()
		if s := r.Status(); s.Refused != "" {
			t.Logf("the kernel refused real-time priority: %s", s.Refused)
			return
		}
		tid := unix.Gettid()
		if p := policy(t); p.Policy != unix.SCHED_FIFO {
			t.Errorf("locked: policy %d, want SCHED_FIFO", p.Policy)
			return
		}
		if err := r.Unlock(); err != nil {
			t.Errorf("Unlock: %v", err)
			return
		}
		if a, err := unix.SchedGetAttr(tid, 0); err != nil || a.Policy != unix.SCHED_NORMAL {
			t.Errorf("the thread left behind: %+v, %v; want SCHED_OTHER", a, err)
		}
		if got := runtime.GOMAXPROCS(0); got != procs {
			t.Errorf("GOMAXPROCS %d after Unlock, want %d", got, procs)
		}
		if s := r.Status(); s.OnThread || s.Raised || s.Switches != 1 || r.Locked() {
			t.Errorf("after Unlock: %+v, locked %v", s, r.Locked())
		}
		if n := fifoThreads(t); n != 0 {
			t.Errorf("%d SCHED_FIFO threads in the process after Unlock, want 0", n)
		}
		r.Lock(time.Now())
		if p := policy(t); p.Policy != unix.SCHED_FIFO || p.Priority != 1 {
			t.Errorf("locked again: policy %d priority %d, want SCHED_FIFO 1", p.Policy, p.Priority)
		}
		if got := runtime.GOMAXPROCS(0); got != procs+1 {
			t.Errorf("GOMAXPROCS %d after Lock, want %d", got, procs+1)
		}
		if s := r.Status(); !s.OnThread || !s.Raised || s.Switches != 2 || !r.Locked() {
			t.Errorf("after Lock: %+v, locked %v", s, r.Locked())
		}
	}()
	<-done
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS %d after Release, want %d", got, procs)
	}
}

// fifoThreads counts the process's SCHED_FIFO threads.
func fifoThreads(t *testing.T) int { return testutil.FIFOThreads(t, 0) }

// TestPressureMeterReal reads the machine's own CPU pressure, where the
// kernel has it.
func TestPressureMeterReal(t *testing.T) {
	m, err := OpenPressure(CPUPressureFile)
	if err != nil {
		t.Skipf("no CPU pressure here: %v", err)
	}
	defer m.Close()
	share, err := m.Sample(time.Now().Add(time.Second))
	if err != nil || share < 0 || share > 1 {
		t.Errorf("Sample: %v, %v; want a share of 0 to 1", share, err)
	}
}
