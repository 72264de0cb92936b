package web

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vstreamd/vstreamd/daemon"
)

// statusCollector turns one daemon.Status, taken at scrape time, into
// metrics. Names follow the Prometheus conventions: base units (seconds,
// bytes, bits per second, ratios), _total for counters, one counter with an
// outcome or reason label where status has one count per outcome.
type statusCollector struct {
	get atomic.Pointer[func() daemon.Status]
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("vstreamd_"+name, help, labels, nil)
}

// The series /metrics has from status. The help texts say what `status`
// calls each one.
var (
	descInfo      = desc("info", "Always 1; labels: the version, this endpoint's session and the encryption in use.", "version", "session", "encryption")
	descState     = desc("state", "1 for the call's current state (status: state), 0 for the others.", "state")
	descUptime    = desc("uptime_seconds", "Time since the daemon bound its sockets.")
	descHeard     = desc("peer_last_heard_seconds", "Time since anything valid was heard from the peer; -1 before the first.")
	descRestarts  = desc("peer_restarts_total", "Times the peer came back with a new session (it restarted).")
	descMoves     = desc("peer_moves_total", "Times the authenticated peer came from a new address (NAT rebinding, roaming).")
	descRTT       = desc("rtt_seconds", "Round trip to the peer, from hello messages.")
	descOffset    = desc("clock_offset_seconds", "Estimated offset of the peer's clock from this host's.")
	descTxFrames  = desc("tx_frames_total", "Frames sent to the peer.")
	descTxDgrams  = desc("tx_datagrams_total", "Datagrams of video sent, by kind: data or parity shards.", "kind")
	descTxBytes   = desc("tx_bytes_total", "Bytes of video datagrams sent.")
	descTxDropped = desc("tx_frames_dropped_total", "Frames from the source that were not sent, by reason: not_watched (the peer is not there or shows no video), too_big (over max_frame_bytes).", "reason")
	descTxErrors  = desc("tx_send_errors_total", "Datagrams the socket refused to send.")
	descTxFPS     = desc("tx_frames_per_second", "Frames sent per second, recently.")
	descTxRate    = desc("tx_rate_bytes_per_second", "Bytes of video datagrams sent per second, recently (status: bitrate_bps / 8).")
	descTxParity  = desc("tx_parity_ratio", "Parity shards sent per data shard.")
	descTxMaxRate = desc("tx_max_rate_bytes_per_second", "Pacing rate (max_rate_mbps / 8 * 1e6); 0 when pacing is off.")
	descTxQuality = desc("tx_quality", "JPEG quality the source encodes at.")

	descTxPace     = desc("tx_pace_bytes_per_second", "Pacing rate in force (the configured cap or the adaptation's); 0 when sending each frame at once.")
	descTxCalls    = desc("tx_send_calls_total", "System calls that sent datagrams (several datagrams a call when batched).")
	descAdaptState = desc("adapt_state", "1 for the adaptation's current state (increase, hold, decrease, start), 0 for the others; absent when the adaptation is off.", "state")
	descAdaptEst   = desc("adapt_estimate_bytes_per_second", "Rate the peer measured arriving, as the adaptation sees it.")
	descAdaptTgt   = desc("adapt_target_bytes_per_second", "Rate the sender aims for, parity included.")
	descAdaptMedia = desc("adapt_media_budget_bytes_per_second", "The target less parity: what the encoder is given.")
	descAdaptQueue = desc("adapt_queue_delay_seconds", "Queueing delay on the path, as the adaptation estimates it.")
	descAdaptLoss  = desc("adapt_loss_ratio", "Datagram loss as the parity policy sees it.")
	descAdaptLevel = desc("adapt_level", "The encoder level the adaptation chose, by dimension: width, height, fps, quality.", "dimension")
	descAdaptFb    = desc("adapt_feedbacks_total", "Feedback messages the adaptation has taken from the peer.")

	descSrcFrames  = desc("source_frames_total", "Frames the source encoded.")
	descSrcDropped = desc("source_frames_dropped_total", "Frame slots the source skipped because capture, encoding or sending fell behind.")
	descSrcFPS     = desc("source_frames_per_second", "Frames the source delivered per second, recently.")
	descSrcEncode  = desc("source_encode_seconds", "Mean time to resize and encode a frame, over recent frames.")
	descSrcSize    = desc("source_frame_pixels", "Size of the frames the source makes, by dimension.", "dimension")

	descPeerFrames = desc("peer_rx_frames_total", "What the peer last reported about the frames it received from this endpoint, by outcome (as this endpoint's vstreamd_rx_frames_total on the peer).", "outcome")
	descPeerLoss   = desc("peer_rx_loss_ratio", "Datagram loss the peer last reported on the stream from this endpoint.")
	descPeerLat    = desc("peer_rx_frame_latency_percentile_seconds", "Capture-to-complete latency the peer last reported for this endpoint's frames, by percentile (50, 95, 99).", "percentile")
	descPeerAge    = desc("peer_report_age_seconds", "Age of the peer's last report.")

	descRxFrames    = desc("rx_frames_total", "Frames of the peer's stream by outcome: delivered, late, incomplete, lost or corrupt (every frame sent ends in exactly one).", "outcome")
	descRxRecovered = desc("rx_frames_recovered_total", "Delivered frames that needed parity (Reed-Solomon) to complete.")
	descRxShards    = desc("rx_shards_recovered_total", "Data shards rebuilt from parity.")
	descRxDgrams    = desc("rx_datagrams_total", "Datagrams received, by outcome: valid (from the peer's current session), invalid, duplicate, late (their frame was done), foreign (from another address), unwanted (video while this endpoint shows none).", "outcome")
	descRxInvalid   = desc("rx_datagrams_invalid_total", "Invalid datagrams by the reason they were rejected.", "reason")
	descRxBytes     = desc("rx_bytes_total", "Bytes of valid datagrams from the peer.")
	descRxErrors    = desc("rx_read_errors_total", "Errors reading the socket (e.g. ICMP port unreachable).")
	descRxCalls     = desc("rx_read_calls_total", "System calls that read datagrams (several datagrams a call when batched).")
	descRxLoss      = desc("rx_loss_ratio", "Datagram loss on the peer's stream, recently.")
	descRxFPS       = desc("rx_frames_per_second", "Frames delivered per second, recently.")
	descRxRate      = desc("rx_rate_bytes_per_second", "Bytes of valid datagrams received per second, recently (status: bitrate_bps / 8).")
	descRxMaxDelay  = desc("rx_max_delay_seconds", "A frame incomplete this long after its first datagram is dropped (max_delay_ms).")
	descRxLatQ      = desc("rx_frame_latency_percentile_seconds", "Capture-to-complete latency over the last 1024 frames, by percentile (50, 95, 99), as status shows it; the histogram vstreamd_rx_frame_latency_seconds has every frame.", "percentile")

	descSinkFrames = desc("sink_frames_total", "Frames handed to the sink by outcome: shown, skipped (replaced by a newer one before shown), decode_error.", "outcome")
	descSinkDecode = desc("sink_decode_seconds", "Mean time to decode a frame, over recent frames.")
	descSinkUp     = desc("sink_running", "1 while the sink takes frames, 0 once it stopped (window closed by the user, failure).")
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descInfo, descState, descUptime, descHeard, descRestarts, descMoves, descRTT, descOffset,
		descTxFrames, descTxDgrams, descTxBytes, descTxDropped, descTxErrors, descTxFPS, descTxRate, descTxParity, descTxMaxRate, descTxQuality,
		descTxPace, descTxCalls, descAdaptState, descAdaptEst, descAdaptTgt, descAdaptMedia, descAdaptQueue, descAdaptLoss, descAdaptLevel, descAdaptFb,
		descSrcFrames, descSrcDropped, descSrcFPS, descSrcEncode, descSrcSize,
		descPeerFrames, descPeerLoss, descPeerLat, descPeerAge,
		descRxFrames, descRxRecovered, descRxShards, descRxDgrams, descRxInvalid, descRxBytes, descRxErrors, descRxCalls, descRxLoss, descRxFPS, descRxRate, descRxMaxDelay, descRxLatQ,
		descSinkFrames, descSinkDecode, descSinkUp,
	} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	get := c.get.Load()
	if get == nil {
		return
	}
	s := (*get)()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descInfo, 1, s.Version, s.Session, s.Encryption)
	for _, st := range daemon.States() {
		gauge(descState, b2f(st == s.State), st)
	}
	gauge(descUptime, s.UptimeSeconds)
	gauge(descHeard, s.LastHeardSeconds)
	counter(descRestarts, uint64(s.PeerRestarts))
	counter(descMoves, s.PeerMoves)
	gauge(descRTT, s.RTTms/1e3)
	gauge(descOffset, s.ClockOffsetMs/1e3)

	if tx := s.TX; tx.Enabled {
		counter(descTxFrames, tx.Frames)
		counter(descTxDgrams, tx.Packets-min(tx.ParityPackets, tx.Packets), "data")
		counter(descTxDgrams, tx.ParityPackets, "parity")
		counter(descTxBytes, tx.Bytes)
		counter(descTxDropped, tx.FramesSkipped, "not_watched")
		counter(descTxDropped, tx.FramesTooBig, "too_big")
		counter(descTxErrors, tx.SendErrors)
		gauge(descTxFPS, tx.FPS)
		gauge(descTxRate, tx.BitrateBps/8)
		gauge(descTxParity, tx.Parity)
		gauge(descTxMaxRate, tx.MaxRateMbps*1e6/8)
		gauge(descTxQuality, float64(tx.Quality))
		gauge(descTxPace, tx.PaceMbps*1e6/8)
		counter(descTxCalls, tx.SendCalls)
		if a := tx.Adapt; a != nil && a.Enabled {
			for _, st := range []string{"increase", "hold", "decrease", "start"} {
				gauge(descAdaptState, b2f(a.State == st), st)
			}
			gauge(descAdaptEst, a.EstimateBps/8)
			gauge(descAdaptTgt, a.TargetBps/8)
			gauge(descAdaptMedia, a.MediaBps/8)
			gauge(descAdaptQueue, a.QueueDelayMs/1e3)
			gauge(descAdaptLoss, a.Loss)
			gauge(descAdaptLevel, float64(a.Width), "width")
			gauge(descAdaptLevel, float64(a.Height), "height")
			gauge(descAdaptLevel, float64(a.FPS), "fps")
			gauge(descAdaptLevel, float64(a.Quality), "quality")
			counter(descAdaptFb, a.FeedbackCount)
		}
		if src := tx.Source; src != nil {
			counter(descSrcFrames, src.Frames)
			counter(descSrcDropped, src.Dropped)
			gauge(descSrcFPS, src.FPS)
			gauge(descSrcEncode, src.EncodeMs/1e3)
			gauge(descSrcSize, float64(src.Width), "width")
			gauge(descSrcSize, float64(src.Height), "height")
		}
		if r := tx.PeerReport; r != nil {
			frameCounts(ch, descPeerFrames, r.FrameCounts)
			gauge(descPeerLoss, r.LossRatio)
			percentiles(ch, descPeerLat, r.LatencyMs)
			gauge(descPeerAge, r.AgeSeconds)
		}
	}
	rx := s.RX
	frameCounts(ch, descRxFrames, rx.FrameCounts)
	counter(descRxRecovered, rx.FramesRecovered)
	counter(descRxShards, rx.ShardsRecovered)
	for _, o := range []struct {
		name string
		n    uint64
	}{
		{"valid", rx.Packets}, {"invalid", rx.PacketsInvalid}, {"duplicate", rx.PacketsDuplicate},
		{"late", rx.PacketsLate}, {"foreign", rx.PacketsForeign}, {"unwanted", rx.PacketsUnwanted},
	} {
		counter(descRxDgrams, o.n, o.name)
	}
	for _, reason := range sortedKeys(rx.Invalid) {
		counter(descRxInvalid, rx.Invalid[reason], reason)
	}
	counter(descRxBytes, rx.Bytes)
	counter(descRxErrors, rx.ReadErrors)
	counter(descRxCalls, rx.ReadCalls)
	gauge(descRxLoss, rx.LossRatio)
	gauge(descRxFPS, rx.FPS)
	gauge(descRxRate, rx.BitrateBps/8)
	gauge(descRxMaxDelay, rx.MaxDelayMs/1e3)
	if rx.LatencyMs.Samples > 0 {
		percentiles(ch, descRxLatQ, rx.LatencyMs)
	}
	if sk := rx.Sink; sk != nil {
		counter(descSinkFrames, sk.Shown, "shown")
		counter(descSinkFrames, sk.Skipped, "skipped")
		counter(descSinkFrames, sk.DecodeErrors, "decode_error")
		gauge(descSinkDecode, sk.DecodeMs/1e3)
		gauge(descSinkUp, b2f(sk.State == "running"))
	}
}

func frameCounts(ch chan<- prometheus.Metric, d *prometheus.Desc, c daemon.FrameCounts) {
	for _, o := range []struct {
		name string
		n    uint64
	}{
		{"delivered", c.FramesDelivered}, {"late", c.FramesLate}, {"incomplete", c.FramesIncomplete},
		{"lost", c.FramesLost}, {"corrupt", c.FramesCorrupt},
	} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(o.n), o.name)
	}
}

// percentiles sends the three percentiles status shows as gauges labelled
// percentile="50" and so on ("quantile" is reserved for summaries, which
// these are not: they cover the last frames, not the process's life).
func percentiles(ch chan<- prometheus.Metric, d *prometheus.Desc, p daemon.Percentiles) {
	for _, q := range []struct {
		name string
		ms   float64
	}{{"50", p.P50}, {"95", p.P95}, {"99", p.P99}} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, q.ms/1e3, q.name)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
