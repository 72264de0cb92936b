package congestion

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// link is a synthetic bottleneck: a FIFO of capacity bits per second behind
// a tail-drop queue of queueBytes, plus random loss, fed at the
// controller's target (or less, when the application is limited). Every
// 50 ms it produces the feedback a receiver would send.
type link struct {
	capacity   float64 // bits per second
	queueBytes float64
	loss       float64 // random loss after the queue
	appRate    float64 // the most the sender has to send; 0: unlimited
	backlog    float64 // bytes queued
	baseDelay  time.Duration
	offset     time.Duration // receiver clock minus sender clock
	rng        *rand.Rand
	now        time.Time
}

const step = 50 * time.Millisecond

func newLink(capacity float64) *link {
	return &link{
		capacity: capacity, queueBytes: 64 << 10, baseDelay: 5 * time.Millisecond,
		offset: 3 * time.Hour, rng: rand.New(rand.NewPCG(1, 2)), now: time.Unix(1_700_000_000, 0),
	}
}

// tick sends at rate for one step and returns the feedback.
func (l *link) tick(rate float64) Feedback {
	if l.appRate > 0 {
		rate = min(rate, l.appRate)
	}
	dt := step.Seconds()
	const dgram = 1200.0
	sent := rate * dt / 8
	n := int(sent / dgram)
	drain := l.capacity * dt / 8
	var received, bytes float64
	var delays []time.Duration
	for i := range n {
		// datagrams spread evenly over the step; the queue drains meanwhile
		l.backlog = max(0, l.backlog-drain/float64(n))
		if l.backlog+dgram > l.queueBytes {
			continue // tail drop
		}
		l.backlog += dgram
		if l.rng.Float64() < l.loss {
			continue
		}
		received++
		bytes += dgram
		if i%8 == 0 {
			q := time.Duration(l.backlog * 8 / l.capacity * float64(time.Second))
			jitter := time.Duration(l.rng.IntN(1000)) * time.Microsecond
			delays = append(delays, l.offset+l.baseDelay+q+jitter)
		}
	}
	if n == 0 {
		l.backlog = max(0, l.backlog-drain)
	}
	l.now = l.now.Add(step)
	return Feedback{
		At: l.now, Delays: delays, Received: uint32(received), Expected: uint32(n),
		Bytes: uint32(bytes), Interval: step, RTT: 2 * l.baseDelay,
	}
}

// run drives c for d and returns the mean target over the last second.
func (l *link) run(t *testing.T, c *Controller, d time.Duration) (lastSecond float64) {
	t.Helper()
	steps := int(d / step)
	var sum float64
	var n int
	for i := range steps {
		target := c.OnFeedback(l.tick(c.Target()))
		if math.IsNaN(target) || target < c.cfg.Min || target > c.cfg.Max {
			t.Fatalf("target %g outside %g..%g", target, c.cfg.Min, c.cfg.Max)
		}
		if i >= steps-int(time.Second/step) {
			sum += target
			n++
		}
	}
	return sum / float64(n)
}

func newController(t *testing.T) *Controller {
	t.Helper()
	c, err := New(Config{Min: 300e3, Max: 50e6, Start: 33e6})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQueueBuildingCutsToCapacity(t *testing.T) {
	for _, capacity := range []float64{5e6, 10e6, 20e6} {
		c := newController(t)
		l := newLink(capacity)
		got := l.run(t, c, 5*time.Second)
		if got > 1.05*capacity || got < 0.6*capacity {
			t.Errorf("capacity %g: target after 5 s = %.2f Mb/s, want 0.6..1.05 of capacity (state %+v)", capacity, got/1e6, c.Snapshot())
		}
		// Settled: over the next 10 s the queue stays short and the link busy.
		var qsum time.Duration
		var n int
		for range 200 {
			c.OnFeedback(l.tick(c.Target()))
			qsum += time.Duration(l.backlog * 8 / capacity * float64(time.Second))
			n++
		}
		if mean := qsum / time.Duration(n); mean > QueueHigh {
			t.Errorf("capacity %g: mean queue delay %v once settled, want under %v", capacity, mean, QueueHigh)
		}
		if c.Target() < 0.6*capacity {
			t.Errorf("capacity %g: target %.2f Mb/s once settled, want at least 0.6 of capacity", capacity, c.Target()/1e6)
		}
	}
}

func TestRandomLossIsNotCongestion(t *testing.T) {
	c := newController(t)
	l := newLink(1e9)
	l.loss = 0.15
	l.appRate = 33e6
	got := l.run(t, c, 10*time.Second)
	if got < 0.9*33e6 {
		t.Errorf("15%% random loss on a fat link: target %.2f Mb/s, want it kept near 33 (state %+v)", got/1e6, c.Snapshot())
	}
	if s := c.Snapshot(); s.Loss < 0.1 || s.Loss > 0.2 {
		t.Errorf("loss estimate %.3f, want about 0.15", s.Loss)
	}
}

func TestSevereLossLowersTheRate(t *testing.T) {
	c := newController(t)
	l := newLink(1e9)
	l.loss = 0.5
	got := l.run(t, c, 5*time.Second)
	if got > 10e6 {
		t.Errorf("50%% loss: target %.2f Mb/s after 5 s, want it cut well below 33", got/1e6)
	}
}

func TestCapacityStepDownAndUp(t *testing.T) {
	c := newController(t)
	l := newLink(40e6)
	l.appRate = 33e6
	l.run(t, c, 5*time.Second)
	l.capacity = 8e6
	// Within 3 s of the drop the target fits the new capacity.
	if got := l.run(t, c, 3*time.Second); got > 8e6 {
		t.Errorf("3 s after 40 -> 8 Mb/s: target %.2f Mb/s, want at most 8", got/1e6)
	}
	l.run(t, c, 10*time.Second)
	l.capacity = 40e6
	if got := l.run(t, c, 15*time.Second); got < 25e6 {
		t.Errorf("15 s after 8 -> 40 Mb/s: target %.2f Mb/s, want at least 25 (state %+v)", got/1e6, c.Snapshot())
	}
}

func TestHostileFeedbackStaysBounded(t *testing.T) {
	c := newController(t)
	now := time.Unix(1_700_000_000, 0)
	for i, f := range []Feedback{
		{Received: 1 << 31, Expected: 1, Bytes: math.MaxUint32, Interval: time.Nanosecond},
		{Received: 0, Expected: math.MaxUint32, Interval: -time.Second},
		{Delays: []time.Duration{math.MinInt64 / 2, math.MaxInt64 / 2}, Interval: time.Hour},
		{Delays: []time.Duration{-time.Hour}, RTT: -time.Hour},
		{},
	} {
		f.At = now.Add(time.Duration(i) * step)
		got := c.OnFeedback(f)
		if math.IsNaN(got) || got < c.cfg.Min || got > c.cfg.Max {
			t.Fatalf("feedback %d: target %g outside the bounds", i, got)
		}
		if s := c.Snapshot(); math.IsNaN(s.Loss) || s.Loss < 0 || s.Loss > 1 || math.IsNaN(s.ReceiveRate) {
			t.Fatalf("feedback %d: snapshot %+v", i, s)
		}
	}
}

func TestNewRejectsBadBounds(t *testing.T) {
	for _, cfg := range []Config{{}, {Min: 2, Max: 1}, {Min: -1, Max: 1}, {Min: 1, Max: math.Inf(1)}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

func TestReasonSaysWhy(t *testing.T) {
	c := newController(t)
	l := newLink(10e6)
	l.run(t, c, 2*time.Second)
	s := c.Snapshot()
	if s.Reason == "" || s.Reason == "start" || s.Capacity == 0 {
		t.Fatalf("after overuse: %+v, want a reason and a capacity", s)
	}
}

// TestStallDoesNotThrowAwayTheEstimate: a host that stalls for a moment
// (nothing arrives, then everything late) costs at most MaxCut per holdoff.
func TestStallDoesNotThrowAwayTheEstimate(t *testing.T) {
	c := newController(t)
	l := newLink(100e6)
	l.appRate = 30e6
	l.run(t, c, 5*time.Second)
	before := c.Target()
	f := l.tick(c.Target())
	for i := range f.Delays {
		f.Delays[i] += 800 * time.Millisecond
	}
	f.Bytes = 1200
	c.OnFeedback(f)
	c.OnFeedback(l.tick(c.Target()))
	if got := c.Target(); got < MaxCut*before*0.99 {
		t.Fatalf("after a stall: target %.1f Mb/s, was %.1f: cut by more than MaxCut", got/1e6, before/1e6)
	}
}

// TestTwoCallsConverge shares one 20 Mb/s bottleneck between two
// controllers that start far apart; their targets end within a factor of
// two of each other.
func TestTwoCallsConverge(t *testing.T) {
	c1, _ := New(Config{Min: 300e3, Max: 50e6, Start: 18e6})
	c2, _ := New(Config{Min: 300e3, Max: 50e6, Start: 1e6})
	l := newLink(20e6)
	now := l.now
	var sum1, sum2 float64
	for i := range 1200 { // 60 s
		r1, r2 := c1.Target(), c2.Target()
		f := l.tick(r1 + r2) // the queue sees both; each gets its share
		share := r1 / (r1 + r2)
		now = now.Add(step)
		f1, f2 := f, f
		f1.Bytes, f2.Bytes = uint32(float64(f.Bytes)*share), uint32(float64(f.Bytes)*(1-share))
		f1.At, f2.At = now, now
		c1.OnFeedback(f1)
		c2.OnFeedback(f2)
		if i >= 800 {
			sum1 += c1.Target()
			sum2 += c2.Target()
		}
	}
	ratio := max(sum1, sum2) / min(sum1, sum2)
	if ratio > 2 || sum1+sum2 > 400*21e6 {
		t.Errorf("last 20 s: mean targets %.1f and %.1f Mb/s (ratio %.2f), want within a factor of 2 and within the 20 Mb/s link",
			sum1/400/1e6, sum2/400/1e6, ratio)
	}
}

// TestShortQueueOverflowIsCongestion: at a high rate a 64 KB queue holds
// only 13 ms, too little to see in the delay, so frames overflowing it
// show as loss late in frames; that is congestion, while the same loss
// spread over the frames is not, whatever the frames' size.
func TestShortQueueOverflowIsCongestion(t *testing.T) {
	for _, tc := range []struct {
		name           string
		lateLost, seen uint32 // of 20 lost of 200 per feedback; seen: received late in frames
		cut            bool
	}{
		{"overflowing frames", 18, 82, true},
		{"random loss, big frames", 10, 90, false},
		{"random loss, frames of 3 datagrams", 14, 120, false}, // 2 of 3 positions are late
	} {
		c := newController(t)
		now := time.Unix(1_700_000_000, 0)
		for i := range 40 {
			now = now.Add(step)
			f := Feedback{At: now, Received: 180, Expected: 200, TailLost: tc.lateLost, TailSeen: tc.seen,
				Bytes: 180 * 1200, Interval: step, Delays: []time.Duration{time.Second, time.Second + time.Millisecond}}
			if i < 10 {
				f.Received, f.Bytes, f.TailLost, f.TailSeen = 200, 200*1200, 0, 100
			}
			c.OnFeedback(f)
		}
		if got := c.Target() < 33e6*0.9; got != tc.cut {
			t.Errorf("%s: target %.1f Mb/s from 33, cut %v, want %v (%+v)", tc.name, c.Target()/1e6, got, tc.cut, c.Snapshot())
		}
	}
}

// TestFewDatagramsSayNothing: at a low rate one lost datagram reads as
// several percent of loss; 2% random loss at 5 datagrams a feedback must
// not pass for congestion, even when the lost ones fall late in frames.
func TestFewDatagramsSayNothing(t *testing.T) {
	c, _ := New(Config{Min: 300e3, Max: 50e6, Start: 1e6})
	now := time.Unix(1_700_000_000, 0)
	for i := range 400 { // 20 s
		now = now.Add(step)
		f := Feedback{At: now, Received: 5, Expected: 5, TailSeen: 2, Bytes: 5 * 1200, Interval: step,
			Delays: []time.Duration{time.Second + 9*time.Millisecond, time.Second + 10*time.Millisecond}}
		if i == 0 {
			f.Delays = []time.Duration{time.Second}
		}
		if i%10 == 5 { // 2% of the datagrams, each late in its frame
			f.Received, f.TailLost, f.Bytes = 4, 1, 4*1200
		}
		c.OnFeedback(f)
		if s := c.Snapshot(); s.State == StateDecrease {
			t.Fatalf("feedback %d: cut (%s) on a lone lost datagram at a low rate", i, s.Reason)
		}
	}
}

// TestLossMemoryIsInTime: the smoothed loss forgets at the same pace in
// time whatever the feedback interval: after 10% loss for a while, then a
// clean 300 ms, feedback every 50 ms and every 100 ms (the receiver sends it
// 50-90 ms apart) give the same estimate.
func TestLossMemoryIsInTime(t *testing.T) {
	var got [2]float64
	for i, iv := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond} {
		c := newController(t)
		at := time.Unix(1_700_000_000, 0)
		feed := func(lost uint32, d time.Duration) {
			for end := at.Add(d); at.Before(end); {
				at = at.Add(iv)
				n := uint32(iv / time.Millisecond * 4) // 4 datagrams a millisecond
				c.OnFeedback(Feedback{At: at, Received: n - lost*n/100, Expected: n, Bytes: n * 1200, Interval: iv})
			}
		}
		feed(10, 2*time.Second)
		feed(0, 300*time.Millisecond)
		got[i] = c.Snapshot().Loss
	}
	if got[0] <= 0 || math.Abs(got[0]-got[1]) > 0.1*got[0] {
		t.Errorf("smoothed loss after a clean 300 ms: %.4f with feedback every 50 ms, %.4f every 100 ms; want the same within 10%%", got[0], got[1])
	}
}
