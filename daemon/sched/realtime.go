package sched

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Realtime is a goroutine's own OS thread raised to a real-time priority
// (SCHED_FIFO) while it keeps up with its work: the thread the receive loop
// waits on. A normal thread woken by a datagram is queued behind whatever
// runs on the CPU the kernel picks, up to a scheduler tick (4 ms at
// HZ=250) when that is a thread of equal standing, even while another CPU
// idles; a real-time thread runs at once. docs/benchmarks.md measures the
// difference.
//
// A real-time thread that never sleeps takes its CPU from every normal
// thread, so the priority lasts only while the thread catches up: a loop
// that has been busy for longer than the budget without once finding its
// input empty (a flood, or more traffic than the CPU can take) is lowered
// to normal priority, and raised again when it next catches up after the
// rest. The kernel's own real-time throttling (kernel.sched_rt_runtime_us)
// stays as the last guard.
//
// Raising needs CAP_SYS_NICE or a RLIMIT_RTPRIO of at least the priority
// (systemd's LimitRTPRIO=); where the kernel refuses, the thread stays at
// normal priority and Refused says why.
//
// The thread's waits in the kernel (udp.Conn.ReadOnThread) give up the Go
// runtime's P, and the thread takes an idle one when it wakes. LockRealtime
// adds one P to GOMAXPROCS, so that one is idle unless the process runs Go
// code on all the others; when none is, the woken thread waits until the
// runtime hands it one. Release takes the P back.
//
// A Realtime belongs to its goroutine; Status may be read from any.
type Realtime struct {
	asked  int
	prio   int           // asked, until the kernel refuses
	budget time.Duration // busy this long without catching up: lowered
	rest   time.Duration // and kept low at least this long

	set       func(prio int) error // the thread's policy: prio 0 is normal
	raised    atomic.Bool
	refused   atomic.Pointer[string]
	lowered   atomic.Uint64
	busySince time.Time // when the loop last caught up
	restUntil time.Time
	released  bool
}

// procsMu makes the Realtimes of one process (two daemons in a test) take
// turns changing GOMAXPROCS, which is the process's.
var procsMu sync.Mutex

func addProcs(n int) {
	procsMu.Lock()
	defer procsMu.Unlock()
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0)+n, 1))
}

// RealtimeStatus is what a Realtime reports.
type RealtimeStatus struct {
	Priority int    `json:"priority"`          // asked for; 0: not asked
	Raised   bool   `json:"raised"`            // the thread is at it now
	Refused  string `json:"refused,omitempty"` // why the kernel said no
	Lowered  uint64 `json:"lowered"`           // times lowered for being busy past the budget
}

// Budget is how long a Realtime's loop may stay busy without catching up
// before its thread is lowered, for at least Rest. A 720p frame's
// datagrams take a receive loop well under a millisecond; a flood, or a
// stream beyond the CPU, takes longer.
const (
	Budget = 20 * time.Millisecond
	Rest   = 500 * time.Millisecond
)

// LockRealtime locks the calling goroutine to its OS thread for the rest
// of the goroutine's life (the thread ends with it) and raises the thread
// to SCHED_FIFO priority prio (1..99); prio 0 leaves it normal. The thread
// is lowered as Realtime's doc says, after Budget and for Rest. It never
// fails: see Status.
func LockRealtime(prio int) *Realtime {
	return lockRealtime(prio, Budget, Rest, setFIFO)
}

func lockRealtime(prio int, budget, rest time.Duration, set func(int) error) *Realtime {
	lockThread()
	addProcs(1)
	r := &Realtime{asked: prio, prio: prio, budget: budget, rest: rest, set: set}
	if prio > 0 {
		r.raise()
	}
	return r
}

func (r *Realtime) raise() {
	if err := r.set(r.prio); err != nil {
		msg := err.Error()
		r.refused.Store(&msg)
		r.prio = 0 // asked once; the kernel's answer will not change
		return
	}
	r.raised.Store(true)
}

// Release gives back the P that LockRealtime added, when the goroutine
// stops waiting on its thread (it ends). Called again, it does nothing.
func (r *Realtime) Release() {
	if !r.released {
		r.released = true
		addProcs(-1)
	}
}

// CaughtUp tells r that the loop found its input empty at now: the busy
// streak ends, and a lowered thread whose rest is over is raised again.
func (r *Realtime) CaughtUp(now time.Time) {
	r.busySince = now
	if r.prio > 0 && !r.raised.Load() && !now.Before(r.restUntil) {
		r.raise()
	}
}

// Busy tells r that the loop did work at now without having caught up
// since busySince. Past the budget, the thread is lowered.
func (r *Realtime) Busy(now time.Time) {
	if !r.raised.Load() || now.Sub(r.busySince) < r.budget {
		return
	}
	if err := r.set(0); err != nil {
		return // still raised; tried again at the next busy read
	}
	r.raised.Store(false)
	r.lowered.Add(1)
	r.restUntil = now.Add(r.rest)
}

// Status reports r's state; safe from any goroutine.
func (r *Realtime) Status() RealtimeStatus {
	s := RealtimeStatus{Priority: r.asked, Raised: r.raised.Load(), Lowered: r.lowered.Load()}
	if p := r.refused.Load(); p != nil {
		s.Refused = *p
	}
	return s
}
