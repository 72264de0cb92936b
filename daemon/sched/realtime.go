package sched

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Realtime gives a goroutine's waits a thread at a real-time priority
// (SCHED_FIFO) while it keeps up with its work: the thread the receive loop
// waits on. A normal thread woken by a datagram is queued behind whatever
// runs on the CPU the kernel picks, up to a scheduler tick (4 ms at
// HZ=250) when that is a thread of equal standing, even while another CPU
// idles; a real-time thread runs at once. docs/benchmarks.md measures the
// difference.
//
// The goroutine is not locked to a thread for good: to the Go runtime, a
// locked goroutine that is rescheduled (the runtime preempts any goroutine
// that has run 10 ms on one time slice, and a loop waiting on its own
// thread never gives its slice back) is handed from thread to thread, four
// context switches each time. Instead the loop calls Pin before each wait,
// which locks the goroutine to the thread it is on and gives that thread
// the priority, and Unpin after it. The goroutine is then rescheduled like
// any other, and when it comes back on another thread, Pin lowers the one
// it left and raises the one it is on. Between the two, the thread left
// behind may run other goroutines at the priority, until the loop's next
// wait, which comes within its budget (below).
//
// A real-time thread that never sleeps takes its CPU from every normal
// thread, so the priority lasts only while the loop catches up: a loop
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
// The waits give up the runtime's P (udp.Conn.ReadOnThread); NewRealtime
// adds one P to GOMAXPROCS, so that one is free when the thread wakes even
// while the other goroutines use all the rest, and Release takes it back.
//
// A Realtime belongs to its goroutine; Status may be read from any.
type Realtime struct {
	asked  int
	prio   int           // asked, until the kernel refuses
	budget time.Duration // busy this long without catching up: lowered
	rest   time.Duration // and kept low at least this long

	set func(tid, prio int) error // a thread's policy: prio 0 is normal
	tid func() int                // the calling thread's id

	held      int  // the thread at the priority now; 0: none
	want      bool // the next Pin raises its thread
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
	Raised   bool   `json:"raised"`            // a thread is at it now
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

// NewRealtime returns the Realtime of the calling goroutine at SCHED_FIFO
// priority prio (1..99), raising the thread it is on at once, so that
// Status tells straight away whether the kernel allows it; prio 0 leaves
// every thread normal. It never fails: see Status.
func NewRealtime(prio int) *Realtime {
	return newRealtime(prio, Budget, Rest, setPolicy, gettid)
}

func newRealtime(prio int, budget, rest time.Duration, set func(tid, prio int) error, tid func() int) *Realtime {
	addProcs(1)
	r := &Realtime{asked: prio, prio: prio, budget: budget, rest: rest, set: set, tid: tid, want: prio > 0}
	r.Pin()
	r.Unpin()
	return r
}

// Pin locks the calling goroutine to its thread and, unless the loop is
// lowered or the kernel refused, gives that thread the priority, taking it
// from the thread that had it. Every Pin is followed by an Unpin.
func (r *Realtime) Pin() {
	runtime.LockOSThread()
	if !r.want {
		return
	}
	tid := r.tid()
	if tid == r.held {
		return
	}
	r.drop()
	if err := r.set(tid, r.prio); err != nil {
		msg := err.Error()
		r.refused.Store(&msg)
		r.prio, r.want = 0, false // asked once; the kernel's answer will not change
		return
	}
	r.held = tid
	r.raised.Store(true)
}

// Unpin ends a Pin: the goroutine may move to another thread again.
func (r *Realtime) Unpin() { runtime.UnlockOSThread() }

// drop lowers the thread that has the priority, if any. A failure leaves
// nothing to do: the thread is gone, or it was lowered already.
func (r *Realtime) drop() {
	if r.held != 0 {
		_ = r.set(r.held, 0)
		r.held = 0
		r.raised.Store(false)
	}
}

// Release lowers the thread that has the priority and gives back the P
// that NewRealtime added, when the goroutine stops (it ends). Called again,
// it does nothing.
func (r *Realtime) Release() {
	if !r.released {
		r.released = true
		r.want = false
		r.drop()
		addProcs(-1)
	}
}

// CaughtUp tells r that the loop found its input empty at now: the busy
// streak ends, and after a lowering whose rest is over, the next Pin
// raises its thread again.
func (r *Realtime) CaughtUp(now time.Time) {
	r.busySince = now
	if r.prio > 0 && !r.released && !now.Before(r.restUntil) {
		r.want = true
	}
}

// Busy tells r that the loop did work at now without having caught up
// since busySince. Past the budget, the thread is lowered.
func (r *Realtime) Busy(now time.Time) {
	if r.held == 0 || now.Sub(r.busySince) < r.budget {
		return
	}
	if err := r.set(r.held, 0); err != nil {
		return // still raised; tried again at the next busy read
	}
	r.held, r.want = 0, false
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
