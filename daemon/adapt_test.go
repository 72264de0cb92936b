package daemon

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/congestion"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/fec/lossmodel"
	"github.com/vstreamd/vstreamd/packetizer"
)

// newAdaptation is the adaptation of a JPEG sender with the default
// settings.
func newAdaptation(t *testing.T) *adaptation {
	t.Helper()
	a := &adaptation{}
	cfg := config.Default()
	cfg.Capture.Codec = packetizer.CodecJPEG
	if err := a.init(cfg); err != nil {
		t.Fatal(err)
	}
	return a
}

// feed gives a the feedback of d of traffic, 100 datagrams per 50 ms of
// which lost are lost in runs of burst (half of them late in frames, as
// random loss falls: see feedTail), each datagram's one-way delay being delay, and
// returns the time after it.
func feed(a *adaptation, sent *sendTimes, now time.Time, d time.Duration, lost, burst uint32, delay time.Duration) time.Time {
	return feedTail(a, sent, now, d, lost, burst, lost/2, delay)
}

// feedTail is feed with tailLost of the lost datagrams late in frames.
func feedTail(a *adaptation, sent *sendTimes, now time.Time, d time.Duration, lost, burst, tailLost uint32, delay time.Duration) time.Time {
	var pkt uint64 = 1
	for end := now.Add(d); now.Before(end); now = now.Add(feedbackEvery) {
		m := packetizer.Feedback{
			Sent: now.UnixNano(), Expected: 100, Received: 100 - lost, Bytes: (100 - lost) * 1200,
			Interval: feedbackEvery, N: 4,
		}
		if lost > 0 {
			m.Runs = max(1, lost/burst)
			m.TailLost = tailLost
		}
		m.TailSeen = m.Received / 2
		for i := range m.N {
			pkt++
			sent.record(pkt, now.Add(-delay).UnixNano())
			m.Arrivals[i] = packetizer.Arrival{Packet: pkt}
		}
		a.onFeedback(&m, sent, 10*time.Millisecond, now)
	}
	return now
}

func TestParityFollowsTheLoss(t *testing.T) {
	a := newAdaptation(t)
	var sent sendTimes
	now := time.Unix(1_700_000_000, 0)
	const frame, shard = 100_000, 1128 // 89 data shards
	k := (frame + shard - 1) / shard

	clean, _ := a.frame(frame, shard, now)
	if clean <= 0 || clean > 0.1 {
		t.Errorf("no loss measured: parity %.3f, want a little (the prior), at most 0.1", clean)
	}

	now = feed(a, &sent, now, 3*time.Second, 10, 1, 5*time.Millisecond)
	lossy, _ := a.frame(frame, shard, now)
	m := int(lossy*float64(k)) + 1
	if p := lossmodel.BlockLoss(lossmodel.Model{Loss: 0.10}, k, m); p > a.targetLoss*1.01 {
		t.Errorf("10%% loss: parity %.3f (%d shards for %d) loses %.4f of frames, want at most %g", lossy, m, k, p, a.targetLoss)
	}
	if lossy > 0.4 {
		t.Errorf("10%% loss: parity %.3f, more than needed", lossy)
	}

	now = feed(a, &sent, now, 20*time.Second, 0, 0, 5*time.Millisecond)
	after, _ := a.frame(frame, shard, now)
	if after > clean*1.5+0.01 {
		t.Errorf("20 s after the loss stopped: parity %.3f, want back near %.3f", after, clean)
	}
}

func TestCongestionLossDoesNotRaiseParity(t *testing.T) {
	a := newAdaptation(t)
	var sent sendTimes
	now := time.Unix(1_700_000_000, 0)
	now = feed(a, &sent, now, time.Second, 0, 0, 5*time.Millisecond)
	before, _ := a.frame(60_000, 1128, now)
	// A full queue: delays 60 ms above the base, and tail drops.
	now = feed(a, &sent, now, time.Second, 20, 5, 65*time.Millisecond)
	if st := a.cc.Snapshot().State; st != congestion.StateDecrease && st != congestion.StateHold {
		t.Fatalf("a full queue: controller state %q, want decrease or hold", st)
	}
	after, _ := a.frame(60_000, 1128, now)
	if after > before+0.01 {
		t.Errorf("congestion loss raised parity from %.3f to %.3f; the rate cut answers it", before, after)
	}
}

func TestPaceFollowsTheTargetWithinTheCap(t *testing.T) {
	a := newAdaptation(t)
	var sent sendTimes
	now := time.Unix(1_700_000_000, 0)
	// No congestion seen: frames leave fast.
	if _, pace := a.frame(50_000, 1128, now); pace != paceFastFactor*a.cc.Target() {
		t.Errorf("no congestion yet: pace %.1f Mb/s, want %.1f (paceFastFactor times the target)", pace/1e6, paceFastFactor*a.cc.Target()/1e6)
	}
	// A queue: the target is cut, and the pacing slows to paceFactor.
	now = feed(a, &sent, now, time.Second, 0, 0, 5*time.Millisecond)
	now = feed(a, &sent, now, time.Second, 0, 0, 80*time.Millisecond)
	snap := a.cc.Snapshot()
	if snap.LastCut.IsZero() {
		t.Fatalf("a standing 75 ms queue cut nothing: %+v", snap)
	}
	_, pace := a.frame(5_000, 1128, now)
	if want := paceFactor * min(snap.Target, max(paceMargin*snap.ReceiveRate, 5_000*8*30)); pace != want {
		t.Errorf("after congestion: pace %.2f Mb/s, want %.2f", pace/1e6, want/1e6)
	}
	cfg := config.Default()
	cfg.Transport.MaxRateMbps = 5
	a.apply(cfg)
	if _, pace = a.frame(50_000, 1128, now); pace != 5e6 {
		t.Errorf("with max_rate_mbps = 5: pace %.1f Mb/s, want 5", pace/1e6)
	}
}

// paceRate is the rate frame paces a frame of n bytes at a multiple of.
func paceRate(a *adaptation, n int) float64 {
	snap := a.cc.Snapshot()
	return min(snap.Target, max(paceMargin*snap.ReceiveRate, float64(n)*8*a.fps()))
}

func TestCalmPaceGrowsAndLearnsAnOverflow(t *testing.T) {
	const n = 100_000
	a := newAdaptation(t)
	var sent sendTimes
	now := time.Unix(1_700_000_000, 0)
	factor := func() float64 {
		_, pace := a.frame(n, 1128, now)
		return pace / paceRate(a, n)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-6*want }
	if f := factor(); !near(f, paceFastFactor) {
		t.Errorf("at the start: pace %.2fx the rate, want %.0fx", f, paceFastFactor)
	}
	// Calm for 2.2 paceDouble (whole feedback intervals): doubled 2.2 times.
	now = feed(a, &sent, now, 11*paceDouble/5, 0, 0, 5*time.Millisecond)
	if f, want := factor(), paceFastFactor*math.Pow(2, 2.2); !near(f, want) {
		t.Errorf("after %v of calm: pace %.2fx the rate, want %.2fx", 11*paceDouble/5, f, want)
	}
	// The most within a second of the call's start.
	if d := paceDouble * time.Duration(math.Log2(paceMaxFactor/paceFastFactor)); d > time.Second {
		t.Errorf("the pacing reaches its most %v after the call starts; want within a second", d)
	}
	now = feed(a, &sent, now, time.Second, 0, 0, 5*time.Millisecond)
	if f := factor(); !near(f, paceMaxFactor) {
		t.Errorf("after %v of calm: pace %.2fx the rate, want the most, %.0fx", time.Second+11*paceDouble/5, f, paceMaxFactor)
	}
	_, overflowed := a.frame(n, 1128, now)
	// A short router queue overflows under the bursts: loss late in
	// frames with no standing queue. The controller cuts, and the pacing
	// slows to paceFactor.
	now = feedTail(a, &sent, now, time.Second, 10, 1, 10, 5*time.Millisecond)
	if !a.cc.Overflowing() || a.cc.Snapshot().LastCut.IsZero() {
		t.Fatalf("loss late in frames: overflowing %v, snapshot %+v; want a cut for an overflow", a.cc.Overflowing(), a.cc.Snapshot())
	}
	if f := factor(); !near(f, paceFactor) {
		t.Errorf("right after the overflow: pace %.2fx the rate, want %.1fx", f, paceFactor)
	}
	// Calm again for long: the pace grows, but stays under the one that
	// overflowed the queue.
	now = feed(a, &sent, now, paceCalm+20*time.Second, 0, 0, 5*time.Millisecond)
	_, pace := a.frame(n, 1128, now)
	if want := max(paceBackoff*overflowed, paceFactor*paceRate(a, n)); !near(pace, want) {
		t.Errorf("calm after an overflow at %.0f Mb/s: pace %.0f Mb/s, want %.0f (%.1fx it)", overflowed/1e6, pace/1e6, want/1e6, paceBackoff)
	}
	if st := a.status.Load(); !near(st.BurstCapBps, paceBackoff*overflowed) {
		t.Errorf("status pace_burst_cap_bps %.0f, want %.0f", st.BurstCapBps, paceBackoff*overflowed)
	}
	// The cap is forgotten after paceMemory.
	now = feed(a, &sent, now, paceMemory, 0, 0, 5*time.Millisecond)
	if f := factor(); !near(f, paceMaxFactor) {
		t.Errorf("%v after the overflow: pace %.2fx the rate, want %.0fx again", paceMemory, f, paceMaxFactor)
	}
}

// overuse sends 100 KB frames for 6 s against a queue that keeps building
// (5 ms more every 100 ms), moving the ladder as the send loop does, and
// returns the time after.
func overuse(a *adaptation, sent *sendTimes, now time.Time) time.Time {
	for i := range 60 {
		now = feed(a, sent, now, 100*time.Millisecond, 0, 0, time.Duration(i)*5*time.Millisecond)
		a.frame(100_000, 1128, now)
		a.level(100_000, now)
	}
	return now
}

func TestLevelFollowsTheBudgetAndTheCeiling(t *testing.T) {
	a := newAdaptation(t)
	var sent sendTimes
	now := time.Unix(1_700_000_000, 0)
	// A queue that keeps building pulls the target down; the ladder follows.
	now = overuse(a, &sent, now)
	lv := a.lad.Current()
	if lv.Width >= 1280 && lv.Quality >= 80 {
		t.Errorf("after sustained overuse (target %.1f Mb/s): level %v, want below the ceiling", a.cc.Target()/1e6, lv)
	}
	// A reload with a lower ceiling rebuilds the ladder under it.
	cfg := config.Default()
	cfg.Capture.Quality = 40
	a.apply(cfg)
	got, changed := a.level(50_000, now)
	if !changed || a.lad.Levels()[0].Quality != 40 || got.Quality > 40 {
		t.Errorf("after a reload to quality 40: level %v (changed %v), ceiling %v", got, changed, a.lad.Levels()[0])
	}
}

// TestReplayOnlyChangesTheRate: a "jpegs:DIR" source sends its files as
// they are, so under sustained overuse the adaptation lowers the frame
// rate and leaves the size and quality the files have.
func TestReplayOnlyChangesTheRate(t *testing.T) {
	a := &adaptation{}
	cfg := config.Default()
	cfg.Capture.Kind, cfg.Capture.Path, cfg.Capture.Codec = media.SourceJPEGs, "/srv/frames", packetizer.CodecJPEG
	if err := a.init(cfg); err != nil {
		t.Fatal(err)
	}
	var sent sendTimes
	overuse(a, &sent, time.Unix(1_700_000_000, 0))
	lv, top := a.lad.Current(), a.lad.Levels()[0]
	if lv.FPS >= top.FPS || lv.Width != top.Width || lv.Height != top.Height || lv.Quality != top.Quality {
		t.Errorf("replay after sustained overuse (target %.1f Mb/s): level %v, want %dx%d q%d at fewer than %d fps", a.cc.Target()/1e6, lv, top.Width, top.Height, top.Quality, top.FPS)
	}
}

func TestFeedbackState(t *testing.T) {
	var f feedbackState
	now := time.Unix(1_700_000_000, 0)
	// Frames of 20 data and 5 parity datagrams, each frame's packet
	// numbers in order: frame 7 from packet 1, frame 8 from 14.
	h := packetizer.Header{Kind: packetizer.KindData, Frame: 7, Data: 20, Parity: 5}
	first := uint64(1)
	var highest uint64
	// Packets 1..10 of frame 7, then 14..20 of frame 8: a gap of three,
	// early in their frames (frame 7's shards 10-12 of 25).
	for _, pkt := range []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 19, 20} {
		if pkt == 14 {
			h.Frame, first = 8, 14
		}
		h.Packet, h.Shard = pkt, uint16(pkt-first)
		f.onDatagram(&h, 1000, now)
		highest = max(highest, pkt)
		now = now.Add(time.Millisecond)
	}
	var m packetizer.Feedback
	if err := packetizer.ParseFeedback(f.build(now, highest, FrameCounts{FramesDelivered: 2}), &m); err != nil {
		t.Fatal(err)
	}
	// Loss is judged a feedback late: nothing is judged yet.
	if m.Received != 0 || m.Expected != 0 || m.Runs != 0 || m.Bytes != 17000 || m.Delivered != 2 || m.Highest != 20 {
		t.Errorf("first feedback %+v: want nothing judged yet, 17000 bytes, 2 delivered, highest 20", m)
	}
	// Sampled: the first datagram of each frame and every fourth.
	var pkts []uint64
	for _, s := range m.Samples() {
		pkts = append(pkts, s.Packet)
	}
	if len(pkts) < 3 || pkts[0] != 1 || !contains(pkts, 14) {
		t.Errorf("samples %v: want the first of each frame (1, 14) and more", pkts)
	}
	if age := m.Samples()[0].Age; age != 17*time.Millisecond {
		t.Errorf("age of the first sample %v, want 17ms", age)
	}
	// 21..30 with 25 missing (it comes later, out of order), 23 ms
	// later; the next feedback 50 ms after the first judges what had been
	// overtaken reorderWindow (40 ms) before it: 1..20, three lost in one
	// run, early in frame 7.
	t0 := now
	now = t0.Add(23 * time.Millisecond)
	for pkt := uint64(21); pkt <= 30; pkt++ {
		if pkt == 25 {
			continue
		}
		h.Packet, h.Shard = pkt, uint16(pkt-first)
		f.onDatagram(&h, 1000, now)
		highest = max(highest, pkt)
	}
	if err := packetizer.ParseFeedback(f.build(t0.Add(50*time.Millisecond), highest, FrameCounts{FramesDelivered: 3}), &m); err != nil {
		t.Fatal(err)
	}
	if m.Received != 17 || m.Expected != 20 || m.Runs != 1 || m.Delivered != 1 || m.Interval != 50*time.Millisecond || m.TailLost != 0 || m.TailSeen != 0 || m.Highest != 30 {
		t.Errorf("second feedback %+v: want 17 of 20 (1..20), 1 run early in frame 7 (no tail loss), 1 delivered, 50ms, highest 30", m)
	}
	// 25 arrives 30 ms after 26 overtook it: in time. Then 33 after a gap
	// of two late in frame 8 (its shard 19 of 25), and frame 9 after a
	// gap of one (frame 8's shard 20): all three are tail loss.
	now = t0.Add(53 * time.Millisecond)
	h.Packet, h.Shard = 25, 11
	f.onDatagram(&h, 1000, now)
	h.Packet, h.Shard = 33, 19
	f.onDatagram(&h, 1000, now)
	h.Frame, h.Packet, h.Shard = 9, 35, 0
	f.onDatagram(&h, 1000, now)
	highest = 35
	if err := packetizer.ParseFeedback(f.build(t0.Add(100*time.Millisecond), highest, FrameCounts{FramesDelivered: 3}), &m); err != nil {
		t.Fatal(err)
	}
	// 21..35: 25 came in time; shards 13-16 of frame 8 (21..30) and 33
	// were received late in their frames
	if m.Expected != 15 || m.Received != 12 || m.Runs != 2 || m.TailLost != 3 || m.TailSeen != 5 {
		t.Errorf("third feedback %+v: want 12 of 15 (25 out of order, in time), 2 runs, the 3 lost late in a frame or at its end, 5 received late in their frames", m)
	}
	// 31 comes after it was judged: it changes nothing.
	h.Frame, h.Packet, h.Shard = 8, 31, 17
	f.onDatagram(&h, 1000, t0.Add(120*time.Millisecond))
	if err := packetizer.ParseFeedback(f.build(t0.Add(200*time.Millisecond), highest, FrameCounts{FramesDelivered: 3}), &m); err != nil {
		t.Fatal(err)
	}
	if m.Expected != 0 || m.Received != 0 {
		t.Errorf("fourth feedback %+v: want nothing left to judge", m)
	}
	// A number overtaken less than reorderWindow before a feedback waits
	// for the next: 36 and 38 arrive, 37 is missing at the feedback 10 ms
	// later, and comes before the one after.
	h.Frame, h.Shard = 9, 1
	for _, pkt := range []uint64{36, 38} {
		h.Packet = pkt
		f.onDatagram(&h, 1000, t0.Add(210*time.Millisecond))
		highest = pkt
	}
	if err := packetizer.ParseFeedback(f.build(t0.Add(220*time.Millisecond), highest, FrameCounts{}), &m); err != nil {
		t.Fatal(err)
	}
	if m.Expected != 0 {
		t.Errorf("feedback 10 ms after 37 was overtaken %+v: want nothing judged", m)
	}
	h.Packet = 37
	f.onDatagram(&h, 1000, t0.Add(240*time.Millisecond))
	if err := packetizer.ParseFeedback(f.build(t0.Add(260*time.Millisecond), highest, FrameCounts{}), &m); err != nil {
		t.Fatal(err)
	}
	if m.Expected != 3 || m.Received != 3 {
		t.Errorf("feedback 50 ms after 37 was overtaken %+v: want 36..38 judged, all received", m)
	}
	allocs := testing.AllocsPerRun(100, func() {
		h.Packet++
		f.onDatagram(&h, 1000, now)
		f.build(now, h.Packet, FrameCounts{})
	})
	if allocs != 0 {
		t.Errorf("onDatagram+build: %v allocs, want 0", allocs)
	}
}

// TestFeedbackJudgesEachNumberOnce: through reordering within a feedback
// interval, random loss, and gaps larger than the ring, every packet
// number is judged exactly once, and one that arrived in time counts as
// received whatever its order.
func TestFeedbackJudgesEachNumberOnce(t *testing.T) {
	var f feedbackState
	now := time.Unix(1_700_000_000, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	var highest, expected, received, arrived uint64
	build := func() {
		var m packetizer.Feedback
		if err := packetizer.ParseFeedback(f.build(now, highest, FrameCounts{}), &m); err != nil {
			t.Fatal(err)
		}
		expected += uint64(m.Expected)
		received += uint64(min(m.Received, m.Expected)) // as the sender reads it
		if m.Received > m.Expected || m.TailLost > m.Expected-m.Received {
			t.Fatalf("feedback %+v: more received or tail lost than judged", m)
		}
	}
	pkt := uint64(100) // the session's first number: none before it is expected
	var frame uint32
	for round := range 400 {
		// 30 numbers, sent as frames of 10, shuffled within the round
		// (reordering shorter than an interval), 5% lost; every 50th
		// round a gap of several thousand, more than the ring holds.
		if round%50 == 25 {
			pkt += uint64(lossSlots/2 + rng.IntN(2*lossSlots))
			frame += 500
		}
		nums := make([]uint64, 30)
		for i := range nums {
			nums[i] = pkt + uint64(i)
		}
		if round > 0 { // the session's first datagram is its first number
			rng.Shuffle(len(nums), func(i, j int) { nums[i], nums[j] = nums[j], nums[i] })
		}
		for _, n := range nums {
			if rng.Float64() < 0.05 && n != pkt+29 && n != 100 {
				continue
			}
			off := n - pkt
			h := packetizer.Header{Kind: packetizer.KindData, Frame: frame + uint32(off/10), Packet: n, Shard: uint16(off % 10), Data: 8, Parity: 2}
			f.onDatagram(&h, 100, now)
			highest = max(highest, n)
			arrived++
		}
		pkt += 30
		frame += 3
		now = now.Add(50 * time.Millisecond)
		build()
	}
	build() // judges what the last round brought
	if want := highest - 99; expected != want {
		t.Errorf("%d numbers judged, want %d (100..%d)", expected, want, highest)
	}
	if received != arrived {
		t.Errorf("%d judged received, want the %d that arrived", received, arrived)
	}
}

func contains(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestSendTimes(t *testing.T) {
	var s sendTimes
	s.record(5, 500)
	if at, ok := s.lookup(5); !ok || at != 500 {
		t.Errorf("lookup(5) = %d, %v; want 500, true", at, ok)
	}
	s.record(5+sendTimeSlots, 900) // the same slot, a later packet
	if _, ok := s.lookup(5); ok {
		t.Error("lookup(5) found a time after its slot was reused")
	}
	if _, ok := s.lookup(6); ok {
		t.Error("lookup(6) found a time never recorded")
	}
}

// TestH264FollowsTheBudgetWithItsBitrate: with H.264 the encoder is asked
// for the media budget, within the configured bit rate, and the picture
// keeps its size as long as that budget carries it.
func TestH264FollowsTheBudgetWithItsBitrate(t *testing.T) {
	cfg := config.Default()
	cfg.Capture.Codec, cfg.Capture.BitrateMbps = packetizer.CodecH264, 3
	a := &adaptation{}
	if err := a.init(cfg); err != nil {
		t.Fatal(err)
	}
	var sent sendTimes
	now := time.Unix(1_700_000_000, 0)
	a.frame(12_000, 1128, now)
	if lv, _ := a.level(12_000, now); lv.Width != 1280 || a.bitrate() != 3e6 {
		t.Fatalf("start: level %v, bitrate %d; want 1280x720 and the configured 3 Mb/s (the budget is larger)", lv, a.bitrate())
	}
	// A queue that keeps building pulls the target down to about 2 Mb/s.
	for i := 0; a.cc.Target() > 2.2e6 && i < 400; i++ {
		now = feed(a, &sent, now, 100*time.Millisecond, 0, 0, time.Duration(i%40)*3*time.Millisecond)
		a.frame(12_000, 1128, now)
		a.level(12_000, now)
	}
	lv, _ := a.level(8_000, now)
	budget := a.status.Load().MediaBps
	if got := a.bitrate(); got <= 0 || float64(got) > budget*1.001 || got >= 3e6 {
		t.Errorf("target %.1f Mb/s: encoder asked for %.2f Mb/s, want the media budget %.2f", a.cc.Target()/1e6, float64(got)/1e6, budget/1e6)
	}
	if lv.Width != 1280 {
		t.Errorf("H.264 with a %.1f Mb/s budget: level %v, want 1280x720 kept", budget/1e6, lv)
	}
}

// TestLateLossIsFairForSmallFrames: random loss must look the same late
// in frames as early, whatever their size, or a slow stream of small
// frames with random loss would pass for an overflowing queue.
func TestLateLossIsFairForSmallFrames(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 40} {
		var f feedbackState
		now := time.Unix(1_700_000_000, 0)
		rng := rand.New(rand.NewPCG(uint64(n), 9))
		var pkt, highest uint64
		var lost, lateLost, seen, lateSeen float64
		for frame := range uint32(3000) {
			for shard := range n {
				pkt++
				if rng.Float64() < 0.1 {
					continue
				}
				h := packetizer.Header{Kind: packetizer.KindData, Frame: frame, Packet: pkt,
					Shard: uint16(shard), Data: uint16(max(1, n-1)), Parity: uint16(min(1, n-1))}
				f.onDatagram(&h, 100, now)
				highest = pkt
			}
			if frame%50 == 49 {
				var m packetizer.Feedback
				if err := packetizer.ParseFeedback(f.build(now, highest, FrameCounts{}), &m); err != nil {
					t.Fatal(err)
				}
				lost += float64(m.Expected - m.Received)
				lateLost += float64(m.TailLost)
				seen += float64(m.Received)
				lateSeen += float64(m.TailSeen)
			}
		}
		late := lateLost / (lateLost + lateSeen)
		early := (lost - lateLost) / (lost - lateLost + seen - lateSeen)
		if late > 1.5*early+0.01 || early > 1.5*late+0.01 {
			t.Errorf("frames of %d datagrams, 10%% random loss: late loss rate %.3f, early %.3f: want about equal", n, late, early)
		}
	}
}
