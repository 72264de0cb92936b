package daemon

import (
	"math"
	"sync/atomic"
	"time"
)

// paceBurst is how many bytes go out back to back before pacing holds the
// sender: about a dozen datagrams.
const paceBurst = 16 << 10

// pacer spreads datagrams at a rate ([transport] max_rate_mbps) with a
// token bucket, so that a frame does not reach a shallow router queue as
// one burst. wait is for the send loop only; setRate is safe for
// concurrent use. A rate of 0 means no pacing, at no cost.
type pacer struct {
	rate   atomic.Uint64 // bytes per second, as float64 bits; 0: off
	tokens float64       // bytes that may go now; negative: owed
	last   time.Time
}

// setRate sets the rate in megabits per second.
func (p *pacer) setRate(mbps float64) { p.setRateBps(mbps * 1e6) }

// setRateBps sets the rate in bits per second.
func (p *pacer) setRateBps(bps float64) {
	p.rate.Store(math.Float64bits(bps / 8))
}

// bps returns the rate in bits per second; 0: off.
func (p *pacer) bps() float64 { return math.Float64frombits(p.rate.Load()) * 8 }

// wait returns when n more bytes may be sent.
func (p *pacer) wait(n int) {
	if d := p.hold(n); d > 0 {
		time.Sleep(d)
	}
}

// hold takes n bytes from the bucket and returns how long the sender must
// wait before sending them: 0 until a millisecond's worth is owed, so the
// sender wakes at most about a thousand times a second whatever the rate.
// A sender that batches sends what it holds first, then waits: a batch
// never carries more than the pacer allows.
func (p *pacer) hold(n int) time.Duration {
	r := math.Float64frombits(p.rate.Load())
	if r <= 0 {
		return 0
	}
	now := time.Now()
	if p.last.IsZero() {
		p.tokens = paceBurst
	} else {
		p.tokens = min(paceBurst, p.tokens+now.Sub(p.last).Seconds()*r)
	}
	p.last = now
	// The debt is bounded: whatever the rate, the sender is never held for
	// more than maxPaceWait at once (a rate set absurdly low must not stall
	// the send loop, or its shutdown).
	p.tokens = max(p.tokens-float64(n), -r*maxPaceWait.Seconds())
	if owed := -p.tokens; owed > r/1000 {
		return time.Duration(owed / r * float64(time.Second))
	}
	return 0
}

// maxPaceWait bounds one pacing wait.
const maxPaceWait = 100 * time.Millisecond
