//go:build !linux

package sched

import (
	"errors"
	"runtime"
)

// Background locks the calling goroutine to its OS thread; elsewhere than
// on Linux, thread priorities are left alone.
func Background() (nice int, err error) {
	runtime.LockOSThread()
	return 0, nil
}

// Nice returns 0: thread priorities are Linux's here.
func Nice() (int, error) { return 0, nil }

func lockThread()   { runtime.LockOSThread() }
func unlockThread() { runtime.UnlockOSThread() }

func setFIFO(prio int) error {
	if prio == 0 {
		return nil
	}
	return errors.New("real-time priority is Linux's here")
}
