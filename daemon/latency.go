package daemon

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// latencySamples is how many recent frames the percentiles cover: about 30
// seconds at 30 fps.
const latencySamples = 1024

// recentSamples is how many frames the recent percentiles cover: about a
// second at 30 fps.
const recentSamples = 32

// The histogram's geometry, fixed so that any two histograms a daemon
// writes can be compared: microseconds from 1 us to 10 s, two significant
// digits (buckets about 1% wide). A latency above the top counts as the top.
const (
	histLowestUs  = 1
	histHighestUs = 10_000_000
	histDigits    = 2
)

// latencyRing keeps the one-way latency of the most recent frames and,
// when asked to, a histogram of every frame's since the session began.
// Safe for concurrent use; add allocates nothing.
type latencyRing struct {
	mu      sync.Mutex
	samples []time.Duration
	n, next int
	scratch []time.Duration         // sorted copy for percentiles, reused
	hist    *hdrhistogram.Histogram // nil unless init was asked for one
}

func (r *latencyRing) init(size int, histogram bool) {
	r.samples = make([]time.Duration, size)
	r.scratch = make([]time.Duration, 0, size)
	if histogram {
		r.hist = hdrhistogram.New(histLowestUs, histHighestUs, histDigits)
	}
}

func (r *latencyRing) add(d time.Duration) {
	r.mu.Lock()
	r.samples[r.next] = d
	r.next = (r.next + 1) % len(r.samples)
	r.n = min(r.n+1, len(r.samples))
	if r.hist != nil {
		// Below zero only with clocks that disagree; within range
		// RecordValue cannot fail.
		_ = r.hist.RecordValue(min(max(d.Microseconds(), 0), histHighestUs))
	}
	r.mu.Unlock()
}

func (r *latencyRing) reset() {
	r.mu.Lock()
	r.n, r.next = 0, 0
	if r.hist != nil {
		r.hist.Reset()
	}
	r.mu.Unlock()
}

// histogram returns the histogram's buckets that hold a frame, nil without
// a histogram. It allocates: for status, not for the data path.
func (r *latencyRing) histogram() *Histogram {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hist == nil {
		return nil
	}
	h := &Histogram{Counts: [][2]int64{}}
	for i, c := range r.hist.Export().Counts {
		if c != 0 {
			h.Counts = append(h.Counts, [2]int64{int64(i), c})
		}
	}
	return h
}

// Histogram is the distribution of every frame's latency since the session
// began, as HdrHistogram buckets (github.com/HdrHistogram/hdrhistogram-go,
// 1 us to 10 s, two significant digits): the [index, count] pairs of the
// buckets that hold a frame. The percentiles beside it cover only the most
// recent frames; two histograms read at different times give those of
// exactly the frames between (Percentiles.Since), which is how a benchmark
// measures a window whatever its length.
type Histogram struct {
	Counts [][2]int64 `json:"counts"`
}

// NewHistogram returns the histogram a daemon would report had it completed
// frames with these latencies, for tools and tests that need one.
func NewHistogram(latencies ...time.Duration) *Histogram {
	var r latencyRing
	r.init(1, true)
	for _, d := range latencies {
		r.add(d)
	}
	return r.histogram()
}

// errNoHistogram is Since's error for percentiles that carry no histogram.
var errNoHistogram = errors.New("no histogram: this status does not carry one")

// Since returns the percentiles of the frames counted in p's histogram but
// not yet in earlier's: the frames between two readings of the same
// daemon's status. If a count went down, a new session began in between
// and p's histogram alone is the answer. Each percentile is the top of its
// bucket, at most 1% above the frame it names. The result carries no
// histogram.
func (p Percentiles) Since(earlier Percentiles) (Percentiles, error) {
	if p.Histogram == nil {
		return Percentiles{}, errNoHistogram
	}
	n := len(hdrhistogram.New(histLowestUs, histHighestUs, histDigits).Export().Counts)
	end, err := p.Histogram.dense(n)
	if err != nil {
		return Percentiles{}, err
	}
	if earlier.Histogram != nil {
		start, err := earlier.Histogram.dense(n)
		if err != nil {
			return Percentiles{}, fmt.Errorf("the earlier histogram: %w", err)
		}
		diff := make([]int64, n)
		for i := range diff {
			if diff[i] = end[i] - start[i]; diff[i] < 0 {
				diff = end // reset in between: all of end is newer
				break
			}
		}
		end = diff
	}
	h := hdrhistogram.Import(&hdrhistogram.Snapshot{
		LowestTrackableValue: histLowestUs, HighestTrackableValue: histHighestUs,
		SignificantFigures: histDigits, Counts: end,
	})
	total := h.TotalCount()
	if total == 0 {
		return Percentiles{}, nil
	}
	// Nearest rank, as the ring's percentiles: the library's own
	// ValueAtQuantile rounds the rank, which for 57 frames makes the p99
	// the 56th instead of the 57th.
	bars := h.Distribution()
	at := func(q float64) float64 {
		rank := max(int64(q*float64(total)+0.999999), 1)
		seen := int64(0)
		for _, b := range bars {
			if seen += b.Count; seen >= rank {
				return float64(b.To) / 1000
			}
		}
		return float64(bars[len(bars)-1].To) / 1000
	}
	return Percentiles{P50: at(0.50), P95: at(0.95), P99: at(0.99), Samples: int(total)}, nil
}

// dense returns the counts of all n buckets, or an error naming the first
// pair that does not fit the geometry.
func (h *Histogram) dense(n int) ([]int64, error) {
	counts := make([]int64, n)
	for _, c := range h.Counts {
		if c[0] < 0 || c[0] >= int64(n) || c[1] < 0 {
			return nil, fmt.Errorf("histogram bucket [%d, %d]: want an index in 0..%d and a count of at least 0", c[0], c[1], n-1)
		}
		counts[c[0]] += c[1]
	}
	return counts, nil
}

// Percentiles holds one-way latency percentiles in milliseconds.
type Percentiles struct {
	P50     float64 `json:"p50"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Samples int     `json:"samples"`
	// Histogram, where there is one, counts every frame of the session.
	Histogram *Histogram `json:"histogram,omitempty"`
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
