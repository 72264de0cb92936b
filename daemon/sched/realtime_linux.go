package sched

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func gettid() int { return unix.Gettid() }

// setPolicy sets thread tid's policy: SCHED_FIFO at prio, or SCHED_OTHER
// at the thread's own nice value for prio 0.
func setPolicy(tid, prio int) error {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}
	if prio == 0 {
		nice, err := niceOf(tid)
		if err != nil {
			return err
		}
		attr = unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL, Nice: int32(nice)}
	}
	if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
		if prio == 0 {
			return fmt.Errorf("sched_setattr SCHED_OTHER: %w", err)
		}
		return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w (needs CAP_SYS_NICE or RLIMIT_RTPRIO >= %d, e.g. systemd's LimitRTPRIO=%d)", prio, err, prio, prio)
	}
	return nil
}
