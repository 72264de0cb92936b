package impair

import (
	"math/rand/v2"
	"time"
)

// delayLine adds a fixed delay plus uniform jitter. Without reordering it
// holds a datagram back until the previous one has left, so order is kept
// and no datagram leaves before the one that entered before it; the release
// time stays within [delay-jitter, delay+jitter] of its entry because the
// previous datagram entered no later.
type delayLine struct {
	rng     *rand.Rand
	delay   time.Duration
	jitter  time.Duration
	reorder bool
	last    time.Duration // latest release time handed out
}

func newDelayLine(p Params, rng *rand.Rand) delayLine {
	return delayLine{rng: rng, delay: p.Delay, jitter: p.Jitter, reorder: p.Reorder}
}

// release returns when a datagram entering at t leaves, and whether it
// leaves before a datagram that entered earlier. Entry times must not
// decrease.
func (d *delayLine) release(t time.Duration) (at time.Duration, reordered bool) {
	at = t + d.delay
	if d.jitter > 0 {
		at += time.Duration(d.rng.Int64N(2*int64(d.jitter)+1)) - d.jitter
		if at < t {
			at = t
		}
	}
	if at < d.last {
		if !d.reorder {
			at = d.last
		} else {
			reordered = true
		}
	}
	if at > d.last {
		d.last = at
	}
	return at, reordered
}
