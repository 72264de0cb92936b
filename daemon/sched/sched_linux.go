package sched

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Background locks the calling goroutine to its OS thread, for the rest
// of the goroutine's life, and raises that thread's nice value by
// BackgroundNice. It returns the thread's nice value and an error when the
// kernel refused (the thread then keeps its priority; the goroutine stays
// locked). A goroutine that calls it must not call runtime.UnlockOSThread:
// the thread then ends with the goroutine instead of serving others at the
// lower priority.
func Background() (nice int, err error) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	base, err := niceOf(tid)
	if err != nil {
		return 0, err
	}
	nice = min(base+BackgroundNice, 19)
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
		return base, fmt.Errorf("sched: lowering thread %d's priority to nice %d: %w", tid, nice, err)
	}
	// The thread may be one a Realtime left at SCHED_FIFO a moment ago
	// (see Realtime.Pin): it goes back to the normal policy at once.
	if a, err := unix.SchedGetAttr(tid, 0); err == nil && (a.Policy == unix.SCHED_FIFO || a.Policy == unix.SCHED_RR) {
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL, Nice: int32(nice)}
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
			return nice, fmt.Errorf("sched: taking thread %d out of real-time priority: %w", tid, err)
		}
	}
	return nice, nil
}

// Nice returns the calling thread's nice value.
func Nice() (int, error) { return niceOf(unix.Gettid()) }

// niceOf returns thread tid's nice value.
func niceOf(tid int) (int, error) {
	// The system call returns 20 - nice (1..40), unlike libc's wrapper.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return 0, fmt.Errorf("sched: reading thread %d's priority: %w", tid, err)
	}
	return 20 - prio, nil
}
