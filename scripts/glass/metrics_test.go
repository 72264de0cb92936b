package main

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vstreamd/vstreamd/display/glass"
)

// TestServeMetrics: the samples given to observe come out of /metrics as a
// histogram in seconds.
func TestServeMetrics(t *testing.T) {
	addr, stop, observe, err := serveMetrics("127.0.0.1:0", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, ms := range []int{12, 25, 40} {
		observe(glass.Sample{Latency: time.Duration(ms) * time.Millisecond})
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	h := fams["vstreamd_glass_to_glass_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() < 0.0769 || h.GetSampleSum() > 0.0771 {
		t.Errorf("histogram: count %d, sum %v; want 3, 0.077", h.GetSampleCount(), h.GetSampleSum())
	}
}
