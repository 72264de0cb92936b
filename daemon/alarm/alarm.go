// Package alarm puts a goroutine to sleep until a given time and wakes it
// once, on time.
//
// Go's own timers cannot do that on Linux. The runtime waits for the next
// timer in epoll_wait, whose timeout counts whole milliseconds, rounded
// down. So a timer due in 32.4 ms wakes the process at 32 ms, finds nothing
// due, and sleeps a whole millisecond more. That is two wake-ups of a
// thread for one timer, and the timer fires up to a millisecond late.
// sysmon also wakes for every timer when the process is idle.
//
// An Alarm is a timerfd (nanosecond resolution) read through the runtime's
// poller: the thread waiting in epoll_wait wakes once, when the time comes.
// Its system calls are raw: they never block, and a plain call would also
// wake sysmon from its idle sleep. Two real daemons moving 25 Mb/s, with
// the frame clock on an Alarm rather than a time.Timer, used about a tenth
// less CPU (docs/benchmarks.md).
//
// Elsewhere than on Linux, or where no timerfd can be made, an Alarm is a
// time.Timer.
package alarm

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStopped is Until's error once Stop or Close was called.
var ErrStopped = errors.New("alarm: stopped")

// Alarm sleeps one goroutine at a time. Until and For are for that one
// goroutine; Stop and Close are safe for concurrent use.
type Alarm struct {
	sys     *sysAlarm // nil: a time.Timer
	stopped atomic.Bool
	waits   atomic.Uint64 // sleeps begun on the timerfd, for tests
	stopCh  chan struct{}
	once    sync.Once

	// The context Until was last called with, and how to stop waking for
	// it; the sleeper's.
	ctx   context.Context
	unreg func() bool
}

// New returns an Alarm.
func New() *Alarm {
	a := &Alarm{stopCh: make(chan struct{})}
	a.sys = newSysAlarm()
	return a
}

// Until sleeps until t. It returns nil at t or later (at once if t has
// passed), ctx.Err() when ctx is done first, and ErrStopped once Stop or
// Close was called.
func (a *Alarm) Until(ctx context.Context, t time.Time) error {
	if err := a.check(ctx); err != nil {
		return err
	}
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	if a.sys == nil {
		return a.sleepTimer(ctx, d)
	}
	a.follow(ctx)
	for {
		if err := a.sys.arm(d); err != nil {
			if a.stopped.Load() {
				return ErrStopped // closed
			}
			return a.sleepTimer(ctx, d) // never seen: the timerfd works or New did not make one
		}
		// A Stop or a done ctx that came before arm was overwritten by
		// it: look after arming.
		if err := a.check(ctx); err != nil {
			return err
		}
		a.waits.Add(1)
		if err := a.sys.wait(); err != nil {
			return ErrStopped // closed
		}
		if err := a.check(ctx); err != nil {
			return err
		}
		if d = time.Until(t); d <= 0 {
			return nil
		}
		// Woken early: a wake for a context no longer followed.
	}
}

// For sleeps for d; see Until.
func (a *Alarm) For(ctx context.Context, d time.Duration) error {
	return a.Until(ctx, time.Now().Add(d))
}

// Stop makes a sleeping Until return ErrStopped, and every later one. Safe
// for concurrent use.
func (a *Alarm) Stop() {
	a.once.Do(func() {
		a.stopped.Store(true)
		close(a.stopCh)
		if a.sys != nil {
			a.sys.wake()
		}
	})
}

// Close stops the Alarm and releases its timerfd. Safe for concurrent use,
// also with a sleeping Until, which returns ErrStopped.
func (a *Alarm) Close() error {
	a.Stop()
	if a.sys != nil {
		return a.sys.close()
	}
	return nil
}

func (a *Alarm) check(ctx context.Context) error {
	if a.stopped.Load() {
		return ErrStopped
	}
	return ctx.Err()
}

// follow makes ctx's end wake the sleeper; it registers once per context,
// so a sleeper that passes the same context each time allocates nothing.
func (a *Alarm) follow(ctx context.Context) {
	if ctx == a.ctx {
		return
	}
	if a.unreg != nil {
		a.unreg()
	}
	a.ctx, a.unreg = ctx, nil
	if ctx.Done() != nil {
		a.unreg = context.AfterFunc(ctx, a.sys.wake)
	}
}

// sleepTimer is Until on a time.Timer.
func (a *Alarm) sleepTimer(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-a.stopCh:
		return ErrStopped
	}
}
