package web

import (
	"context"
	"sync"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
)

// Sample is one second of the call for the page's charts, taken from
// daemon.Status.
type Sample struct {
	T         int64   `json:"t"` // Unix milliseconds
	TxFPS     float64 `json:"tx_fps"`
	RxFPS     float64 `json:"rx_fps"`
	TxBps     float64 `json:"tx_bps"`
	RxBps     float64 `json:"rx_bps"`
	TargetBps float64 `json:"target_bps"` // the adaptation's target; 0 when it is off
	LatP50    float64 `json:"lat_p50_ms"` // capture to complete, last 1024 frames
	LatP95    float64 `json:"lat_p95_ms"`
	NetP50    float64 `json:"transport_p50_ms"`
	RxLoss    float64 `json:"rx_loss"`   // datagram loss on what we receive
	PeerLoss  float64 `json:"peer_loss"` // what the peer reports on what we send
	RxLate    uint64  `json:"rx_late"`   // frames late, incomplete, lost or corrupt in this second
	Delivered uint64  `json:"rx_frames"` // frames delivered in this second
	State     string  `json:"state"`
}

// historyLen is how many samples the charts span: five minutes.
const historyLen = 300

// history keeps the last historyLen samples. Safe for concurrent use.
type history struct {
	mu      sync.Mutex
	samples []Sample // a ring once full
	next    int
	last    daemon.FrameCounts
	primed  bool
}

// add appends the sample for status s taken at now.
func (h *history) add(s daemon.Status, now time.Time) {
	rx := s.RX.FrameCounts
	h.mu.Lock()
	defer h.mu.Unlock()
	smp := Sample{
		T: now.UnixMilli(), TxFPS: s.TX.FPS, RxFPS: s.RX.FPS, TxBps: s.TX.BitrateBps, RxBps: s.RX.BitrateBps,
		LatP50: s.RX.LatencyMs.P50, LatP95: s.RX.LatencyMs.P95, NetP50: s.RX.TransportMs.P50,
		RxLoss: s.RX.LossRatio, State: s.State,
	}
	if r := s.TX.PeerReport; r != nil {
		smp.PeerLoss = r.LossRatio
	}
	if a := s.TX.Adapt; a != nil && a.Enabled {
		smp.TargetBps = a.TargetBps
	}
	if h.primed && rx.FramesDelivered >= h.last.FramesDelivered && rx.Accounted() >= h.last.Accounted() {
		smp.Delivered = rx.FramesDelivered - h.last.FramesDelivered
		smp.RxLate = (rx.Accounted() - rx.FramesDelivered) - (h.last.Accounted() - h.last.FramesDelivered)
	}
	h.last, h.primed = rx, true
	if len(h.samples) < historyLen {
		h.samples = append(h.samples, smp)
		return
	}
	h.samples[h.next] = smp
	h.next = (h.next + 1) % historyLen
}

// since returns the samples taken after Unix millisecond t, oldest first.
func (h *history) since(t int64) []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Sample, 0, len(h.samples))
	for i := range h.samples {
		s := h.samples[(h.next+i)%len(h.samples)]
		if s.T > t {
			out = append(out, s)
		}
	}
	return out
}

// run samples status every second until ctx is done.
func (h *history) run(ctx context.Context, status func() daemon.Status) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.add(status(), now)
		}
	}
}
