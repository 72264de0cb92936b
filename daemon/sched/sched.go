// Package sched owns the CPU priority of the daemon's threads. The
// transport's work per frame is small and must not wait: a datagram that
// sits in a socket buffer while a JPEG or H.264 frame is encoded or
// decoded on the same core is latency added to every frame. So the
// goroutines that encode and decode pictures run on threads of their own
// at a lower priority (Background), and the kernel runs the transport's
// threads first when they wake. Media work loses nothing while a core is
// free; when the CPU is short, it waits instead of the transport.
//
// Lowering a thread's priority needs no privilege; raising it back does,
// which is why a background goroutine keeps its thread for good. Nice
// values weigh against every program on the host, so media work at +5 also
// yields to other busy programs: the system unit starts the daemon at
// Nice=-5, which keeps media work level with them and the transport above.
package sched

// BackgroundNice is how much Background raises a thread's nice value. At
// +5 a thread weighs about a third of one at the daemon's own priority.
const BackgroundNice = 5
