package capture

import (
	"context"
	"errors"
	"time"

	"github.com/vstreamd/vstreamd/daemon/alarm"
)

// pacer keeps the grid of frame slots: slot n is due at start + n*period.
// Frames come at most one per slot, so never faster than the rate; a slot
// whose time has passed by a whole period is missed, never made up.
//
// A pacer is not safe for concurrent use; its zero value starts its grid at
// the first call to catchUp.
type pacer struct {
	period time.Duration
	due    time.Time // due time of the next slot; zero before the first
}

func newPacer(fps int) pacer { return pacer{period: time.Second / time.Duration(clampFPS(fps))} }

// setRate changes the rate, keeping the time of the last slot.
func (p *pacer) setRate(fps int) {
	period := time.Second / time.Duration(clampFPS(fps))
	if period == p.period {
		return
	}
	if !p.due.IsZero() {
		p.due = p.due.Add(period - p.period)
	}
	p.period = period
}

// catchUp moves the next slot past the ones that now can no longer be met
// (those due a whole period or more before now) and returns how many it
// skipped.
func (p *pacer) catchUp(now time.Time) uint64 {
	if p.due.IsZero() {
		p.due = now
		return 0
	}
	late := now.Sub(p.due)
	if late < p.period {
		return 0
	}
	missed := uint64(late / p.period)
	p.due = p.due.Add(time.Duration(missed) * p.period)
	return missed
}

// advance moves to the next slot.
func (p *pacer) advance() { p.due = p.due.Add(p.period) }

// tolerance is how early a live frame may arrive for the next slot: a camera
// running at the configured rate jitters around the grid.
func (p *pacer) tolerance() time.Duration { return p.period / 4 }

// accept moves the grid after a live frame captured at at filled the next
// slot. A frame later than the slot by a period or more restarts the grid
// from it, so a camera slightly slower than the rate does not drift into
// ever later slots.
func (p *pacer) accept(at time.Time) {
	if p.due.IsZero() || at.Sub(p.due) >= p.period {
		p.due = at.Add(p.period)
		return
	}
	p.advance()
}

// sleepUntil waits until t, ctx is done or the source is closed.
//
// A replay (jpegs) waits on an alarm (daemon/alarm): the daemon's send
// loop calls it itself, and the alarm wakes the process once per frame, on
// time, where a Go timer wakes it twice. A source that encodes waits on a
// Go timer: it runs on a thread locked for it (daemon/sched), and a Go
// timer's firing also wakes a spare thread, which then watches the network
// while the encoder holds its own. Woken through the poller instead, the
// locked goroutine takes the poller's thread's processor and leaves the
// network unwatched until sysmon looks, up to 10 ms later: in a two-way
// H.264 call on one 2-core host the receive loop's transport latency went
// from 0.2 ms to 3-6 ms at the median.
func (s *Source) sleepUntil(ctx context.Context, t time.Time) error {
	if s.alarm != nil {
		err := s.alarm.Until(ctx, t)
		if errors.Is(err, alarm.ErrStopped) {
			return ErrClosed
		}
		return err
	}
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	select {
	case <-s.timer.C:
		return nil
	case <-ctx.Done():
		s.timer.Stop()
		return ctx.Err()
	case <-s.stop:
		s.timer.Stop()
		return ErrClosed
	}
}
