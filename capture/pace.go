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

// sleepUntil waits on the source's alarm until t (the frame clock wakes
// the process once per frame, on time: see daemon/alarm), ctx is done or
// the source is closed.
func (s *Source) sleepUntil(ctx context.Context, t time.Time) error {
	if err := s.alarm.Until(ctx, t); err != nil {
		if errors.Is(err, alarm.ErrStopped) {
			return ErrClosed
		}
		return err
	}
	return nil
}
