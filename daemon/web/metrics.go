package web

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/vstreamd/vstreamd/daemon"
)

// Metrics is what /metrics serves: the daemon's status, read at scrape time
// through the same daemon.Status that `vstreamd status -json` shows (one
// source of truth), plus latency histograms observed per delivered frame,
// and the Go runtime's and the process's own metrics.
//
// Metrics is safe for concurrent use. Its FrameDelivered is the daemon's
// FrameObserver; pass the Metrics as daemon.Options.Observer.
type Metrics struct {
	reg       *prometheus.Registry
	status    *statusCollector
	latency   prometheus.Histogram
	transport prometheus.Histogram
	frames    frameLog
}

// latencyBuckets are the histograms' upper bounds, in seconds: fine where
// a call's latency lives (a few to tens of milliseconds), coarse up to the
// longest max_delay_ms that makes sense.
var latencyBuckets = []float64{.002, .005, .0075, .01, .0125, .015, .02, .025, .03, .04, .05, .075, .1, .15, .2, .3, .5, 1}

// NewMetrics returns the metrics with an empty status until SetStatus.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		status: &statusCollector{},
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vstreamd_rx_frame_latency_seconds",
			Help:    "One-way latency of each received frame delivered to the sink, from the sender's capture to the frame being complete here (the peer's clock brought to this host's by the estimated offset).",
			Buckets: latencyBuckets,
		}),
		transport: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vstreamd_rx_transport_latency_seconds",
			Help:    "The transport's part of vstreamd_rx_frame_latency_seconds: from the sender's first datagram of the frame to the frame being complete here.",
			Buckets: latencyBuckets,
		}),
	}
	m.reg.MustRegister(m.status, m.latency, m.transport,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetStatus names the function scrapes read the daemon's status from,
// normally (*daemon.Daemon).Status. Until it is set, only the histograms
// and the runtime's metrics are served.
func (m *Metrics) SetStatus(f func() daemon.Status) { m.status.get.Store(&f) }

// FrameDelivered observes one delivered frame's latencies and keeps its
// times for /api/frames.
func (m *Metrics) FrameDelivered(f daemon.Delivered) {
	m.latency.Observe(f.Latency.Seconds())
	m.transport.Observe(f.Transport.Seconds())
	m.frames.add(f)
}

// Registry is the registry /metrics serves, for tests and for adding
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

var _ daemon.FrameObserver = (*Metrics)(nil)

// sortedKeys returns m's keys in order, so series come out stably.
func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
