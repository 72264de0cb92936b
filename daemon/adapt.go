package daemon

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/congestion"
	"github.com/vstreamd/vstreamd/daemon/ladder"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/fec"
	"github.com/vstreamd/vstreamd/fec/lossmodel"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Adaptation tuning.
const (
	// paceFactor: frames are paced at this multiple of the target, so a
	// frame leaves within a frame interval yet never reaches the
	// bottleneck as one burst. GCC paces at 2.5x, for frames of a few KB;
	// a 110 KB JPEG at 2x a 40 Mb/s link still piles 55 KB into a 64 KB
	// router queue, at 1.5x 37 KB.
	paceFactor = 1.5
	// paceFastFactor and paceCalm: a path without congestion for paceCalm
	// (or since the call began) gets its frames at paceFastFactor times
	// the rate, doubling every paceDouble of calm up to paceMaxFactor: on
	// a LAN or a fat uplink a 100 KB frame then leaves in about a
	// millisecond instead of several. paceDouble is about four feedback
	// reports (they come 50-90 ms apart): the growth is no faster than TCP's slow start (a doubling
	// per round trip) on paths up to 250 ms, and the pacing reaches its
	// most 0.75 s into the call. (It was 2 s: the first 6 s of every call
	// then sent each frame over 2-5 ms; see docs/benchmarks.md.)
	paceFastFactor = 4.0
	paceCalm       = 30 * time.Second
	paceDouble     = 250 * time.Millisecond
	paceMaxFactor  = 32.0
	// paceBackoff and paceMemory: a queue that overflowed under the
	// frames' bursts (loss late in frames, see congestion.Overflowing)
	// caps the calm pacing at paceBackoff times the pace it overflowed
	// at, for paceMemory: the next calm spell does not overflow it again.
	paceBackoff = 0.7
	paceMemory  = 5 * time.Minute
	// paceMargin: the pacing follows at most this multiple of the rate
	// that arrives, so that the next level of the ladder still leaves in
	// time.
	paceMargin = 1.5
	// lossPrior is the loss the parity policy assumes when none is
	// measured: a clean path still loses the odd datagram.
	lossPrior = 0.003
	// lossMemory and fastLossMemory are the time constants of the loss
	// estimates the parity follows.
	lossMemory     = 5 * time.Second
	fastLossMemory = 500 * time.Millisecond
	// ladderEvery is how often the send loop reconsiders the level.
	ladderEvery = 100 * time.Millisecond
	// maxParity bounds the parity the policy chooses: past it, more of the
	// budget goes to parity than parity can save.
	maxParity = 0.6
	// blockShards approximates the data shards of a block of a large
	// frame, for the parity policy.
	blockShards = 128
)

// adaptation fits the stream to the link: the congestion controller turns
// the peer's feedback into a target rate; per frame, the send loop asks for
// that frame's parity, the pacing rate and the encoder level. Feedback
// arrives on the receive loop, frames leave on the send loop; mu joins
// them. The ladder is the send loop's alone.
type adaptation struct {
	mu         sync.Mutex
	on         bool
	cc         *congestion.Controller
	fast, slow decayingLoss // loss estimates for parity
	burst      float64      // mean loss burst, datagrams
	targetLoss float64
	paceCap    float64 // bits per second; 0: none
	delays     []time.Duration

	// The calm pacing: when the call began, the last pace a frame had
	// and whether it was a calm path's, and the cap learned from a queue
	// that overflowed at such a pace.
	started    time.Time
	lastPace   float64
	lastCalm   bool
	burstCap   float64 // bits per second; 0: none
	burstCapAt time.Time

	ceiling atomic.Pointer[ladder.Level] // the configured level; the ladder's top
	codec   ladder.Codec                 // set at start: a codec change needs a restart
	// maxBitrate is the H.264 encoder's configured ceiling, bits per
	// second; the adaptation asks for the media budget within it.
	maxBitrate float64

	// Owned by the send loop.
	lad      *ladder.Ladder
	ladderAt time.Time

	status atomic.Pointer[AdaptStatus]
}

// AdaptStatus is what status shows of the adaptation.
type AdaptStatus struct {
	Enabled       bool    `json:"enabled"`
	State         string  `json:"state"`            // increase, hold, decrease, start
	EstimateBps   float64 `json:"estimate_bps"`     // rate the peer measured arriving
	TargetBps     float64 `json:"target_bps"`       // what the sender aims for, parity included
	MediaBps      float64 `json:"media_budget_bps"` // target less parity
	PaceBps       float64 `json:"pace_bps"`
	BurstCapBps   float64 `json:"pace_burst_cap_bps,omitempty"` // the calm pacing's cap after a queue overflowed
	QueueDelayMs  float64 `json:"queue_delay_ms"`
	Loss          float64 `json:"loss_ratio"` // as the parity policy sees it
	Burst         float64 `json:"loss_burst"`
	Parity        float64 `json:"parity"` // of the last frame
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	FPS           int     `json:"fps"`
	Quality       int     `json:"quality"`                       // JPEG
	EncoderBps    int     `json:"encoder_bitrate_bps,omitempty"` // H.264: what the encoder is asked for
	Reason        string  `json:"reason"`                        // of the last rate change
	ReasonAgo     float64 `json:"reason_age_seconds"`
	LevelReason   string  `json:"level_reason"` // of the last level change
	LevelAgo      float64 `json:"level_reason_age_seconds"`
	FeedbackCount uint64  `json:"feedbacks"`
}

func (a *adaptation) init(cfg *config.Config) error {
	a.on = cfg.Transport.Adaptive
	a.targetLoss = cfg.Transport.TargetFrameLoss
	a.paceCap = cfg.Transport.MaxRateMbps * 1e6
	cc, err := congestion.New(congestion.Config{
		Min: cfg.Transport.MinBitrateMbps * 1e6, Max: cfg.Transport.MaxBitrateMbps * 1e6,
	})
	if err != nil {
		return err
	}
	a.cc = cc
	a.codec, a.maxBitrate = ladder.JPEG, 0
	switch {
	case cfg.Capture.Kind == media.SourceJPEGs: // frames encoded already: only the rate can change
		a.codec = ladder.Fixed
	case cfg.Capture.Codec == packetizer.CodecH264:
		a.codec, a.maxBitrate = ladder.H264, cfg.Capture.BitrateMbps*1e6
	}
	top := ceiling(cfg, a.codec)
	lad, err := ladder.New(a.codec, top)
	if err != nil {
		return err
	}
	a.lad = lad
	a.ceiling.Store(&top)
	a.status.Store(&AdaptStatus{Enabled: a.on})
	return nil
}

// apply takes a reloaded configuration's adaptation keys; a new fps or
// quality ceiling rebuilds the ladder on the send loop's next frame.
func (a *adaptation) apply(cfg *config.Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	top := ceiling(cfg, a.codec)
	a.ceiling.Store(&top)
	a.on = cfg.Transport.Adaptive
	a.targetLoss = cfg.Transport.TargetFrameLoss
	a.paceCap = cfg.Transport.MaxRateMbps * 1e6
	a.cc.SetBounds(cfg.Transport.MinBitrateMbps*1e6, cfg.Transport.MaxBitrateMbps*1e6)
}

// onFeedback feeds one feedback from the peer to the controller. It runs
// on the receive loop; sent looks up our send times.
func (a *adaptation) onFeedback(m *packetizer.Feedback, sent *sendTimes, rtt time.Duration, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delays = a.delays[:0]
	for _, s := range m.Samples() {
		at, ok := sent.lookup(s.Packet)
		if !ok {
			continue
		}
		owd := m.Sent - int64(s.Age) - at
		if owd < -int64(time.Hour)*48 || owd > int64(time.Hour)*48 {
			continue // a clock that far off says nothing about queues
		}
		a.delays = append(a.delays, time.Duration(owd))
	}
	received := min(m.Received, m.Expected)
	a.cc.OnFeedback(congestion.Feedback{
		At: now, Delays: a.delays, Received: received, Expected: m.Expected, TailLost: m.TailLost, TailSeen: m.TailSeen,
		Bytes: m.Bytes, Interval: m.Interval, RTT: max(rtt, 0),
	})
	// The parity's loss estimate: lost over expected datagrams, in sums
	// that decay over about half a second (fast) and lossMemory (slow); the
	// policy takes the larger, so parity rises within a few feedbacks of
	// loss starting and stays up a while after it stops. Loss while the
	// controller sees congestion is the queue overflowing: the rate cut
	// answers it, and parity would only feed the queue.
	// So is loss that falls mostly late in frames: bursts overflowing a
	// short router queue.
	snap := a.cc.Snapshot()
	overflow := a.cc.Overflowing()
	if overflow && snap.LastCut.Equal(now) && a.lastCalm {
		// Cut because a queue overflowed under the frames' bursts, paced
		// as a calm path is: the calm pacing stays below the pace that
		// did it for a while. (Overflow at the slow pace is the rate's
		// to answer.)
		a.burstCap, a.burstCapAt = paceBackoff*a.lastPace, now
	}
	if m.Expected > 0 && snap.State != congestion.StateDecrease && snap.State != congestion.StateHold && !overflow {
		lost := float64(m.Expected - received)
		a.fast.add(lost, float64(m.Expected), now, fastLossMemory)
		a.slow.add(lost, float64(m.Expected), now, lossMemory)
		if lost > 0 && m.Runs > 0 {
			b := lost / float64(min(m.Runs, m.Expected-received))
			a.burst += 0.2 * (b - a.burst)
		}
	}
	st := *a.status.Load()
	st.FeedbackCount++
	a.status.Store(&st)
}

// frame is what the send loop asks before sending a frame of n bytes
// whose shards hold up to maxShard bytes: the parity ratio to use and the
// pacing rate in bits per second (0: none).
func (a *adaptation) frame(n, maxShard int, now time.Time) (parity, pace float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	snap := a.cc.Snapshot()
	// The data shards of the frame's (first) block: frames of more than
	// blockShards data shards are split into blocks of about that many.
	k := min((n+maxShard-1)/maxShard, blockShards)
	loss := max(a.fast.ratio(), a.slow.ratio(), lossPrior)
	model := lossmodel.Model{Loss: min(loss, 0.9)}
	if a.burst >= 1.5 && loss > 2*lossPrior {
		model.Burst = a.burst
	}
	most := min(int(math.Ceil(maxParity*float64(k))), fec.MaxShards-k)
	m, _ := lossmodel.MinParity(model, k, a.targetLoss, most)
	parity = 0
	if m > 0 && k > 0 {
		parity = min((float64(m)-0.001)/float64(k), fec.MaxRatio)
	}
	// Paced at paceFactor times the rate, where the rate is the target, or
	// what the peer receives plus a margin when less is sent than the
	// target allows (the encoder's ceiling): a target far above the path's
	// capacity must not send frames in bursts bigger than a router queue.
	// Never so slow, though, that this frame would take more than a frame
	// interval to leave. On a path that has shown no congestion for
	// paceCalm (a LAN, a fat uplink), frames leave at paceFastFactor: the
	// pacing then costs little latency.
	rate := snap.Target
	if snap.ReceiveRate > 0 {
		frameRate := float64(n) * 8 * a.fps()
		rate = min(rate, max(paceMargin*snap.ReceiveRate, frameRate))
	}
	pace, a.lastCalm = a.calmPace(snap, rate, now)
	a.lastPace = pace
	if a.paceCap > 0 {
		pace = min(pace, a.paceCap)
	}
	st := AdaptStatus{
		Enabled: a.on, State: string(snap.State), EstimateBps: snap.ReceiveRate,
		TargetBps: snap.Target, MediaBps: snap.Target / (1 + parity), PaceBps: pace, BurstCapBps: a.burstCap,
		QueueDelayMs: float64(snap.QueueDelay) / 1e6, Loss: loss, Burst: a.burst, Parity: parity,
		Reason: snap.Reason, FeedbackCount: a.status.Load().FeedbackCount,
	}
	if !snap.Changed.IsZero() {
		st.ReasonAgo = now.Sub(snap.Changed).Seconds()
	}
	a.status.Store(&st)
	return parity, pace
}

// calmPace returns the pace for a rate: paceFactor times it after a cut;
// on a path calm for paceCalm (or since the call began), paceFastFactor
// times it, doubling every paceDouble of calm up to paceMaxFactor, and
// never above what a queue overflowed at lately (burstCap), nor below
// paceFactor times the rate. calm says whether the path counted as calm.
func (a *adaptation) calmPace(snap congestion.Snapshot, rate float64, now time.Time) (pace float64, calm bool) {
	if a.started.IsZero() {
		a.started = now
	}
	calmSince := a.started
	if !snap.LastCut.IsZero() {
		calmSince = snap.LastCut.Add(paceCalm)
	}
	if now.Before(calmSince) {
		return paceFactor * rate, false
	}
	doublings := float64(now.Sub(calmSince)) / float64(paceDouble)
	pace = rate * min(paceMaxFactor, paceFastFactor*math.Pow(2, doublings))
	if a.burstCap > 0 && now.Sub(a.burstCapAt) >= paceMemory {
		a.burstCap = 0
	}
	if a.burstCap > 0 {
		pace = max(min(pace, a.burstCap), paceFactor*rate)
	}
	return pace, true
}

// level observes a frame of n bytes and returns the encoder level to use
// from the next frame on, and whether it changed. Send loop only.
func (a *adaptation) level(n int, now time.Time) (ladder.Level, bool) {
	rebuilt := false
	if top := *a.ceiling.Load(); top != a.lad.Levels()[0] {
		if lad, err := ladder.New(a.codec, top); err == nil {
			a.lad, a.ladderAt, rebuilt = lad, time.Time{}, true // a reload changed the ceiling
		}
	}
	a.lad.Observe(n)
	st := a.status.Load()
	var lv ladder.Level
	changed := false
	if now.Sub(a.ladderAt) >= ladderEvery && st.MediaBps > 0 {
		a.ladderAt = now
		lv, changed = a.lad.Update(st.MediaBps, now)
	} else {
		lv = a.lad.Current()
	}
	changed = changed || rebuilt
	next := *st
	next.Width, next.Height, next.FPS, next.Quality = lv.Width, lv.Height, lv.FPS, lv.Quality
	next.EncoderBps = a.bitrate()
	reason, at := a.lad.Reason()
	next.LevelReason = reason
	if !at.IsZero() {
		next.LevelAgo = now.Sub(at).Seconds()
	}
	a.status.Store(&next)
	return lv, changed
}

// ceiling is the top of the ladder: the configured size, rate and (JPEG)
// quality.
func ceiling(cfg *config.Config, codec ladder.Codec) ladder.Level {
	top := ladder.Level{Width: cfg.Capture.Width, Height: cfg.Capture.Height, FPS: cfg.Capture.FPS, Quality: cfg.Capture.Quality}
	if codec == ladder.H264 {
		top.Quality = 0 // the encoder meets a bit rate instead
	}
	return top
}

// bitrate is what the send loop asks of an H.264 encoder: the media
// budget, within the configured ceiling; 0 for JPEG, which meets the
// budget through the ladder's qualities. Send loop only.
func (a *adaptation) bitrate() int {
	if a.codec != ladder.H264 {
		return 0
	}
	st := a.status.Load()
	return int(min(st.MediaBps, a.maxBitrate))
}

// fps is the frame rate of the level in use. Send loop only.
func (a *adaptation) fps() float64 { return float64(a.lad.Current().FPS) }

// enabled reports whether the adaptation steers the stream.
func (a *adaptation) enabled() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.on
}

// decayingLoss is a loss ratio whose sums decay exponentially with time.
type decayingLoss struct {
	congestion.LossSums
	at time.Time
}

func (l *decayingLoss) add(lost, expected float64, now time.Time, memory time.Duration) {
	keep := 1.0
	if !l.at.IsZero() {
		keep = math.Exp(-max(now.Sub(l.at).Seconds(), 0) / memory.Seconds())
	}
	l.at = now
	l.Add(lost, expected, keep)
}

// ratio is the loss ratio; 0 until enough datagrams were expected to say.
func (l *decayingLoss) ratio() float64 {
	if l.Expected < 20 { // too few to say
		return 0
	}
	return l.Ratio()
}
