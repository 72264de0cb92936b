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
	// The system call returns 20 - nice (1..40), unlike libc's wrapper.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return 0, fmt.Errorf("sched: reading thread %d's priority: %w", tid, err)
	}
	nice = min(20-prio+BackgroundNice, 19)
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
		return 20 - prio, fmt.Errorf("sched: lowering thread %d's priority to nice %d: %w", tid, nice, err)
	}
	return nice, nil
}

// Nice returns the calling thread's nice value.
func Nice() (int, error) {
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	return 20 - prio, err
}
