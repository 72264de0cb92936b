package daemon

import (
	"slices"
	"sync"
	"time"
)

// latencySamples is how many recent frames the percentiles cover: about 30
// seconds at 30 fps.
const latencySamples = 1024

// recentSamples is how many frames the recent percentiles cover: about a
// second at 30 fps.
const recentSamples = 32

// latencyRing keeps the one-way latency of the most recent frames. Safe for
// concurrent use; add allocates nothing.
type latencyRing struct {
	mu      sync.Mutex
	samples []time.Duration
	n, next int
	scratch []time.Duration // sorted copy for percentiles, reused
}

func (r *latencyRing) init(size int) {
	r.samples = make([]time.Duration, size)
	r.scratch = make([]time.Duration, 0, size)
}

func (r *latencyRing) add(d time.Duration) {
	r.mu.Lock()
	r.samples[r.next] = d
	r.next = (r.next + 1) % len(r.samples)
	r.n = min(r.n+1, len(r.samples))
	r.mu.Unlock()
}

func (r *latencyRing) reset() {
	r.mu.Lock()
	r.n, r.next = 0, 0
	r.mu.Unlock()
}

// Percentiles holds one-way latency percentiles in milliseconds.
type Percentiles struct {
	P50     float64 `json:"p50"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Samples int     `json:"samples"`
}

// percentiles returns nearest-rank percentiles over the samples held.
func (r *latencyRing) percentiles() Percentiles {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return Percentiles{}
	}
	s := append(r.scratch[:0], r.samples[:r.n]...)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.999999) - 1
		return float64(s[max(0, min(i, len(s)-1))]) / 1e6
	}
	return Percentiles{P50: at(0.50), P95: at(0.95), P99: at(0.99), Samples: len(s)}
}
