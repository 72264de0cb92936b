// Package congestion owns the sender's estimate of the bit rate the path to
// the peer carries without building a queue: the target the encoder, the
// parity and the pacer must fit into.
//
// # How it decides
//
// It follows Google Congestion Control (draft-ietf-rmcat-gcc) in spirit,
// with the delay signal measured the way SCReAM (RFC 8298) does it, and is
// small enough to explain in a paragraph each:
//
// Queue delay. Every feedback pairs a few datagrams' arrival times (the
// receiver's clock) with the times this endpoint sent them (its own
// clock). Their difference is the one-way delay plus an unknown, constant
// clock offset; its minimum over the last BaseWindow is the path's delay
// with an empty queue. What exceeds that minimum is queueing: the queue
// delay. Each feedback's lowest sample counts, since a standing queue
// raises every sample while a scheduling hiccup or a frame's own burst
// raises only some. A smoothed queue delay above QueueHigh, or above
// QueueLow and still growing, for two feedbacks in a row is overuse: a
// queue is building at the bottleneck.
//
// Loss. Loss is congestion only when the queue says so: a tail-drop queue
// that overflows is full, so its delay sits above QueueLoss; or when the
// loss falls late in frames, where a short queue overflowing drops from
// frames' bursts: more than LateRatio times the loss rate of the frames'
// first halves. Random loss
// with an empty queue (radio, a bad cable) is the parity's business, not
// the rate's; only loss so high that parity cannot carry it (LossSevere)
// lowers the rate on its own.
//
// Decrease. On overuse the target drops to Beta times the rate the
// receiver measured arriving, which on a full bottleneck is its capacity,
// though to no less than MaxCut of itself at once, and no further decrease
// follows for a round trip plus Holdoff, so that the queue can drain.
//
// Increase. Otherwise the target grows: by NearAdd a second while it is
// near the capacity last measured at a decrease (the same amount for
// every call, so that calls sharing a bottleneck converge to equal
// shares), and by Growth per second, up to MaxGrowth after a calm spell,
// when far from it. That capacity is forgotten once more than Beyond
// times it arrives (the path carries more now), or after Forget without
// congestion. The target never runs ahead of what is really sent by more
// than Headroom times the receive rate, so an encoder that does not fill
// the target cannot make the estimate meaningless.
//
// A Controller is not safe for concurrent use; the daemon serialises
// feedback and reads through its own lock. Its zero value is not usable:
// call New.
package congestion

import (
	"fmt"
	"math"
	"time"
)

// Tuning. The values are those of GCC where it has one (Beta), chosen for
// interactive video on the links of DESIGN.md otherwise. Headroom is wider
// than GCC's 1.5: an encoder ladder moves in steps, and a frame-rate step
// can double the rate.
const (
	BaseWindow = 10 * time.Second       // the minimum one-way delay is taken over this long
	QueueLow   = 10 * time.Millisecond  // queue delay that is overuse when growing
	QueueHigh  = 30 * time.Millisecond  // queue delay that is overuse by itself
	QueueLoss  = 8 * time.Millisecond   // loss with at least this queue is congestion
	Holdoff    = 250 * time.Millisecond // added to the round trip between decreases
	Beta       = 0.85                   // decrease to this share of the receive rate
	MaxCut     = 0.5                    // but to no less than this share of the target at once
	LossMin    = 0.02                   // loss below this is never congestion
	LossSevere = 0.35                   // loss above this lowers the rate whatever the queue
	NearAdd    = 600e3                  // growth, bits per second per second, near the last capacity
	Growth     = 0.10                   // growth per second far from it
	MaxGrowth  = 0.35                   // growth per second after a long calm spell
	Headroom   = 2.5                    // the target stays within this factor of the receive rate
	StartRate  = 20e6                   // the default start, bits per second: a 720p JPEG stream fits it at quality 50 or so
	// LateRatio: loss in the second halves of frames (and across their
	// ends) at more than this many times the rate of their first halves
	// is a router queue overflowing under every frame's burst (a short
	// queue at a high rate: 64 KB are 13 ms at 40 Mb/s, too little to see
	// in the delay); random loss hits both halves alike.
	LateRatio  = 3
	Forget     = 10 * time.Second       // calm after which the capacity met at the last decrease is forgotten
	Beyond     = 1.15                   // or once this much more than it arrives
	smoothing  = 0.3                    // weight of a new queue-delay sample
	rateWindow = 500 * time.Millisecond // the receive rate is averaged over this long
	// lossSample and lateSample: the loss rules need this many datagrams
	// expected, and this many lost late in frames, in their smoothed sums.
	lossSample = 60
	lateSample = 4
)

// Config bounds the controller.
type Config struct {
	Min, Max float64 // bits per second, 0 < Min <= Max
	Start    float64 // initial target; 0: StartRate within Min..Max
}

// State is where the controller stands, for status.
type State string

// States.
const (
	StateStart    State = "start"    // no feedback yet
	StateIncrease State = "increase" // the path is clean: probing upwards
	StateHold     State = "hold"     // waiting after a decrease, or the queue is draining
	StateDecrease State = "decrease" // overuse seen: the target was cut
)

// Feedback is one receiver feedback as the controller needs it, in the
// sender's terms. Values are clamped on use.
type Feedback struct {
	At       time.Time       // when it arrived here
	Delays   []time.Duration // one-way delay samples: arrival (peer's clock) minus send (ours)
	Received uint32          // datagrams received in the interval
	Expected uint32          // datagrams the packet numbers say were sent
	TailLost uint32          // of the missing ones, those late in frames
	TailSeen uint32          // datagrams received late in their frames
	Bytes    uint32          // bytes received in the interval
	Interval time.Duration   // the interval, at the receiver
	RTT      time.Duration   // current round-trip estimate; 0 unknown
}

// Snapshot is the controller's state, for status and logs.
type Snapshot struct {
	State       State
	Target      float64       // bits per second
	ReceiveRate float64       // bits per second, as the receiver measured
	Capacity    float64       // receive rate at the last decrease; 0 none
	QueueDelay  time.Duration // smoothed
	Loss        float64       // over the last feedbacks
	LateLoss    float64       // loss rate in the second halves of frames
	EarlyLoss   float64       // and in their first halves
	Reason      string        // why the target last changed direction
	Changed     time.Time     // when that was
	LastCut     time.Time     // the last decrease; zero: none yet
}

// Controller estimates the target rate from feedback.
type Controller struct {
	cfg   Config
	snap  Snapshot
	last  time.Time // previous feedback
	calm  time.Time // start of the current spell without overuse
	cutAt time.Time // last decrease

	base        [baseBuckets]bucket // per-second minima of the one-way delay
	prevQ       time.Duration
	overuse     int               // feedbacks in a row that showed a queue
	rx          [rxSlots]rxSample // recent receive intervals
	rxNext      int
	loss        LossSums // smoothed lost and expected datagrams
	late, early LossSums // smoothed, by half of the frame
}

const (
	baseBuckets = 10 // BaseWindow in one-second buckets
	rxSlots     = 32
)

type bucket struct {
	sec int64 // Unix seconds of the bucket; 0: empty
	min time.Duration
}

type rxSample struct {
	at       time.Time
	bytes    float64
	interval time.Duration
}

// New returns a controller at its start rate.
func New(cfg Config) (*Controller, error) {
	if !(cfg.Min > 0) || !(cfg.Max >= cfg.Min) || math.IsInf(cfg.Max, 0) {
		return nil, fmt.Errorf("congestion: bounds %g..%g b/s: want 0 < min <= max", cfg.Min, cfg.Max)
	}
	if cfg.Start == 0 {
		cfg.Start = StartRate
	}
	c := &Controller{cfg: cfg}
	c.snap = Snapshot{State: StateStart, Target: clamp(cfg.Start, cfg.Min, cfg.Max), Reason: "start"}
	return c, nil
}

// SetBounds changes the bounds (a reload); the target is clamped into them.
func (c *Controller) SetBounds(lo, hi float64) {
	if lo > 0 && hi >= lo {
		c.cfg.Min, c.cfg.Max = lo, hi
		c.snap.Target = clamp(c.snap.Target, lo, hi)
	}
}

// Target is the current target in bits per second.
func (c *Controller) Target() float64 { return c.snap.Target }

// Snapshot returns the state for status.
func (c *Controller) Snapshot() Snapshot { return c.snap }

// OnFeedback updates the estimate with one feedback and returns the new
// target.
func (c *Controller) OnFeedback(f Feedback) float64 {
	now := f.At
	dt := 0.0
	if !c.last.IsZero() {
		dt = min(max(now.Sub(c.last).Seconds(), 0), 1)
	}
	c.last = now
	if c.calm.IsZero() {
		c.calm = now
	}
	c.observeRate(f)
	c.observeLoss(f)
	q, haveQ := c.observeDelay(f, now)
	rate := c.snap.ReceiveRate
	loss := c.snap.Loss

	growing := haveQ && q > c.prevQ+time.Millisecond
	c.prevQ = q
	// A queue counts once two feedbacks in a row show it: one could be a
	// hiccup of either host.
	queued := haveQ && (q > QueueHigh || q > QueueLow && growing)
	if queued {
		c.overuse++
	} else {
		c.overuse = 0
	}
	var why string
	switch {
	case queued && c.overuse >= 2 && q > QueueHigh:
		why = fmt.Sprintf("queue delay %.0f ms over %.0f ms", ms(q), ms(QueueHigh))
	case queued && c.overuse >= 2:
		why = fmt.Sprintf("queue delay %.0f ms and growing", ms(q))
	case c.loss.Expected < lossSample:
		// Too few datagrams lately for a loss rate to mean anything: at a
		// low rate one lost datagram would read as several percent.
	case loss > LossMin && haveQ && q > QueueLoss:
		why = fmt.Sprintf("loss %.1f%% with a %.0f ms queue", loss*100, ms(q))
	case c.Overflowing():
		why = fmt.Sprintf("loss %.1f%% late in frames against %.1f%% early: a queue overflows", c.snap.LateLoss*100, c.snap.EarlyLoss*100)
	case loss > LossSevere:
		why = fmt.Sprintf("loss %.1f%%, more than parity can carry", loss*100)
	}
	if why != "" {
		c.calm = now
		if now.Sub(c.cutAt) < f.RTT+Holdoff {
			c.set(StateHold, c.snap.Target, "", now)
			return c.snap.Target
		}
		c.cutAt, c.snap.LastCut = now, now
		// To Beta times what arrives, but never below MaxCut of the target
		// in one step: a stall of either host (no datagram arrives for a
		// while) must not throw away the estimate; congestion that persists
		// cuts again after the holdoff.
		next := Beta * c.snap.Target
		if rate > 0 {
			next = max(Beta*min(c.snap.Target, rate), MaxCut*c.snap.Target)
		}
		c.snap.Capacity = rate
		c.set(StateDecrease, next, why, now)
		return c.snap.Target
	}
	if now.Sub(c.cutAt) < f.RTT+Holdoff || (haveQ && q > QueueLow) {
		c.set(StateHold, c.snap.Target, "", now)
		return c.snap.Target
	}
	if now.Sub(c.calm) > Forget || rate > Beyond*c.snap.Capacity {
		c.snap.Capacity = 0 // the path changed: probe freely
	}
	g := Growth + (MaxGrowth-Growth)*min(now.Sub(c.calm).Seconds()/5, 1)
	next := c.snap.Target * (1 + g*dt)
	if cap := c.snap.Capacity; cap > 0 && c.snap.Target < 1.1*cap && c.snap.Target > 0.7*cap {
		// Close to where the queue built last time: grow by the same
		// amount whatever the rate, so that calls sharing a bottleneck
		// converge to equal shares (additive increase, multiplicative
		// decrease).
		next = c.snap.Target + NearAdd*dt
	}
	if rate > 0 {
		next = min(next, Headroom*rate+100e3)
	}
	next = max(next, c.snap.Target*0.98) // an idle sender does not lose its estimate at once
	c.set(StateIncrease, next, "no congestion: probing upwards", now)
	return c.snap.Target
}

// set moves to state and target, recording why when the direction
// changes.
func (c *Controller) set(s State, target float64, why string, now time.Time) {
	if why != "" && (s != c.snap.State || s == StateDecrease) {
		c.snap.Reason, c.snap.Changed = why, now
	}
	c.snap.State = s
	c.snap.Target = clamp(target, c.cfg.Min, c.cfg.Max)
}

// observeRate adds the interval to the receive rate's window.
func (c *Controller) observeRate(f Feedback) {
	iv := min(max(f.Interval, 0), time.Second)
	if iv == 0 {
		return
	}
	c.rx[c.rxNext] = rxSample{at: f.At, bytes: float64(f.Bytes), interval: iv}
	c.rxNext = (c.rxNext + 1) % rxSlots
	var bytes float64
	var span time.Duration
	for _, s := range c.rx {
		if !s.at.IsZero() && f.At.Sub(s.at) < rateWindow {
			bytes += s.bytes
			span += s.interval
		}
	}
	if span > 0 {
		c.snap.ReceiveRate = bytes * 8 / span.Seconds()
	}
}

// observeLoss smooths the loss ratio over roughly the last second.
func (c *Controller) observeLoss(f Feedback) {
	exp := float64(f.Expected)
	got := min(float64(f.Received), exp)
	// 0.85 per 50 ms of feedback interval (the receiver's least; at 30 fps
	// feedback comes every 66 ms), so the memory is the same in time.
	iv := min(max(f.Interval, time.Millisecond), time.Second)
	keep := math.Pow(0.85, iv.Seconds()/0.05)
	c.loss.Add(exp-got, exp, keep)
	if c.loss.Expected > 0 {
		c.snap.Loss = c.loss.Ratio()
	}
	lateLost := min(float64(f.TailLost), exp-got)
	lateSeen := min(float64(f.TailSeen), got)
	c.late.Add(lateLost, lateLost+lateSeen, keep)
	c.early.Add(exp-got-lateLost, exp-got-lateLost+got-lateSeen, keep)
	c.snap.LateLoss, c.snap.EarlyLoss = c.late.Ratio(), c.early.Ratio()
}

// observeDelay updates the base delay and the smoothed queue delay, and
// returns the queue delay, or false when the feedback carried no delay
// sample.
func (c *Controller) observeDelay(f Feedback, now time.Time) (time.Duration, bool) {
	if len(f.Delays) == 0 {
		return c.snap.QueueDelay, false
	}
	sec := now.Unix()
	b := &c.base[sec%baseBuckets]
	low := f.Delays[0]
	for _, d := range f.Delays {
		if b.sec != sec || d < b.min {
			*b = bucket{sec: sec, min: d}
		}
		low = min(low, d)
	}
	base := b.min
	for _, o := range c.base {
		if o.sec != 0 && sec-o.sec < baseBuckets && o.min < base {
			base = o.min
		}
	}
	// The feedback's lowest delay: a standing queue raises every sample,
	// while scheduling hiccups and a frame's own burst raise only some.
	q := low - base
	if c.snap.QueueDelay == 0 {
		c.snap.QueueDelay = q
	} else {
		c.snap.QueueDelay += time.Duration(smoothing * float64(q-c.snap.QueueDelay))
	}
	return c.snap.QueueDelay, true
}

// Overflowing reports whether the loss falls late in frames, as a router
// queue that frames' bursts overflow drops: congestion, which parity
// would only feed.
func (c *Controller) Overflowing() bool {
	return c.late.Lost >= lateSample && c.snap.LateLoss > LossMin && c.snap.LateLoss > LateRatio*c.snap.EarlyLoss
}

// LossSums are lost and expected datagrams in sums that decay by a factor
// at every addition: a loss ratio that forgets. The zero value is empty;
// it is not safe for concurrent use.
type LossSums struct{ Lost, Expected float64 }

// Add decays the sums by keep (0..1), then adds lost of expected.
func (l *LossSums) Add(lost, expected, keep float64) {
	l.Lost = l.Lost*keep + lost
	l.Expected = l.Expected*keep + expected
}

// Ratio is the loss ratio; 0 while nothing was expected.
func (l *LossSums) Ratio() float64 {
	if l.Expected <= 0 {
		return 0
	}
	return l.Lost / l.Expected
}

func clamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
