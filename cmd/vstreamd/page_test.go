package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// chromium finds Debian's chromium. Without it the test skips, except in CI
// (CI is set), where scripts/install-deps.sh installs it and its absence
// is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: scripts/install-deps.sh installs it")
	}
	t.Skip("chromium is not installed (scripts/install-deps.sh installs it): the live page's browser test needs it")
	return ""
}

// TestPageInBrowser opens a real daemon's live page in headless Chromium:
// the page loads and shows the call's state, the preview of what the
// daemon receives changes from one screenshot to the next, and the charts
// draw.
func TestPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes and a browser")
	}
	bin := chromium(t)
	_, b, _, urlB := startWebCall(t)
	testutil.WaitFor(t, "B to receive 30 frames", 20*time.Second, func() bool {
		s, err := b.status(t)
		return err == nil && num(s, "rx", "frames_delivered") >= 30
	})

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1400, 1200),
	}
	actx, cancelA := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(urlB+"/"),
		chromedp.WaitVisible("#preview-rx"),
	); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('state').textContent === 'streaming' &&
			document.getElementById('preview-rx').naturalWidth > 0 &&
			document.getElementById('preview-tx').naturalWidth > 0 &&
			[...document.querySelectorAll('canvas')].every(c => Number(c.dataset.points) >= 15)`,
		chromedp.WithPollingInterval(200*time.Millisecond))); err != nil {
		t.Fatalf("waiting for the page to show the call, both previews and the charts: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Text("#state"))
	if err != nil || state != "streaming" {
		t.Errorf("the page shows state %q (%v), want streaming", state, err)
	}

	// The preview moves: screenshots of it differ.
	first, err := chromedp.Run(ctx, chromedp.Screenshot("#preview-rx"))
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		shot, err := chromedp.Run(ctx, chromedp.Screenshot("#preview-rx"))
		if err != nil {
			t.Fatal(err)
		}
		if changed = pixelsChanged(t, first, shot); changed > 1000 {
			break
		}
	}
	if changed <= 1000 {
		t.Errorf("the received preview did not change between screenshots (%d pixels differ)", changed)
	}

	// The charts draw lines in their series' colours.
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`(() => {
		const out = {};
		for (const id of ['chart-fps', 'chart-latency', 'chart-loss', 'chart-bitrate']) {
			const c = document.getElementById(id), d = c.getContext('2d').getImageData(0, 20, c.width, c.height - 34).data;
			const colours = [[124,183,255],[126,224,138],[245,193,92],[245,138,92],[199,139,255]];
			let n = 0;
			for (let i = 0; i < d.length; i += 4)
				if (d[i+3] > 200 && colours.some(k => Math.abs(d[i]-k[0]) + Math.abs(d[i+1]-k[1]) + Math.abs(d[i+2]-k[2]) < 40)) n++;
			out[id] = n;
		}
		return out;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range drawn {
		if n < 30 { // a few seconds of a flat line (loss at 0) are about 50 pixels
			t.Errorf("chart %s: %d pixels in the series' colours, want a drawn line", id, n)
		}
	}
	if len(drawn) != 4 {
		t.Errorf("charts measured: %v, want 4", drawn)
	}

	page, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(os.TempDir(), "vstreamd-page.jpg")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the live page: %s (chart pixels drawn %v, preview pixels changed %d)", path, drawn, changed)
}

// pixelsChanged counts the pixels that differ by more than 40 levels in a
// channel between two PNG screenshots of the same size.
func pixelsChanged(t *testing.T, a, b []byte) int {
	t.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		return ia.Bounds().Dx() * ia.Bounds().Dy()
	}
	n := 0
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if differs(ia, ib, x, y) {
				n++
			}
		}
	}
	return n
}

func differs(a, b image.Image, x, y int) bool {
	r1, g1, b1, _ := a.At(x, y).RGBA()
	r2, g2, b2, _ := b.At(x, y).RGBA()
	d := func(p, q uint32) bool { return max(p, q)-min(p, q) > 40<<8 }
	return d(r1, r2) || d(g1, g2) || d(b1, b2)
}
