package main

import (
	"fmt"
	"math"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/packetizer"
)

// result is one row of the table: the A to B direction over the measured
// window, except where a field says otherwise.
type result struct {
	Name      string  `json:"name"` // the condition's short name
	Condition string  `json:"condition"`
	Parity    float64 `json:"parity"`
	Codec     string  `json:"codec"`
	WindowS   float64 `json:"window_s"`
	CapBps    float64 `json:"cap_bps,omitempty"` // the rate cap, if any

	// Frames A sent in the window and what became of them at B.
	Sent       uint64 `json:"sent"`
	Delivered  uint64 `json:"delivered"`
	Recovered  uint64 `json:"recovered"` // of the delivered, needed FEC
	Late       uint64 `json:"late"`
	Incomplete uint64 `json:"incomplete"`
	Lost       uint64 `json:"lost"`
	Corrupt    uint64 `json:"corrupt"`
	// Unaccounted is Sent less every outcome at B: frames in flight at the
	// snapshots, so a few either way.
	Unaccounted int64 `json:"unaccounted"`

	DeliveredRatio float64 `json:"delivered_ratio"`
	// Shown are the frames B's sink showed in the window; Frozen those B
	// delivered but did not show because their H.264 reference chain was
	// broken (a frame they depend on was lost); Recoveries the times B's
	// pictures came back after that.
	Shown      uint64 `json:"shown"`
	Frozen     uint64 `json:"frozen"`
	Recoveries uint64 `json:"recoveries"`
	// EncodeMs is A's mean encode time, DecodeMs B's mean decode time (and
	// colour conversion), over their last 64 frames at the end.
	EncodeMs float64 `json:"encode_a_ms"`
	DecodeMs float64 `json:"decode_b_ms"`
	// MDSBound is the probability that a frame of the mean size survives
	// the loss the relay actually applied (MDSLoss), nil where the bound
	// does not apply.
	MDSBound *float64 `json:"mds_bound"`
	// Timeline is the PNG of a condition drawn over time; StepNotes say
	// how fast the stream recovered after each capacity step.
	Timeline  string   `json:"timeline,omitempty"`
	StepNotes []string `json:"step_notes,omitempty"`
	MDSLoss   float64  `json:"mds_loss"`

	// Latency at B of the frames delivered in the window, from the
	// histograms in B's status at its start and end (see the notes in
	// docs/benchmarks.md). LatencyOver is "window", or "last 1024 frames"
	// for a daemon that keeps no histogram (built before it did).
	Transport   daemon.Percentiles `json:"transport_latency_ms"` // A's first datagram sent to complete
	Capture     daemon.Percentiles `json:"capture_latency_ms"`   // capture (before encoding) to complete
	LatencyOver string             `json:"latency_over"`
	// WarmupTransport is the transport latency of B's frames before the
	// window: the call's start, which the window leaves out.
	WarmupTransport daemon.Percentiles `json:"warmup_transport_latency_ms"`

	MeanFrameBytes float64 `json:"mean_frame_bytes"` // A's encoded frames
	GoodputBps     float64 `json:"goodput_bps"`      // delivered frames x mean frame size
	WireBps        float64 `json:"wire_bps"`         // A's datagram bytes sent (UDP payload)

	CPUA     float64 `json:"cpu_a_pct"` // % of one core over the window
	CPUB     float64 `json:"cpu_b_pct"`
	CPURelay float64 `json:"cpu_relay_pct"`
	// WaitA and WaitB are the daemons' run-queue wait, milliseconds per
	// second: time their threads were ready to run but had no CPU.
	WaitA float64 `json:"runq_wait_a_ms_per_s"`
	WaitB float64 `json:"runq_wait_b_ms_per_s"`
	// SourceDrops are frames A's capture source dropped in the window
	// because the encoder fell behind: a sign of a CPU-starved sender.
	SourceDrops uint64 `json:"source_drops_a"`
	// ClockOffsetMs is B's estimate of its clock offset from A at the end
	// (0 by definition on loopback), RTTms the round trip it measured.
	ClockOffsetMs float64 `json:"clock_offset_b_ms"`
	RTTms         float64 `json:"rtt_b_ms"`

	RSSA uint64 `json:"peak_rss_a_bytes"` // VmHWM at the end
	RSSB uint64 `json:"peak_rss_b_bytes"`
	// AnonA and AnonB are the anonymous part of the resident set at the
	// end (RssAnon): the process's own memory, without the shared
	// libraries' file pages that VmHWM also counts.
	AnonA uint64 `json:"anon_rss_a_bytes"`
	AnonB uint64 `json:"anon_rss_b_bytes"`

	RelayDrop   float64 `json:"relay_drop_ratio"` // A to B datagrams the relay dropped, whole run
	SocketDrops uint64  `json:"socket_drops_b"`   // kernel drops at B's socket in the window
	Invalid     uint64  `json:"invalid_b"`        // datagrams B rejected in the window
	InvalidWhy  string  `json:"invalid_b_reasons,omitempty"`
	SendErrors  uint64  `json:"send_errors_a"`

	relay relayDir
}

// window computes the counter differences between two snapshots, and the
// latency percentiles of the frames between them.
func window(s, e snap) (result, error) {
	secs := e.at.Sub(s.at).Seconds()
	bs, be := s.b.RX, e.b.RX
	srcS, srcE, sinkS, sinkE := source(s.a), source(e.a), sink(s.b), sink(e.b)
	r := result{
		WindowS:       secs,
		Sent:          e.a.TX.Frames - s.a.TX.Frames,
		Delivered:     be.FramesDelivered - bs.FramesDelivered,
		Recovered:     be.FramesRecovered - bs.FramesRecovered,
		Late:          be.FramesLate - bs.FramesLate,
		Incomplete:    be.FramesIncomplete - bs.FramesIncomplete,
		Lost:          be.FramesLost - bs.FramesLost,
		Corrupt:       be.FramesCorrupt - bs.FramesCorrupt,
		Shown:         sinkE.Shown - min(sinkS.Shown, sinkE.Shown),
		Frozen:        be.FramesFrozen - min(bs.FramesFrozen, be.FramesFrozen),
		Recoveries:    be.Recoveries - min(bs.Recoveries, be.Recoveries),
		EncodeMs:      srcE.EncodeMs,
		DecodeMs:      sinkE.DecodeMs,
		Codec:         srcE.Codec,
		CPUA:          (e.cpuA - s.cpuA).Seconds() / secs * 100,
		CPUB:          (e.cpuB - s.cpuB).Seconds() / secs * 100,
		CPURelay:      (e.cpuRelay - s.cpuRelay).Seconds() / secs * 100,
		WaitA:         float64(e.waitA-min(s.waitA, e.waitA)) / 1e6 / secs,
		WaitB:         float64(e.waitB-min(s.waitB, e.waitB)) / 1e6 / secs,
		SourceDrops:   srcE.Dropped - min(srcS.Dropped, srcE.Dropped),
		ClockOffsetMs: e.b.ClockOffsetMs,
		RTTms:         e.b.RTTms,
		RSSA:          e.memA.peak,
		RSSB:          e.memB.peak,
		AnonA:         e.memA.anon,
		AnonB:         e.memB.anon,
		// Counters from B may restart with a new session; saturate.
		SocketDrops: e.dropsB - min(s.dropsB, e.dropsB),
		Invalid:     be.PacketsInvalid - min(bs.PacketsInvalid, be.PacketsInvalid),
		InvalidWhy:  reasons(be.Invalid),
		SendErrors:  e.a.TX.SendErrors - s.a.TX.SendErrors,
	}
	var err error
	if r.Transport, r.Capture, r.LatencyOver, err = windowLatency(bs, be); err != nil {
		return result{}, err
	}
	if bs.TransportMs.Histogram != nil {
		if r.WarmupTransport, err = bs.TransportMs.Since(daemon.Percentiles{}); err != nil {
			return result{}, fmt.Errorf("transport latency histogram of B: %w", err)
		}
	}
	outcomes := r.Delivered + r.Late + r.Incomplete + r.Lost + r.Corrupt
	r.Unaccounted = int64(r.Sent) - int64(outcomes)
	if r.Sent > 0 {
		r.DeliveredRatio = float64(r.Delivered) / float64(r.Sent)
	}
	ta, tb := s.a.TX, e.a.TX
	txBytes := tb.Bytes - ta.Bytes
	r.WireBps = float64(txBytes) * 8 / secs
	if m, err := meanFrameBytes(r.Sent, tb.Packets-ta.Packets, tb.ParityPackets-ta.ParityPackets, txBytes, packetizer.HeaderLen); err == nil {
		r.MeanFrameBytes = m
		r.GoodputBps = float64(r.Delivered) * m * 8 / secs
	}
	return r, nil
}

// windowLatency returns B's latency percentiles over the frames it
// completed between two of its statuses, from the histograms those carry.
// A daemon that keeps none (built before it did) gives the percentiles of
// its last 1024 frames at the end instead; in a window shorter than 34 s at
// 30 fps those include frames from before the window, the call's first
// second among them. over says which of the two the figures are.
func windowLatency(s, e daemon.RXStatus) (transport, capture daemon.Percentiles, over string, err error) {
	if e.TransportMs.Histogram == nil || e.LatencyMs.Histogram == nil {
		return e.TransportMs, e.LatencyMs, "last 1024 frames", nil
	}
	if transport, err = e.TransportMs.Since(s.TransportMs); err != nil {
		return transport, capture, "", fmt.Errorf("transport latency histogram of B: %w", err)
	}
	if capture, err = e.LatencyMs.Since(s.LatencyMs); err != nil {
		return transport, capture, "", fmt.Errorf("latency histogram of B: %w", err)
	}
	return transport, capture, "window", nil
}

// finish fills in what depends on the condition: the MDS bound and the
// relay's drop ratio. The bound takes the loss ratio the relay's loss model
// actually drew over the run rather than the nominal one, so that the
// comparison tests the FEC and not the sampling of the loss process; with
// burst loss it keeps the nominal mean burst length.
func (r *result) finish(cond condition, parity float64, set settings) {
	r.RelayDrop = r.relay.dropRatio()
	if cond.NoBound || r.MeanFrameBytes == 0 {
		return
	}
	lm := cond.Loss
	if lm.Loss > 0 && r.relay.In > 0 {
		lm.Loss = float64(r.relay.Lost) / float64(r.relay.In)
	}
	r.MDSLoss = lm.Loss
	maxShard := set.shardPayload()
	if b, ok := mdsBound(lm, int(math.Round(r.MeanFrameBytes)), maxShard, parity); ok {
		r.MDSBound = &b
	}
}
