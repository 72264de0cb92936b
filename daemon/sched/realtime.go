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
// runtime hands it one. Unlock and Release take the P back.
//
// A thread of its own costs CPU even when nothing competes for it: each
// wake-up from the kernel wakes the runtime's monitor, which then often
// preempts the locked goroutine, a hand-off between threads (see
// docs/benchmarks.md). Unlock lowers the thread and lets the goroutine go
// back to the runtime's poller, and Lock takes it back: the daemon's
// receive loop moves to its thread only while the CPU is contended
// (Contention) and its reads come late, and back when the CPU is calm.
//
// A Realtime belongs to its goroutine; Status may be read from any.
type Realtime struct {
	asked  int
	prio   int           // asked, until the kernel refuses
	budget time.Duration // busy this long without catching up: lowered
	rest   time.Duration // and kept low at least this long

	set       func(prio int) error // the thread's policy: prio 0 is normal
	raised    bool                 // the thread is at prio now
	refused   atomic.Pointer[string]
	lowered   atomic.Uint64
	busySince time.Time // when the loop last caught up
	restUntil time.Time
	released  bool
	locked    bool          // the goroutine is locked to its thread
	state     atomic.Uint32 // raised and locked, for Status: set at once (publish)
	switches  atomic.Uint64 // Unlocks and Locks after the first
}

// Bits of Realtime.state.
const (
	stateRaised = 1 << iota
	stateOnThread
)

// publish makes the owner's raised and locked what Status reports, both
// at once, so that a reader never sees a switch half done.
func (r *Realtime) publish() {
	var v uint32
	if r.raised {
		v |= stateRaised
	}
	if r.locked && !r.released {
		v |= stateOnThread
	}
	r.state.Store(v)
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
	// OnThread: the loop waits on its own thread now; false: in the
	// runtime's poller, like any goroutine (Unlock).
	OnThread bool   `json:"on_thread"`
	Switches uint64 `json:"switches"` // times it moved between the two
}

// Budget is how long a Realtime's loop may stay busy without catching up
// before its thread is lowered, for at least Rest. A 720p frame's
// datagrams take a receive loop well under a millisecond; a flood, or a
// stream beyond the CPU, takes longer.
const (
	Budget = 20 * time.Millisecond
	Rest   = 500 * time.Millisecond
)

// LockRealtime locks the calling goroutine to its OS thread until Unlock,
// or for the rest of the goroutine's life (the thread then ends with it),
// and raises the thread to SCHED_FIFO priority prio (1..99); prio 0 leaves
// it normal. The thread is lowered as Realtime's doc says, after Budget
// and for Rest. It never fails: see Status.
func LockRealtime(prio int) *Realtime {
	return lockRealtime(prio, Budget, Rest, setFIFO)
}

// LockRealtimeWith is LockRealtime with set in place of the system call
// that sets the thread's policy (prio 0: normal), for tests that must not
// depend on the kernel allowing real-time priority.
func LockRealtimeWith(prio int, set func(prio int) error) *Realtime {
	return lockRealtime(prio, Budget, Rest, set)
}

func lockRealtime(prio int, budget, rest time.Duration, set func(int) error) *Realtime {
	r := &Realtime{asked: prio, prio: prio, budget: budget, rest: rest, set: set}
	r.lock(time.Now())
	return r
}

// lock locks the goroutine to its thread, adds the P and raises the
// thread unless the kernel refused before or it rests after a flood.
func (r *Realtime) lock(now time.Time) {
	lockThread()
	addProcs(1)
	r.locked = true
	r.busySince = now
	if r.prio > 0 && !now.Before(r.restUntil) {
		r.raise()
	}
	r.publish()
}

// Unlock lowers the thread to normal priority, gives back the P that
// LockRealtime added and unlocks the goroutine from the thread, which goes
// back to the runtime's pool as a normal thread: the loop then waits in
// the runtime's poller. When the kernel refuses to lower the thread,
// nothing changes and Unlock returns why. It does nothing on an unlocked
// or released Realtime.
func (r *Realtime) Unlock() error {
	if !r.locked || r.released {
		return nil
	}
	if r.raised {
		if err := r.set(0); err != nil {
			return err
		}
		r.raised = false
	}
	addProcs(-1)
	unlockThread()
	r.locked = false
	r.switches.Add(1)
	r.publish()
	return nil
}

// Lock undoes Unlock: it locks the goroutine to its (now) thread, adds the
// P back and raises the thread, unless the kernel refused before or the
// thread is resting after a flood (CaughtUp raises it then). It does
// nothing on a locked or released Realtime.
func (r *Realtime) Lock(now time.Time) {
	if r.locked || r.released {
		return
	}
	r.switches.Add(1)
	r.lock(now)
}

// Locked reports whether the goroutine waits on its own thread now. For
// its goroutine only.
func (r *Realtime) Locked() bool { return r.locked }

// Refused says why the kernel refused the priority; "": it did not. Safe
// from any goroutine.
func (r *Realtime) Refused() string {
	if p := r.refused.Load(); p != nil {
		return *p
	}
	return ""
}

func (r *Realtime) raise() {
	if err := r.set(r.prio); err != nil {
		msg := err.Error()
		r.refused.Store(&msg)
		r.prio = 0 // asked once; the kernel's answer will not change
		return
	}
	r.raised = true
}

// Release lowers the thread and gives back the P that LockRealtime added,
// when the goroutine stops waiting on its thread (it ends; a thread still
// locked ends with it, except the process's main thread, which the runtime
// keeps unused: lowered first, it is not left raised). Called again, or
// after Unlock, it does nothing more.
func (r *Realtime) Release() {
	if r.released {
		return
	}
	r.released = true
	if !r.locked {
		return
	}
	if r.raised && r.set(0) == nil {
		r.raised = false
	}
	addProcs(-1)
	r.publish()
}

// CaughtUp tells r that the loop found its input empty at now: the busy
// streak ends, and a lowered thread whose rest is over is raised again.
func (r *Realtime) CaughtUp(now time.Time) {
	r.busySince = now
	if r.locked && r.prio > 0 && !r.raised && !now.Before(r.restUntil) {
		r.raise()
		r.publish()
	}
}

// Busy tells r that the loop did work at now without having caught up
// since busySince. Past the budget, the thread is lowered.
func (r *Realtime) Busy(now time.Time) {
	if !r.raised || now.Sub(r.busySince) < r.budget {
		return
	}
	if err := r.set(0); err != nil {
		return // still raised; tried again at the next busy read
	}
	r.raised = false
	r.lowered.Add(1)
	r.publish()
	r.restUntil = now.Add(r.rest)
}

// Status reports r's state; safe from any goroutine.
func (r *Realtime) Status() RealtimeStatus {
	st := r.state.Load()
	s := RealtimeStatus{Priority: r.asked, Raised: st&stateRaised != 0, Lowered: r.lowered.Load(),
		OnThread: st&stateOnThread != 0, Switches: r.switches.Load()}
	s.Refused = r.Refused()
	return s
}
