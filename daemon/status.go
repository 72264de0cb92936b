package daemon

import (
	"fmt"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Status is what `vstreamd status` shows, as JSON.
type Status struct {
	Version          string          `json:"version"`
	State            string          `json:"state"`
	StateDetail      string          `json:"state_detail,omitempty"`
	Peer             string          `json:"peer"`      // as configured
	PeerAddr         string          `json:"peer_addr"` // as resolved
	Listen           string          `json:"listen"`
	UptimeSeconds    float64         `json:"uptime_seconds"`
	Session          string          `json:"session"`
	PeerSession      string          `json:"peer_session,omitempty"`
	PeerRestarts     int             `json:"peer_restarts"`
	PeerMoves        uint64          `json:"peer_moves"`         // times an authenticated peer came from a new address
	LastHeardSeconds float64         `json:"last_heard_seconds"` // -1: never
	PeerSends        bool            `json:"peer_sends"`
	PeerShows        bool            `json:"peer_shows"`
	Encryption       string          `json:"encryption"`
	Offload          string          `json:"offload,omitempty"` // what the kernel does for the UDP socket
	RTTms            float64         `json:"rtt_ms"`
	ClockOffsetMs    float64         `json:"clock_offset_ms"`
	LatencyMethod    string          `json:"latency_method"`
	Handshake        *session.Status `json:"handshake,omitempty"` // encrypted: the session layer's figures
	TX               TXStatus        `json:"tx"`
	RX               RXStatus        `json:"rx"`
}

// TXStatus is the sending direction.
type TXStatus struct {
	Enabled       bool    `json:"enabled"` // a source is configured
	Sending       bool    `json:"sending"` // the peer is there and shows video
	Frames        uint64  `json:"frames"`
	Packets       uint64  `json:"packets"`
	ParityPackets uint64  `json:"parity_packets"`
	Bytes         uint64  `json:"bytes"`
	FPS           float64 `json:"fps"`
	BitrateBps    float64 `json:"bitrate_bps"`
	Parity        float64 `json:"parity"`
	MaxRateMbps   float64 `json:"max_rate_mbps"` // pacing cap as configured; 0: none
	PaceMbps      float64 `json:"pace_mbps"`     // pacing in force; 0: off
	Quality       int     `json:"quality"`
	FramesSkipped uint64  `json:"frames_skipped"` // captured while nobody watched
	FramesTooBig  uint64  `json:"frames_too_big"`
	SendErrors    uint64  `json:"send_errors"`
	SendCalls     uint64  `json:"send_calls"` // system calls that sent datagrams (batched)
	// RecoverRequests counts the peer's requests for a recovery point;
	// KeyframesForced those answered with a keyframe (the rest were already
	// answered by one on its way).
	RecoverRequests uint64              `json:"recover_requests"`
	KeyframesForced uint64              `json:"keyframes_forced"`
	Source          *media.SourceStatus `json:"source,omitempty"`
	PeerReport      *PeerReport         `json:"peer_report,omitempty"`
	Adapt           *AdaptStatus        `json:"adapt,omitempty"` // the adaptation; nil when off
}

// FrameCounts are the outcomes of a stream's frames at the receiver. Every
// frame the sender sent ends up in exactly one of delivered, late,
// incomplete, lost and corrupt once the receiver has moved past it;
// recovered counts the delivered frames that needed parity.
type FrameCounts struct {
	FramesDelivered  uint64 `json:"frames_delivered"`
	FramesRecovered  uint64 `json:"frames_recovered"`
	FramesLate       uint64 `json:"frames_late"`
	FramesIncomplete uint64 `json:"frames_incomplete"`
	FramesLost       uint64 `json:"frames_lost"`
	FramesCorrupt    uint64 `json:"frames_corrupt"`
}

// Accounted is the number of frames with an outcome.
func (c FrameCounts) Accounted() uint64 {
	return c.FramesDelivered + c.FramesLate + c.FramesIncomplete + c.FramesLost + c.FramesCorrupt
}

// PeerReport is what the peer last said about the stream it receives from
// us.
type PeerReport struct {
	AgeSeconds float64 `json:"age_seconds"`
	FrameCounts
	LossRatio float64     `json:"loss_ratio"`
	LatencyMs Percentiles `json:"latency_ms"`
}

// RXStatus is the receiving direction.
type RXStatus struct {
	Enabled bool `json:"enabled"` // a sink is configured
	FrameCounts
	ShardsRecovered   uint64            `json:"shards_recovered"`
	Packets           uint64            `json:"packets"` // valid datagrams from the peer
	Bytes             uint64            `json:"bytes"`   // of those datagrams
	PacketsInvalid    uint64            `json:"packets_invalid"`
	PacketsDuplicate  uint64            `json:"packets_duplicate"`
	PacketsLate       uint64            `json:"packets_late"`
	PacketsForeign    uint64            `json:"packets_foreign"`  // from other addresses
	PacketsUnwanted   uint64            `json:"packets_unwanted"` // video while this endpoint shows none
	ReadErrors        uint64            `json:"read_errors"`      // socket errors, e.g. ICMP unreachable
	ReadCalls         uint64            `json:"read_calls"`       // system calls that read datagrams (batched)
	Wakeups           uint64            `json:"wakeups"`          // receive loop turns: reads, timed work, errors
	Invalid           map[string]uint64 `json:"invalid,omitempty"`
	LossRatio         float64           `json:"loss_ratio"`
	FPS               float64           `json:"fps"`
	BitrateBps        float64           `json:"bitrate_bps"`
	LatencyMs         Percentiles       `json:"latency_ms"`                  // capture to frame complete
	TransportMs       Percentiles       `json:"transport_latency_ms"`        // sender's first datagram to frame complete
	TransportRecentMs Percentiles       `json:"transport_latency_recent_ms"` // the same over the last recentSamples frames
	MaxDelayMs        float64           `json:"max_delay_ms"`
	// Realtime is the receive thread's priority: asked, held, refused,
	// and whether the loop waits on that thread now.
	Realtime sched.RealtimeStatus `json:"realtime"`
	// RealtimeMode is [transport] realtime_mode: "auto", on the thread
	// only while the CPU is contended (CPU says) once reads were late
	// (ReadsLate), or "always".
	RealtimeMode string                 `json:"realtime_mode"`
	CPU          sched.ContentionStatus `json:"cpu"`
	// ReadsLate counts the reads whose first datagram had waited in the
	// socket 1 ms or more: the loop woke, or got a CPU, that late.
	ReadsLate uint64 `json:"reads_late"`
	// Codec is the codec of the last frame received ("" before any).
	Codec string `json:"codec,omitempty"`
	// FramesFrozen counts frames delivered but not shown because a frame
	// they depend on was lost (the last good picture stays up);
	// Recoveries the times pictures came back after that, LastFreezeMs how
	// long the last such freeze lasted, RecoverRequests the requests for a
	// recovery point sent to the peer, and BadMedia the frames dropped for a
	// malformed media prefix.
	FramesFrozen    uint64            `json:"frames_frozen"`
	Recoveries      uint64            `json:"recoveries"`
	LastFreezeMs    float64           `json:"last_freeze_ms"`
	RecoverRequests uint64            `json:"recover_requests"`
	BadMedia        uint64            `json:"bad_media"`
	Sink            *media.SinkStatus `json:"sink,omitempty"`
}

// Status returns the daemon's current status. Safe for concurrent use.
func (d *Daemon) Status() Status {
	now := time.Now()
	cfg := d.config()
	ps := d.peer.snapshot(now)
	state, detail := d.callState(now)
	rtt, offset, haveClock := d.peer.clock()
	txFPS, txBps, rxFPS, rxBps := d.rates.get()
	s := Status{
		Version:          d.version,
		State:            state,
		StateDetail:      detail,
		Peer:             cfg.Peer,
		Listen:           d.LocalAddr().String(),
		Session:          sessionHex(d.session),
		PeerRestarts:     ps.restarts,
		LastHeardSeconds: -1,
		PeerSends:        ps.flags&packetizer.HelloSends != 0,
		PeerShows:        ps.flags&packetizer.HelloReceives != 0,
		Encryption:       d.encryption(),
		RTTms:            ms(rtt),
		ClockOffsetMs:    ms(offset),
	}
	if !d.started.IsZero() {
		s.UptimeSeconds = now.Sub(d.started).Seconds()
	}
	if a := d.peerAddr.Load(); a != nil {
		s.PeerAddr = a.String()
		if a.Addr().IsLoopback() {
			s.LatencyMethod = "exact: the peer shares this host's clock"
		} else if haveClock {
			s.LatencyMethod = fmt.Sprintf("estimated: the peer's clock offset (%+.2f ms) is measured from hello round trips, NTP-style; error at most half the round trip (%.2f ms)", ms(offset), ms(rtt)/2)
		} else {
			s.LatencyMethod = "estimated: no round trip measured yet, clocks assumed in sync"
		}
	}
	if !ps.heard.IsZero() {
		s.LastHeardSeconds = now.Sub(ps.heard).Seconds()
		s.PeerSession = sessionHex(ps.session)
	}

	tx := d.pk.Stats()
	s.TX = TXStatus{
		Enabled: d.src != nil, Sending: d.src != nil && d.peer.wantsVideo(now),
		Frames: tx.Frames.Load(), Packets: tx.Datagrams.Load(), ParityPackets: tx.ParityDatagrams.Load(),
		Bytes: tx.Bytes.Load(), FPS: txFPS, BitrateBps: txBps, Parity: d.pk.Parity(), MaxRateMbps: cfg.Transport.MaxRateMbps,
		Quality: cfg.Capture.Quality, FramesSkipped: d.tx.skipped.Load(), FramesTooBig: tx.Rejected.Load(),
		SendErrors: d.sendErrs.Load(), PaceMbps: d.pace.bps() / 1e6,
		RecoverRequests: d.tx.recoverRx.Load(), KeyframesForced: d.tx.forced.Load(),
	}
	if d.src != nil && d.adapt.enabled() {
		a := *d.adapt.status.Load()
		s.TX.Adapt = &a
	}
	if d.src != nil {
		src := d.src.Status()
		s.TX.Source = &src
		if src.Quality > 0 {
			s.TX.Quality = src.Quality
		}
	}
	if !ps.reportAt.IsZero() {
		r := ps.report
		s.TX.PeerReport = &PeerReport{
			AgeSeconds: now.Sub(ps.reportAt).Seconds(),
			FrameCounts: FrameCounts{
				FramesDelivered: r.Delivered, FramesRecovered: r.Recovered, FramesLate: r.Late,
				FramesIncomplete: r.Incomplete, FramesLost: r.Lost, FramesCorrupt: r.Corrupt,
			},
			LossRatio: float64(r.LossPPM) / 1e6,
			LatencyMs: Percentiles{P50: float64(r.P50) / 1000, P95: float64(r.P95) / 1000, P99: float64(r.P99) / 1000},
		}
	}

	rx := d.asm.Stats()
	s.RX = RXStatus{
		Enabled:         d.sink != nil,
		FrameCounts:     frameCounts(rx),
		ShardsRecovered: rx.ShardsRecovered.Load(),
		Packets:         d.rx.fromPeer.Load(), Bytes: d.rx.bytes.Load(), PacketsInvalid: rx.InvalidTotal(),
		PacketsDuplicate: rx.Duplicates.Load(), PacketsLate: rx.LateDatagrams.Load(),
		PacketsForeign: d.rx.foreign.Load(), PacketsUnwanted: d.rx.unwanted.Load(), ReadErrors: d.rx.readErrs.Load(),
		LossRatio: d.rates.loss(), FPS: rxFPS, BitrateBps: rxBps,
		LatencyMs:   d.rx.lat.percentiles(),
		TransportMs: d.rx.netLat.percentiles(), TransportRecentMs: d.rx.netRecent.percentiles(),
		MaxDelayMs: ms(time.Duration(d.maxDelay.Load())),
	}
	s.RX.LatencyMs.Histogram, s.RX.TransportMs.Histogram = d.rx.lat.histogram(), d.rx.netLat.histogram()
	if rt := d.rxThread.Load(); rt != nil {
		s.RX.Realtime = rt.Status()
	}
	s.RX.RealtimeMode, s.RX.CPU, s.RX.ReadsLate = "auto", d.cpu.Status(), d.rx.lateReads.Load()
	if d.config().Transport.RealtimeAlways {
		s.RX.RealtimeMode = "always"
	}
	ch := &d.rx.chain
	if c := packetizer.Codec(ch.codec.Load()); c != 0 {
		s.RX.Codec = c.String()
	}
	s.RX.FramesFrozen, s.RX.Recoveries, s.RX.RecoverRequests = ch.frozen.Load(), ch.recoveries.Load(), ch.asked.Load()
	s.RX.LastFreezeMs, s.RX.BadMedia = ms(time.Duration(ch.lastFreezeN.Load())), ch.badMedia.Load()
	for r := packetizer.Reason(0); r < packetizer.NumReasons; r++ {
		if n := rx.Invalid[r].Load(); n > 0 {
			if s.RX.Invalid == nil {
				s.RX.Invalid = map[string]uint64{}
			}
			s.RX.Invalid[r.String()] = n
		}
	}
	invalid := func(name string, n uint64) {
		if n > 0 {
			if s.RX.Invalid == nil {
				s.RX.Invalid = map[string]uint64{}
			}
			s.RX.Invalid[name] = n
			s.RX.PacketsInvalid += n
		}
	}
	invalid("control", d.rx.badControl.Load())
	for r := session.Reason(0); r < session.NumReasons; r++ {
		invalid(r.String(), d.sess.Refused(r))
	}
	s.Handshake = d.sess.Status(now)
	s.PeerMoves = d.sess.Moves()
	if d.sink != nil {
		sk := d.sink.Status()
		s.RX.Sink = &sk
	}
	select {
	case <-d.ready: // the socket is bound (and d.sock set before)
		s.TX.SendCalls = d.sock.Stats().SendCalls.Load()
		s.RX.ReadCalls = d.sock.Stats().RecvCalls.Load()
		s.RX.Wakeups = d.rxTurns.Load()
		s.Offload = d.offload()
	default:
	}
	return s
}

func frameCounts(rx *packetizer.RxStats) FrameCounts {
	return FrameCounts{
		FramesDelivered: rx.FramesDelivered.Load(), FramesRecovered: rx.FramesRecovered.Load(),
		FramesLate: rx.FramesLate.Load(), FramesIncomplete: rx.FramesIncomplete.Load(),
		FramesLost: rx.FramesLost.Load(), FramesCorrupt: rx.FramesCorrupt.Load(),
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func sessionHex(s uint64) string { return fmt.Sprintf("%016x", s) }
