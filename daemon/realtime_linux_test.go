package daemon_test

import (
	"testing"

	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// checkRealtime checks a receive loop's status against the kernel: at
// the default priority 1, either on its thread and raised, with a
// SCHED_FIFO thread in this process to show for it, or in the runtime's
// poller (the CPU was calm) and not raised, or refused with the reason.
func checkRealtime(t *testing.T, rt sched.RealtimeStatus) {
	t.Helper()
	if rt.Priority != 1 {
		t.Errorf("receive thread: priority %d asked, want the default 1", rt.Priority)
	}
	if rt.Refused != "" {
		if rt.Raised || rt.OnThread {
			t.Errorf("receive thread refused, yet raised or waited on: %+v", rt)
		}
		t.Logf("the kernel refused real-time priority: %s", rt.Refused)
		return
	}
	if !rt.OnThread {
		if rt.Raised {
			t.Errorf("receive loop in the poller, yet its thread raised: %+v", rt)
		}
		t.Logf("the receive loop waits in the poller: the CPU was calm")
		return
	}
	if !rt.Raised {
		t.Fatalf("receive thread neither raised nor refused: %+v", rt)
	}
	if fifoThreads(t) == 0 {
		t.Errorf("the status says the receive thread is raised, but no thread of this process is SCHED_FIFO 1")
	}
}

// fifoThreads counts this process's threads at SCHED_FIFO 1.
func fifoThreads(t *testing.T) int { return testutil.FIFOThreads(t, 1) }
