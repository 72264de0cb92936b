package daemon_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/sched"
	"golang.org/x/sys/unix"
)

// checkRealtime checks a receive thread's status against the kernel: at
// the default priority 1, either raised, with a SCHED_FIFO thread in this
// process to show for it, or refused with the reason.
func checkRealtime(t *testing.T, rt sched.RealtimeStatus) {
	t.Helper()
	if rt.Priority != 1 {
		t.Errorf("receive thread: priority %d asked, want the default 1", rt.Priority)
	}
	if rt.Refused != "" {
		if rt.Raised {
			t.Errorf("receive thread raised and refused: %+v", rt)
		}
		t.Logf("the kernel refused real-time priority: %s", rt.Refused)
		return
	}
	if !rt.Raised {
		t.Fatalf("receive thread neither raised nor refused: %+v", rt)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	fifo := 0
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		if a, err := unix.SchedGetAttr(tid, 0); err == nil && a.Policy == unix.SCHED_FIFO && a.Priority == 1 {
			fifo++
		}
	}
	if fifo == 0 {
		t.Errorf("the status says the receive thread is raised, but no thread of this process is SCHED_FIFO 1")
	}
}
