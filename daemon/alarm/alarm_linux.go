//go:build linux

package alarm

import (
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysAlarm is a timerfd in the runtime's poller.
type sysAlarm struct {
	f      *os.File
	rc     syscall.RawConn
	buf    [8]byte // expirations, read and discarded
	readFn func(fd uintptr) bool
	spec   unix.ItimerSpec // for armFn
	armErr syscall.Errno
	armFn  func(fd uintptr)
}

// newSysAlarm returns a timerfd, or nil when the kernel will not make one.
func newSysAlarm() *sysAlarm {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	s := &sysAlarm{f: f, rc: rc}
	s.readFn = s.read
	s.armFn = s.doArm
	return s
}

// arm sets the timer to expire once, d from now. The sleeper's only.
func (s *sysAlarm) arm(d time.Duration) error {
	s.spec = unix.ItimerSpec{Value: unix.NsecToTimespec(max(int64(d), 1))}
	if err := s.rc.Control(s.armFn); err != nil {
		return err // closed
	}
	if s.armErr != 0 {
		return s.armErr
	}
	return nil
}

func (s *sysAlarm) doArm(fd uintptr) {
	_, _, s.armErr = unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&s.spec)), 0, 0, 0)
}

// wake makes the timer expire now. Safe for concurrent use; after close it
// does nothing (the file's Close has woken the reader).
func (s *sysAlarm) wake() {
	_ = s.rc.Control(func(fd uintptr) {
		spec := unix.ItimerSpec{Value: unix.Timespec{Nsec: 1}}
		unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	})
}

// wait blocks until the timer expires; an error means closed.
func (s *sysAlarm) wait() error { return s.rc.Read(s.readFn) }

func (s *sysAlarm) read(fd uintptr) bool {
	_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)))
	return e != unix.EAGAIN && e != unix.EINTR
}

func (s *sysAlarm) close() error { return s.f.Close() }
