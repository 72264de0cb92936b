package testutil

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// FIFOThreads counts this process's threads at SCHED_FIFO priority prio
// (any priority for prio 0).
func FIFOThreads(t testing.TB, prio int) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		if a, err := unix.SchedGetAttr(tid, 0); err == nil && a.Policy == unix.SCHED_FIFO && (prio == 0 || int(a.Priority) == prio) {
			n++
		}
	}
	return n
}
