package daemon

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// within1pc reports whether got (ms) is want or at most 1% above it: a
// percentile from the histogram is the top of its bucket.
func within1pc(got float64, want time.Duration) bool {
	w := float64(want) / 1e6
	return got >= w && got <= w*1.01
}

func TestSinceCountsOnlyTheFramesBetween(t *testing.T) {
	var r latencyRing
	r.init(latencySamples, true)
	// The call's first second: slow frames, before the window.
	for _, d := range slices.Repeat([]time.Duration{10 * time.Millisecond}, 30) {
		r.add(d)
	}
	start := r.percentiles()
	start.Histogram = r.histogram()
	// The window: 980 frames at 1 ms, 20 at 2 ms.
	for _, d := range append(slices.Repeat([]time.Duration{time.Millisecond}, 980), slices.Repeat([]time.Duration{2 * time.Millisecond}, 20)...) {
		r.add(d)
	}
	end := r.percentiles()
	end.Histogram = r.histogram()
	// Through JSON, as a benchmark reads it.
	b, err := json.Marshal(end)
	if err != nil {
		t.Fatal(err)
	}
	var decoded Percentiles
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if end.P99 != 10 {
		t.Fatalf("the ring's own p99 = %v ms, want 10: the test's slow frames should still be in it", end.P99)
	}
	got, err := decoded.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if got.Samples != 1000 || !within1pc(got.P50, time.Millisecond) || !within1pc(got.P95, time.Millisecond) || !within1pc(got.P99, 2*time.Millisecond) {
		t.Errorf("Since = %+v, want 1000 samples, p50 and p95 1 ms, p99 2 ms", got)
	}
	all, err := end.Since(Percentiles{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Samples != 1030 || !within1pc(all.P99, 10*time.Millisecond) {
		t.Errorf("Since(nothing) = %+v, want all 1030 frames, p99 10 ms", all)
	}
}

func TestSinceAcrossANewSession(t *testing.T) {
	start := Percentiles{Histogram: NewHistogram(slices.Repeat([]time.Duration{time.Millisecond}, 50)...)}
	// A new session resets the counts: fewer frames than before.
	end := Percentiles{Histogram: NewHistogram(slices.Repeat([]time.Duration{3 * time.Millisecond}, 10)...)}
	got, err := end.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if got.Samples != 10 || !within1pc(got.P50, 3*time.Millisecond) {
		t.Errorf("Since = %+v, want the 10 frames of the new session at 3 ms", got)
	}
}

func TestSinceRefuses(t *testing.T) {
	if _, err := (Percentiles{P99: 1}).Since(Percentiles{}); err == nil {
		t.Error("Since without a histogram: no error")
	}
	for _, h := range []*Histogram{
		{Counts: [][2]int64{{-1, 1}}},
		{Counts: [][2]int64{{1 << 40, 1}}},
		{Counts: [][2]int64{{3, -5}}},
	} {
		if _, err := (Percentiles{Histogram: h}).Since(Percentiles{}); err == nil {
			t.Errorf("Since accepted %v", h.Counts)
		}
		if _, err := (Percentiles{Histogram: NewHistogram(time.Millisecond)}).Since(Percentiles{Histogram: h}); err == nil {
			t.Errorf("Since accepted %v as the earlier histogram", h.Counts)
		}
	}
}

func TestHistogramClampsAndKeepsOrder(t *testing.T) {
	// A negative latency (clocks that disagree) counts as 0, one past the
	// top as the top: every frame is counted.
	got, err := Percentiles{Histogram: NewHistogram(-time.Millisecond, time.Hour, 5*time.Millisecond)}.Since(Percentiles{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Samples != 3 || got.P50 < 5 || got.P50 > 5.05 || got.P99 < 10_000 || got.P99 > 10_100 {
		t.Errorf("Since = %+v, want 3 samples, p50 5 ms, p99 at the 10 s top", got)
	}
}

func TestLatencyAddDoesNotAllocate(t *testing.T) {
	var r latencyRing
	r.init(latencySamples, true)
	d := time.Duration(0)
	if n := testing.AllocsPerRun(1000, func() { d += 7 * time.Microsecond; r.add(d) }); n != 0 {
		t.Errorf("add allocates %v times per frame, want 0", n)
	}
}

func FuzzSince(f *testing.F) {
	f.Add([]byte{0, 1, 5, 2, 200, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Pairs of (index, count) from the bytes, indices spread over
		// and past the geometry, counts possibly negative.
		var a, e Histogram
		for i := 0; i+2 < len(b); i += 3 {
			pair := [2]int64{int64(b[i])<<4 | int64(b[i+1]), int64(int8(b[i+2]))}
			if b[i]&1 == 0 {
				a.Counts = append(a.Counts, pair)
			} else {
				e.Counts = append(e.Counts, pair)
			}
		}
		p, err := Percentiles{Histogram: &e}.Since(Percentiles{Histogram: &a})
		if err == nil && (p.P50 > p.P95 || p.P95 > p.P99 || p.Samples < 0) {
			t.Errorf("Since = %+v: percentiles out of order", p)
		}
	})
}
