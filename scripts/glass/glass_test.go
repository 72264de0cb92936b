package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestGlassToGlass runs the measurement briefly, on real daemons and a
// real window under Xvfb, at 640x360, and checks that what it decoded from
// the screen makes sense: frame numbers in order, capture times near now,
// every frame on the screen after it was captured and within a second, and
// most frames sent seen. No speed is asserted: the machine may be busy.
func TestGlassToGlass(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes, a window and an X server")
	}
	if _, err := exec.LookPath("Xvfb"); err != nil && os.Getenv("CI") == "" {
		t.Skip("no Xvfb (scripts/install-deps.sh installs it)")
	}
	t.Chdir("../..") // measure builds ./cmd/vstreamd
	o := options{width: 640, height: 360, fps: 30, warmup: time.Second, duration: 3 * time.Second, interval: 2 * time.Millisecond}
	var log bytes.Buffer
	start := time.Now()
	r, err := measure(t.Context(), o, &log)
	if err != nil {
		t.Fatalf("measure: %v\n%s", err, log.String())
	}
	var out bytes.Buffer
	r.print(&out)
	t.Logf("\n%s", out.String())

	res := r.Glass
	if res.Frames() < 10 || res.Frames()*2 < r.FramesSent || res.Frames() > res.Span() {
		t.Errorf("saw %d distinct frames, %d numbers apart, of %d sent in %v; want at least 10 and half of those sent",
			res.Frames(), res.Span(), r.FramesSent, o.duration)
	}
	if len(res.Samples) < res.Frames()/2 {
		t.Errorf("timed %d of %d frames seen", len(res.Samples), res.Frames())
	}
	if res.Undecoded*2 > res.Grabs {
		t.Errorf("%d of %d reads of the window had no readable code", res.Undecoded, res.Grabs)
	}
	for i, s := range res.Samples {
		if i > 0 && (s.Seq <= res.Samples[i-1].Seq || !s.Captured.After(res.Samples[i-1].Captured)) {
			t.Errorf("sample %d: frame %d captured %v after frame %d captured %v: want both increasing",
				i, s.Seq, s.Captured, res.Samples[i-1].Seq, res.Samples[i-1].Captured)
		}
		if s.Captured.Before(start) || s.Seen.After(time.Now()) {
			t.Errorf("frame %d: captured %v, seen %v: outside the test's run from %v", s.Seq, s.Captured, s.Seen, start)
		}
		// The capture time has millisecond resolution and Seen is known
		// within s.Error.
		if s.Latency < -time.Millisecond-s.Error || s.Latency > time.Second {
			t.Errorf("frame %d: glass to glass %v, want between 0 and 1 s", s.Seq, s.Latency)
		}
	}
	if !(r.P50ms <= r.P95ms && r.P95ms <= r.P99ms && r.P99ms <= r.MaxMs && r.MinMs <= r.P50ms) {
		t.Errorf("percentiles out of order: %+v", r)
	}
	// The receiver's /api/frames joins on the capture times read off the
	// screen; complete to screen is part of capture to screen.
	if r.AfterMatched*2 < len(res.Samples) || !(r.AfterP50 > -2 && r.AfterP50 <= r.P50ms) {
		t.Errorf("complete to screen: p50 %.1f ms over %d frames joined of %d timed; want most joined, between 0 and glass p50 %.1f ms",
			r.AfterP50, r.AfterMatched, len(res.Samples), r.P50ms)
	}
}

// TestLocal runs the -local measurement (a window sink of the program's own,
// no daemons) briefly through the built command, and checks it timed frames
// from Show to the screen with sane figures.
func TestLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: a window and an X server")
	}
	if _, err := exec.LookPath("Xvfb"); err != nil && os.Getenv("CI") == "" {
		t.Skip("no Xvfb (scripts/install-deps.sh installs it)")
	}
	bin := filepath.Join(t.TempDir(), "glass")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(t.Context(), bin, "-local", "-width", "640", "-height", "360", "-warmup", "1s", "-duration", "2s").CombinedOutput()
	if err != nil {
		t.Fatalf("glass -local: %v\n%s", err, out)
	}
	t.Logf("\n%s", out)
	var p50, p95, p99 float64
	var matched, seen int
	i := bytes.Index(out, []byte("Show to screen"))
	if i < 0 {
		t.Fatalf("no result line in:\n%s", out)
	}
	if _, err := fmt.Sscanf(string(out[i:]), "Show to screen   p50 %f ms, p95 %f ms, p99 %f ms over %d frames (of %d seen)", &p50, &p95, &p99, &matched, &seen); err != nil {
		t.Fatalf("parsing the result: %v\n%s", err, out)
	}
	if matched < 10 || matched > seen || !(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 < 1000) {
		t.Errorf("Show to screen p50 %v p95 %v p99 %v ms over %d of %d frames: want at least 10 frames, 0 < p50 <= p95 <= p99 < 1 s", p50, p95, p99, matched, seen)
	}
}
