package udp

import (
	"syscall"
	_ "unsafe" // go:linkname
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
// every P runs Go code waits until the runtime hands it one. Both are kept for linkname users by the runtime
// (go.dev/issue/67401); block_linux.s lets the declarations go without
// bodies.

//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// blockingPpoll is ppoll(2) on fds (nfds of them) until ts, which gives up
// the runtime's P while it waits. Nosplit and norace: between entering
// and leaving the system call, the stack must not grow and nothing may be
// instrumented. fds and ts point into memory the caller keeps alive (the
// sysConn, which uses them after the call): outside the standard library
// the compiler keeps nothing alive for a uintptr argument.
//
//go:nosplit
//go:norace
func blockingPpoll(fds, nfds, ts uintptr) syscall.Errno {
	entersyscallblock()
	_, _, e := syscall.RawSyscall6(syscall.SYS_PPOLL, fds, nfds, ts, 0, 0, 0)
	exitsyscall()
	return e
}
