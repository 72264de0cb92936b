package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/media"
)

// fakeStatus is a status with every part filled in.
func fakeStatus() daemon.Status {
	return daemon.Status{
		Version: "test", State: daemon.StateStreaming, Session: "00000000000000aa", Encryption: "on",
		UptimeSeconds: 12, LastHeardSeconds: 0.1, RTTms: 1.5, PeerRestarts: 1,
		TX: daemon.TXStatus{Enabled: true, Frames: 300, Packets: 1000, ParityPackets: 200, Bytes: 1 << 20, FPS: 30,
			BitrateBps: 3e7, Parity: 0.25, Quality: 80, FramesSkipped: 3,
			Adapt:      &daemon.AdaptStatus{Enabled: true, State: "hold", EstimateBps: 2e7, TargetBps: 1.6e7, MediaBps: 1.28e7, QueueDelayMs: 4, Width: 960, Height: 540, FPS: 30, Quality: 50, FeedbackCount: 9},
			Source:     &media.SourceStatus{Kind: media.SourcePattern, Width: 1280, Height: 720, FPS: 30, Frames: 303, EncodeMs: 3.3},
			PeerReport: &daemon.PeerReport{FrameCounts: daemon.FrameCounts{FramesDelivered: 290, FramesLate: 2}, LossRatio: 0.01, LatencyMs: daemon.Percentiles{P50: 8, P95: 12, P99: 20}}},
		RX: daemon.RXStatus{Enabled: true, FrameCounts: daemon.FrameCounts{FramesDelivered: 280, FramesRecovered: 20, FramesLost: 1},
			Packets: 900, Bytes: 1 << 19, PacketsInvalid: 5, Invalid: map[string]uint64{"auth": 3, "short": 2},
			LossRatio: 0.02, FPS: 29.5, BitrateBps: 2.9e7, MaxDelayMs: 100,
			LatencyMs: daemon.Percentiles{P50: 7, P95: 11, P99: 19, Samples: 280},
			Sink:      &media.SinkStatus{Kind: media.SinkNull, State: "running", Shown: 279, Skipped: 1, DecodeMs: 6}},
	}
}

// TestMetricsLint: every series passes the Prometheus naming and help
// conventions (promlint), and the exposition parses.
func TestMetricsLint(t *testing.T) {
	m := NewMetrics()
	m.SetStatus(fakeStatus)
	m.FrameDelivered(daemon.Delivered{Latency: 8 * time.Millisecond, Transport: 3 * time.Millisecond})
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "vstreamd_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}

// TestMetricsFromStatus: the values are the status's, in base units.
func TestMetricsFromStatus(t *testing.T) {
	m := NewMetrics()
	m.SetStatus(fakeStatus)
	m.FrameDelivered(daemon.Delivered{Latency: 8 * time.Millisecond, Transport: 3 * time.Millisecond})
	m.FrameDelivered(daemon.Delivered{Latency: 30 * time.Millisecond, Transport: 20 * time.Millisecond})
	srv := httptest.NewServer(mustNew(t, Options{Status: fakeStatus, Metrics: m}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string, labels ...string) float64 {
		t.Helper()
		for _, mt := range fams[name].GetMetric() {
			match := true
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range mt.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				match = match && found
			}
			if match {
				switch {
				case mt.Counter != nil:
					return mt.GetCounter().GetValue()
				case mt.Gauge != nil:
					return mt.GetGauge().GetValue()
				case mt.Histogram != nil:
					return float64(mt.GetHistogram().GetSampleCount())
				}
			}
		}
		t.Fatalf("no %s%v in /metrics", name, labels)
		return 0
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"vstreamd_state", []string{"state", "streaming"}, 1},
		{"vstreamd_state", []string{"state", "peer-lost"}, 0},
		{"vstreamd_rtt_seconds", nil, 0.0015},
		{"vstreamd_tx_frames_total", nil, 300},
		{"vstreamd_tx_datagrams_total", []string{"kind", "data"}, 800},
		{"vstreamd_tx_datagrams_total", []string{"kind", "parity"}, 200},
		{"vstreamd_tx_frames_dropped_total", []string{"reason", "not_watched"}, 3},
		{"vstreamd_source_encode_seconds", nil, 0.0033},
		{"vstreamd_adapt_state", []string{"state", "hold"}, 1},
		{"vstreamd_adapt_state", []string{"state", "decrease"}, 0},
		{"vstreamd_adapt_target_bytes_per_second", nil, 2e6},
		{"vstreamd_adapt_queue_delay_seconds", nil, 0.004},
		{"vstreamd_adapt_level", []string{"dimension", "width"}, 960},
		{"vstreamd_peer_rx_frames_total", []string{"outcome", "late"}, 2},
		{"vstreamd_peer_rx_frame_latency_percentile_seconds", []string{"percentile", "95"}, 0.012},
		{"vstreamd_rx_frames_total", []string{"outcome", "delivered"}, 280},
		{"vstreamd_rx_frames_total", []string{"outcome", "lost"}, 1},
		{"vstreamd_rx_frames_recovered_total", nil, 20},
		{"vstreamd_rx_datagrams_total", []string{"outcome", "invalid"}, 5},
		{"vstreamd_rx_datagrams_invalid_total", []string{"reason", "auth"}, 3},
		{"vstreamd_rx_bytes_total", nil, 1 << 19},
		{"vstreamd_rx_rate_bytes_per_second", nil, 2.9e7 / 8},
		{"vstreamd_rx_max_delay_seconds", nil, 0.1},
		{"vstreamd_rx_frame_latency_percentile_seconds", []string{"percentile", "50"}, 0.007},
		{"vstreamd_sink_frames_total", []string{"outcome", "shown"}, 279},
		{"vstreamd_sink_running", nil, 1},
		{"vstreamd_rx_frame_latency_seconds", nil, 2},
		{"vstreamd_rx_transport_latency_seconds", nil, 2},
	} {
		if got := get(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	h := fams["vstreamd_rx_frame_latency_seconds"].GetMetric()[0].GetHistogram()
	if got := h.GetSampleSum(); got < 0.0379 || got > 0.0381 {
		t.Errorf("latency histogram sum %v, want 0.038", got)
	}
}

func mustNew(t *testing.T, opt Options) *Server {
	t.Helper()
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPageAndAPI: the page and its files are served from the binary, with
// headers that keep it from loading anything from elsewhere, and the API
// answers with the status and the chart samples.
func TestPageAndAPI(t *testing.T) {
	s := mustNew(t, Options{Status: fakeStatus, Rx: NewTap(0)})
	s.hist.add(fakeStatus(), time.UnixMilli(1000))
	s.hist.add(fakeStatus(), time.UnixMilli(2000))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, c := range []struct{ path, ctype, body string }{
		{"/", "text/html", `<canvas id="chart-fps"`},
		{"/app.js", "text/javascript", "drawChart"},
		{"/style.css", "text/css", "figure"},
		{"/api/status", "application/json", `"previews":["rx"]`},
		{"/api/history?after=1000", "application/json", `"t":2000`},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.body) {
			t.Errorf("GET %s: %s %q, body has %q: %v", c.path, resp.Status, resp.Header.Get("Content-Type"), c.body, strings.Contains(string(body), c.body))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
	}
	var hist []Sample
	resp, err := http.Get(srv.URL + "/api/history")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&hist); err != nil || len(hist) != 2 || hist[0].RxFPS != 29.5 {
		t.Errorf("/api/history = %+v, %v; want two samples at 29.5 fps", hist, err)
	}
	for path, want := range map[string]int{
		"/api/history?after=x": http.StatusBadRequest,
		"/preview/tx.mjpeg":    http.StatusNotFound, // no source
		"/nothing":             http.StatusNotFound,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without a status function succeeded")
	}
}

// TestHostCheck: only loopback host names are answered unless AnyHost, so
// a page elsewhere can not read the video through DNS rebinding.
func TestHostCheck(t *testing.T) {
	for _, c := range []struct {
		host    string
		anyHost bool
		want    int
	}{
		{"127.0.0.1:9469", false, 200}, {"localhost:9469", false, 200}, {"LOCALHOST", false, 200},
		{"[::1]:9469", false, 200}, {"127.0.0.2", false, 200},
		{"evil.example:9469", false, 403}, {"192.0.2.1:9469", false, 403}, {"", false, 403},
		{"evil.example:9469", true, 200},
	} {
		h := mustNew(t, Options{Status: fakeStatus, AnyHost: c.anyHost}).Handler()
		req := httptest.NewRequest("GET", "/api/status", nil)
		req.Host = c.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("Host %q (AnyHost %v): %d, want %d", c.host, c.anyHost, rec.Code, c.want)
		}
	}
}

// TestHistoryRing keeps the last historyLen samples in order, and counts
// the frames of each second.
func TestHistoryRing(t *testing.T) {
	var h history
	s := fakeStatus()
	for i := range historyLen + 10 {
		s.RX.FramesDelivered = uint64(30 * i)
		s.RX.FramesLate = uint64(i)
		h.add(s, time.UnixMilli(int64(1000*(i+1))))
	}
	all := h.since(0)
	if len(all) != historyLen || all[0].T != 11000 || all[len(all)-1].T != int64(1000*(historyLen+10)) {
		t.Fatalf("since(0): %d samples from %d to %d; want %d from 11000", len(all), all[0].T, all[len(all)-1].T, historyLen)
	}
	for _, smp := range all {
		if smp.Delivered != 30 || smp.RxLate != 1 {
			t.Fatalf("sample at %d: delivered %d, late %d in the second; want 30, 1", smp.T, smp.Delivered, smp.RxLate)
		}
	}
	if got := h.since(int64(1000 * (historyLen + 8))); len(got) != 2 {
		t.Errorf("since(the third last) = %d samples, want 2", len(got))
	}
}

// TestTap: nothing is wanted while nobody watches; a watcher gets each new
// image once, at most at the tap's rate; watchers are bounded.
func TestTap(t *testing.T) {
	tap := NewTap(10)
	now := time.Now()
	if tap.Wants(now) {
		t.Fatal("a tap nobody watches wants images")
	}
	var nilTap *Tap
	if nilTap.Wants(now) {
		t.Fatal("a nil tap wants images")
	}
	release, err := tap.watch()
	if err != nil {
		t.Fatal(err)
	}
	if !tap.Wants(now) {
		t.Fatal("a watched tap wants no image")
	}
	img := []byte("image 1")
	tap.Put(img, now)
	img[6] = 'X' // Put copied it
	if tap.Wants(now.Add(50 * time.Millisecond)) {
		t.Error("the tap wants a second image 50 ms after one, at 10 fps")
	}
	if !tap.Wants(now.Add(100 * time.Millisecond)) {
		t.Error("the tap wants no image 100 ms after one, at 10 fps")
	}
	got, seq, err := tap.next(context.Background(), 0, nil)
	if err != nil || string(got) != "image 1" || seq != 1 {
		t.Errorf("next = %q, %d, %v; want image 1, 1", got, seq, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := tap.next(ctx, seq, nil); err == nil {
		t.Error("next returned the same image twice")
	}
	go tap.Put([]byte("image 2"), now.Add(time.Second))
	if got, seq, err = tap.next(context.Background(), seq, got); err != nil || string(got) != "image 2" || seq != 2 {
		t.Errorf("next after a Put = %q, %d, %v; want image 2, 2", got, seq, err)
	}
	release()
	release()
	if tap.Wants(now.Add(time.Hour)) {
		t.Error("the tap wants images after its watcher left")
	}
	var releases []func()
	for range maxWatchers {
		r, err := tap.watch()
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	if _, err := tap.watch(); err == nil {
		t.Errorf("watcher %d admitted, want at most %d", maxWatchers+1, maxWatchers)
	}
	for _, r := range releases {
		r()
	}
}

// TestMJPEG: the stream is multipart/x-mixed-replace with one JPEG part per
// new image, and it ends with the client.
func TestMJPEG(t *testing.T) {
	tap := NewTap(1000)
	srv := httptest.NewServer(mustNew(t, Options{Status: fakeStatus, Tx: tap}).Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/preview/tx.mjpeg", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for i := range 3 {
		want := []byte{0xFF, 0xD8, 0xFF, byte(i)}
		for !tap.Wants(time.Now()) {
			time.Sleep(time.Millisecond) // the handler registers as a watcher on its own goroutine
		}
		tap.Put(want, time.Now())
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(p)
		if !bytes.Equal(got, want) || p.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("part %d: %x %q, want %x image/jpeg", i, got, p.Header.Get("Content-Type"), want)
		}
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for tap.watchers.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream's watcher was not released after the client left")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFrameLog keeps the last frameLogLen frames in order, and serves them
// at /api/frames.
func TestFrameLog(t *testing.T) {
	m := NewMetrics()
	base := time.Unix(1_800_000_000, 0)
	for i := range frameLogLen + 5 {
		m.FrameDelivered(daemon.Delivered{ID: uint32(i), SenderTime: base.Add(time.Duration(i) * time.Millisecond).UnixNano(),
			Completed: base.Add(time.Duration(i)*time.Millisecond + 7*time.Millisecond)})
	}
	all := m.frames.all()
	if len(all) != frameLogLen || all[0].ID != 5 || all[len(all)-1].ID != frameLogLen+4 {
		t.Fatalf("frame log: %d frames from %d to %d; want %d from 5", len(all), all[0].ID, all[len(all)-1].ID, frameLogLen)
	}
	if d := all[0].Completed - all[0].SenderTime; d != int64(7*time.Millisecond) {
		t.Errorf("frame 5: completed - captured = %d ns, want 7 ms", d)
	}
	srv := httptest.NewServer(mustNew(t, Options{Status: fakeStatus, Metrics: m}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/frames")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []FrameTimes
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got) != frameLogLen || got[0] != all[0] {
		t.Errorf("/api/frames: %d frames, first %+v, %v; want %d, %+v", len(got), got[0], err, frameLogLen, all[0])
	}
}
