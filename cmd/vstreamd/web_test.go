package main

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// freeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startWebCall starts two daemons calling each other on loopback, each
// serving HTTP on its own port; it returns them and their base URLs.
func startWebCall(t *testing.T) (a, b *proc, urlA, urlB string) {
	t.Helper()
	dir := t.TempDir()
	pa, pb := freeUDPPort(t), freeUDPPort(t)
	cfgA, sockA := writeConfig(t, dir, "a", pa, pb, 80)
	cfgB, sockB := writeConfig(t, dir, "b", pb, pa, 80)
	var urls [2]string
	for i, cfg := range []string{cfgA, cfgB} {
		port := freeTCPPort(t)
		urls[i] = fmt.Sprintf("http://127.0.0.1:%d", port)
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "\n[http]\nlisten = \"127.0.0.1:%d\"\n", port)
		f.Close()
	}
	return startProc(t, "A", cfgA, sockA), startProc(t, "B", cfgB, sockB), urls[0], urls[1]
}

// scrape fetches and parses url/metrics with the Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels
// include every name=value pair in labels, failing the test if none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("/metrics has no %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("/metrics has no %s%v", name, labels)
	return 0
}

// TestMetricsEndToEnd scrapes two real daemons in a call and checks that
// /metrics carries what status -json says, and moves with the call.
func TestMetricsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	a, b, urlA, _ := startWebCall(t)
	testutil.WaitFor(t, "both sides to deliver 30 frames", 20*time.Second, func() bool {
		sa, errA := a.status(t)
		sb, errB := b.status(t)
		return errA == nil && errB == nil && num(sa, "rx", "frames_delivered") >= 30 && num(sb, "rx", "frames_delivered") >= 30
	})

	before, err := a.status(t)
	if err != nil {
		t.Fatal(err)
	}
	m1 := scrape(t, urlA)
	after, err := a.status(t)
	if err != nil {
		t.Fatal(err)
	}
	// Every counter lies between the two status reads around the scrape.
	for _, c := range []struct {
		metric string
		labels []string
		path   []string
	}{
		{"vstreamd_rx_frames_total", []string{"outcome", "delivered"}, []string{"rx", "frames_delivered"}},
		{"vstreamd_rx_frames_recovered_total", nil, []string{"rx", "frames_recovered"}},
		{"vstreamd_rx_datagrams_total", []string{"outcome", "valid"}, []string{"rx", "packets"}},
		{"vstreamd_rx_bytes_total", nil, []string{"rx", "bytes"}},
		{"vstreamd_tx_frames_total", nil, []string{"tx", "frames"}},
		{"vstreamd_tx_datagrams_total", []string{"kind", "parity"}, []string{"tx", "parity_packets"}},
		{"vstreamd_tx_bytes_total", nil, []string{"tx", "bytes"}},
		{"vstreamd_sink_frames_total", []string{"outcome", "shown"}, []string{"rx", "sink", "shown"}},
	} {
		got, lo, hi := value(t, m1, c.metric, c.labels...), num(before, c.path...), num(after, c.path...)
		if got < lo || got > hi || (got == 0 && c.metric != "vstreamd_rx_frames_recovered_total") {
			t.Errorf("%s%v = %v, want non-zero and between status's %v and %v (%v)", c.metric, c.labels, got, lo, hi, c.path)
		}
	}
	if v := value(t, m1, "vstreamd_state", "state", "streaming"); v != 1 {
		t.Errorf(`vstreamd_state{state="streaming"} = %v, want 1`, v)
	}
	if v := value(t, m1, "vstreamd_state", "state", "waiting"); v != 0 {
		t.Errorf(`vstreamd_state{state="waiting"} = %v, want 0`, v)
	}
	// Every delivered frame is observed in the latency histograms, and
	// their means are plausible one-way latencies on loopback.
	for _, name := range []string{"vstreamd_rx_frame_latency_seconds", "vstreamd_rx_transport_latency_seconds"} {
		h := m1[name].GetMetric()[0].GetHistogram()
		n, mean := float64(h.GetSampleCount()), h.GetSampleSum()/float64(h.GetSampleCount())
		if lo, hi := num(before, "rx", "frames_delivered"), num(after, "rx", "frames_delivered"); n < lo || n > hi {
			t.Errorf("%s count %v, want between %v and %v (frames delivered)", name, n, lo, hi)
		}
		if !(mean > 0 && mean < 0.1) {
			t.Errorf("%s mean %.4f s, want between 0 and 0.1 s on loopback", name, mean)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "vstreamd_rtt_seconds", "vstreamd_rx_frames_per_second"} {
		value(t, m1, name)
	}

	// Values move with the call.
	frames := value(t, m1, "vstreamd_rx_frames_total", "outcome", "delivered")
	testutil.WaitFor(t, "delivered frames to grow in /metrics", 10*time.Second, func() bool {
		return value(t, scrape(t, urlA), "vstreamd_rx_frames_total", "outcome", "delivered") >= frames+30
	})
	b.stopWithin(t, 2*time.Second)
	testutil.WaitFor(t, "A's /metrics to show the peer lost", 10*time.Second, func() bool {
		return value(t, scrape(t, urlA), "vstreamd_state", "state", "peer-lost") == 1
	})
}

// TestPreviewEndToEnd reads the previews of a real daemon: a snapshot of
// each direction, and two parts of the Motion JPEG stream that differ.
func TestPreviewEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	_, b, _, urlB := startWebCall(t)
	testutil.WaitFor(t, "B to receive 30 frames", 20*time.Second, func() bool {
		s, err := b.status(t)
		return err == nil && num(s, "rx", "frames_delivered") >= 30
	})
	for _, dir := range []string{"tx", "rx"} {
		resp, err := http.Get(urlB + "/preview/" + dir + ".jpg")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("GET /preview/%s.jpg: %s %q: %s", dir, resp.Status, resp.Header.Get("Content-Type"), body)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
		if err != nil || cfg.Width != 640 || cfg.Height != 360 {
			t.Errorf("preview %s: %dx%d, %v; want a 640x360 JPEG", dir, cfg.Width, cfg.Height, err)
		}
	}

	resp, err := http.Get(urlB + "/preview/rx.mjpeg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" {
		t.Fatalf("MJPEG stream Content-Type %q (%v)", resp.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	var parts [][]byte
	for range 3 {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d of the stream: %v", len(parts), err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("part Content-Type %q", p.Header.Get("Content-Type"))
		}
		if _, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil {
			t.Errorf("part %d is not a JPEG: %v", len(parts), err)
		}
		parts = append(parts, data)
	}
	if bytes.Equal(parts[0], parts[1]) || bytes.Equal(parts[1], parts[2]) {
		t.Error("consecutive parts of the Motion JPEG stream are the same image")
	}
	if !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("MJPEG Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}
