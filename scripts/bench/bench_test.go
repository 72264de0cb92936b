package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestLossyLink is the end-to-end integration test: the real vstreamd and
// badlink binaries, two daemons on loopback streaming 640x360 at 30 fps
// through 5% i.i.d. loss at parity 0.25 for three seconds. The MDS bound for
// that is above 99.99%; the test asks for a conservative 90% so that a busy
// machine does not fail it, and for no corrupt frame at all.
func TestLossyLink(t *testing.T) {
	bins, dir := buildForTest(t)
	cond := conditionNamed(t, "loss5")
	h := &harness{
		bins: bins, net: loopbackNetwork(), dir: dir,
		set: settings{
			Width: 640, Height: 360, FPS: 30, Quality: 80, MaxDatagram: 1200, MaxDelayMs: 100,
			Warmup: 500 * time.Millisecond, Duration: 3 * time.Second, Seed: 1,
			Realtime: 1, RelayRealtime: 1, // as scripts/bench.sh runs
		},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := h.run(ctx, cond, 0.25, cond.Relay)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the run did not finish within 30 s: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d, delivered %d (%.2f%%, %d via FEC), late %d, incomplete %d, lost %d, corrupt %d; relay dropped %.2f%%; transport p99 %.1f ms",
		res.Sent, res.Delivered, res.DeliveredRatio*100, res.Recovered, res.Late, res.Incomplete, res.Lost, res.Corrupt, res.RelayDrop*100, res.Transport.P99)

	if floor := uint64(h.set.Duration.Seconds() * float64(h.set.FPS) / 2); res.Sent < floor {
		t.Errorf("A sent %d frames in %v, want at least %d (half the frame rate)", res.Sent, h.set.Duration, floor)
	}
	if res.DeliveredRatio < 0.90 {
		t.Errorf("B delivered %d of %d frames (%.1f%%), want at least 90%%", res.Delivered, res.Sent, res.DeliveredRatio*100)
	}
	if res.Corrupt != 0 {
		t.Errorf("B delivered %d corrupt frames (CRC failures), want 0", res.Corrupt)
	}
	if res.RelayDrop < 0.02 || res.RelayDrop > 0.10 {
		t.Errorf("the relay dropped %.2f%% of A's datagrams, want about 5%%: the impairment did not apply", res.RelayDrop*100)
	}
	if res.Recovered == 0 {
		t.Error("no frame needed FEC at 5% loss: the datagrams were not lost on the way")
	}
	// The latency is the window's frames, not the warm-up's too.
	if d := int64(res.Transport.Samples) - int64(res.Delivered); res.LatencyOver != "window" || d < -2 || d > 2 {
		t.Errorf("transport latency over %q has %d frames, want the window's %d delivered", res.LatencyOver, res.Transport.Samples, res.Delivered)
	}
}

// TestBottleneckAdapts is the adaptation's end-to-end test: the default
// stream (1280x720, 30 fps, JPEG q80: about 33 Mb/s) through a 10 Mbit/s
// bottleneck with a 64 KB queue, as on a home uplink. Adapting, most
// frames get through; with the adaptation off almost none do, which shows
// the relay really is the bottleneck. Loose bounds: the figures belong to
// the benchmark (docs/benchmarks.md).
func TestBottleneckAdapts(t *testing.T) {
	bins, dir := buildForTest(t)
	cond := conditionNamed(t, "bn10")
	cond.Timeline = false
	run := func(fixed bool) result {
		h := &harness{
			bins: bins, net: loopbackNetwork(), dir: dir,
			set: settings{
				Width: 1280, Height: 720, FPS: 30, Quality: 80, MaxDatagram: 1200, MaxDelayMs: 100,
				Warmup: 3 * time.Second, Duration: 4 * time.Second, Seed: 1, OneWay: true, Fixed: fixed,
				Codec:    "jpeg", // 720p JPEG needs far more than the bottleneck; H.264 at 3 Mb/s fits in it
				Realtime: 1, RelayRealtime: 1,
			},
		}
		ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
		defer cancel()
		res, err := h.run(ctx, cond, 0.25, cond.Relay)
		if err != nil {
			t.Fatalf("fixed=%v: %v", fixed, err)
		}
		t.Logf("adaptive=%v: sent %d, delivered %d (%.1f%%), late %d, incomplete %d, lost %d, corrupt %d; wire %.1f Mb/s, relay dropped %.1f%%, transport p95 %.1f ms",
			!fixed, res.Sent, res.Delivered, res.DeliveredRatio*100, res.Late, res.Incomplete, res.Lost, res.Corrupt, res.WireBps/1e6, res.RelayDrop*100, res.Transport.P95)
		if res.Corrupt != 0 {
			t.Errorf("adaptive=%v: %d corrupt frames, want 0", !fixed, res.Corrupt)
		}
		return res
	}
	adaptive := run(false)
	want := uint64(0.5 * 4 * 30) // half of 30 fps over the 4 s window
	if adaptive.Delivered < want || adaptive.DeliveredRatio < 0.8 {
		t.Errorf("adapting: delivered %d frames (%.1f%% of those sent) in 4 s, want at least %d and 80%%",
			adaptive.Delivered, adaptive.DeliveredRatio*100, want)
	}
	if adaptive.WireBps > 10.5e6 {
		t.Errorf("adapting: sent %.1f Mb/s into a 10 Mbit/s link", adaptive.WireBps/1e6)
	}
	fixed := run(true)
	if fixed.Delivered*2 > adaptive.Delivered {
		t.Errorf("with the adaptation off B still got %d frames (adapting: %d): the relay did not limit the stream", fixed.Delivered, adaptive.Delivered)
	}
}

// buildForTest builds vstreamd and badlink for an end-to-end test, or
// skips it under -short or without Go or OpenCV. Building vstreamd with
// GoCV takes about a minute when it is not cached.
func buildForTest(t *testing.T) (binaries, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the real binaries; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not in PATH, so the binaries cannot be built")
	}
	if err := exec.Command("pkg-config", "--exists", "opencv4").Run(); err != nil {
		t.Skip("vstreamd needs OpenCV 4 to build (pkg-config opencv4 failed: install libopencv-dev)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bins, err := buildBinaries(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	return bins, dir
}

// conditionNamed returns the benchmark's condition of that name.
func conditionNamed(t *testing.T, name string) condition {
	t.Helper()
	for _, c := range conditions() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no condition %q", name)
	return condition{}
}
