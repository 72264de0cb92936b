package sched

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

func lockThread()   { runtime.LockOSThread() }
func unlockThread() { runtime.UnlockOSThread() }

// setFIFO sets the calling thread's policy: SCHED_FIFO at prio, or
// SCHED_OTHER (keeping its nice value) for prio 0.
func setFIFO(prio int) error {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}
	if prio == 0 {
		nice, err := Nice()
		if err != nil {
			return err
		}
		attr = unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL, Nice: int32(nice)}
	}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if prio == 0 {
			return fmt.Errorf("sched_setattr SCHED_OTHER: %w", err)
		}
		return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w (needs CAP_SYS_NICE or RLIMIT_RTPRIO >= %d, e.g. systemd's LimitRTPRIO=%d)", prio, err, prio, prio)
	}
	return nil
}
