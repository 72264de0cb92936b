package udp

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The runtime's entry to a system call that will block. An ordinary system
// call (syscall.Syscall) keeps the goroutine's P until the runtime's
// monitor takes it back, after 10 ms or sooner when other goroutines wait;
// each such take-back sets the monitor polling every 20 us for a while. A
// raw one (syscall.RawSyscall) keeps the P all along: the monitor then
// never sleeps and preempts the waiting goroutine every 10 to 20 ms, and
// a goroutine locked to its thread is handed to another thread and back
// each time. entersyscallblock gives the P up at once, as the runtime does
// for its own blocking waits; the cost is that a thread that wakes when
// every P runs Go code waits until the runtime hands it one. The runtime
// keeps both functions for linkname users (go.dev/issue/67401);
// block_linux.s lets the declarations go without bodies.

//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// blockingPpoll is ppoll(2) on the nfds descriptors at fds until ts,
// which gives up the runtime's P while it waits. Nosplit and norace:
// between entering and leaving the system call, the stack must not grow
// and nothing may be instrumented. The pointers stay alive through the
// call as this function's arguments.
//
//go:nosplit
//go:norace
func blockingPpoll(fds *unix.PollFd, nfds int, ts *unix.Timespec) syscall.Errno {
	entersyscallblock()
	_, _, e := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(fds)), uintptr(nfds), uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	exitsyscall()
	return e
}
