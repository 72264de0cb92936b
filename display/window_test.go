package display

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/display/internal/xvfb"
	"gocv.io/x/gocv"
)

// childDisplay is set, to the X display, in the environment of the child
// process TestWindow runs the window tests in.
const childDisplay = "VSTREAMD_TEST_WINDOW_DISPLAY"

// TestWindow runs the window sink on a real X server (Xvfb) and checks
// what is on the screen with screenshots.
//
// The tests themselves run in a child process of this test binary
// (TestWindowChild), because highgui's Qt binds to the first X display it
// connects to for the life of the process: once that server is gone, the
// next highgui call ends the process ("XIO: fatal IO error"). A child per
// run gives every run its own Qt and its own Xvfb (go test -count=N works),
// lets t.Cleanup stop the server, and turns a Qt abort into a test failure
// with its output rather than the end of the whole test binary.
func TestWindow(t *testing.T) {
	if os.Getenv(childDisplay) != "" {
		t.Skip("in the child process: TestWindowChild runs the tests")
	}
	x := xvfb.Start(t, "1280x800x24")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWindowChild$", "-test.v", "-test.count=1", "-test.timeout=4m")
	cmd.Env = append(os.Environ(), childDisplay+"="+x.Display, "DISPLAY="+x.Display)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestWindowChild")) {
		t.Fatalf("window tests in the child process: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("child process:\n%s", out)
	}
}

// TestWindowChild holds the window tests; it runs only as TestWindow's
// child, on the X display TestWindow started.
func TestWindowChild(t *testing.T) {
	display := os.Getenv(childDisplay)
	if display == "" {
		t.Skip("runs only as the child process of TestWindow")
	}
	x := xvfb.Attach(display)
	frames := patternFrames(t, 640, 360, 90, 3)

	t.Run("shows frames", func(t *testing.T) { showsFrames(t, x, frames, false) })
	t.Run("overlay", func(t *testing.T) { showsFrames(t, x, frames, true) })
	t.Run("q stops it", func(t *testing.T) {
		closedByUser(t, x, frames, func(title string, _ *windowRenderer) { x.Key(t, title, "q") })
	})
	t.Run("closing it stops it", func(t *testing.T) {
		// No window manager runs on Xvfb to offer a close button, so do what
		// Qt does when it is clicked: destroy the window behind the sink's back.
		closedByUser(t, x, frames, func(_ string, w *windowRenderer) {
			processGUI().do(func() {
				same := gocv.NewWindow(w.name) // the existing window, by name
				same.Close()
			})
		})
	})
	t.Run("opens again after being closed", func(t *testing.T) { showsFrames(t, x, frames, false) })
	t.Run("shows H.264", func(t *testing.T) { showsH264(t, x) })
	t.Run("keeps its size when the frames shrink", func(t *testing.T) {
		keepsSize(t, x, frames[0], patternFrames(t, 320, 180, 90, 1)[0])
	})
}

// keepsSize shows a frame, then a smaller one (the sender's adaptation
// stepped the resolution down): the window keeps the first frame's size
// and shows the smaller frame scaled up to it.
func keepsSize(t *testing.T, x *xvfb.Server, big, small media.Frame) {
	s, w, _ := startWindow(t, Config{Kind: media.SinkWindow, Title: "peer " + t.Name()}, nil)
	s.Show(toShow(big))
	w.wait(t, uint32(big.Seq))
	small.Seq = big.Seq + 1000
	s.Show(toShow(small))
	w.wait(t, uint32(small.Seq))
	got, err := Decode(small.Data)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	want := gocv.NewMat()
	defer want.Close()
	gocv.Resize(got, &want, image.Pt(big.Width, big.Height), 0, 0, gocv.InterpolationLinear)
	deadline := time.Now().Add(10 * time.Second)
	for {
		processGUI().do(func() { gocv.WaitKey(5) })
		shot := screenshot(t, x)
		at, score := locate(shot, want)
		shot.Close()
		if score >= 0.9 && at.Dx() == big.Width && at.Dy() == big.Height {
			t.Logf("the %dx%d frame shows scaled to %v (match %.2f)", small.Width, small.Height, at, score)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %dx%d frame scaled to %dx%d is not on the screen: best match %.2f at %v",
				small.Width, small.Height, big.Width, big.Height, score, at)
		}
	}
}

// startWindow opens a window sink whose renderer reports each frame shown.
func startWindow(t *testing.T, cfg Config, log *slog.Logger) (*Sink, *rendered, *windowRenderer) {
	t.Helper()
	r, err := newWindow(cfg)
	if err != nil {
		t.Fatalf("opening the window: %v", err)
	}
	w := watch(r)
	s := newSink(cfg, log, w)
	go s.run()
	closeT(t, s)
	return s, w, r
}

// showsFrames shows two frames and checks each on the screen: the screen is
// not blank, the frame is there pixel for pixel (with the overlay, apart
// from its corner), it carries the right frame number, and the screen
// changes from one frame to the next.
func showsFrames(t *testing.T, x *xvfb.Server, frames []media.Frame, overlay bool) {
	title := fmt.Sprintf("peer %s", t.Name())
	s, w, _ := startWindow(t, Config{Kind: media.SinkWindow, Title: title, Overlay: overlay}, nil)
	var prev gocv.Mat
	for i, f := range frames[:2] {
		s.Show(toShow(f))
		w.wait(t, uint32(f.Seq))
		want, err := Decode(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		defer want.Close()
		shot, at := onScreen(t, x, want, uint32(f.Seq))
		defer shot.Close()

		mean, dev := meanStdDev(shot)
		if dev < 20 {
			t.Errorf("frame %d: screenshot is blank (mean %.0f, stddev %.1f)", i, mean, dev)
		}
		crop := shot.Region(at)
		cornerDiff := changed(crop, want, image.Rect(want.Cols()/2, 0, want.Cols(), want.Rows()/12))
		restPSNR := psnrIn(crop, want, image.Rect(0, want.Rows()/6, want.Cols(), want.Rows()))
		crop.Close()
		t.Logf("frame %d at %v: PSNR outside the overlay corner %.1f dB, changed pixels in the corner %d", i, at.Min, restPSNR, cornerDiff)
		if restPSNR < 35 {
			t.Errorf("frame %d: the window's picture differs from the frame (PSNR %.1f dB, want >= 35: shown 1:1)", i, restPSNR)
		}
		if overlay && cornerDiff < 500 {
			t.Errorf("frame %d: only %d pixels changed in the top right corner, want the overlay there", i, cornerDiff)
		}
		if !overlay && cornerDiff > 50 {
			t.Errorf("frame %d: %d pixels changed in the top right corner without an overlay", i, cornerDiff)
		}
		if i > 0 {
			if n := changed(shot, prev, image.Rectangle{}); n < want.Cols()*want.Rows()/100 {
				t.Errorf("the screen changed in %d pixels from frame 0 to frame 1, want at least 1%% of the frame", n)
			}
		}
		prev = shot
	}
	if st := s.Status(); st.Shown != 2 || st.State != StateRunning || st.Width != 640 {
		t.Errorf("Stats: Shown %d, State %q, Width %d; want 2, running, 640", st.Shown, st.State, st.Width)
	}
}

// closedByUser shows a frame, lets close close the window as a user would,
// and checks the sink stops as documented while Show goes on working.
func closedByUser(t *testing.T, x *xvfb.Server, frames []media.Frame, closeIt func(title string, w *windowRenderer)) {
	title := fmt.Sprintf("peer %s", strings.ReplaceAll(t.Name(), "/", " "))
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, w, r := startWindow(t, Config{Kind: media.SinkWindow, Title: title}, log)
	s.Show(toShow(frames[0]))
	w.wait(t, uint32(frames[0].Seq))
	want, err := Decode(frames[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	shot, _ := onScreen(t, x, want, uint32(frames[0].Seq))
	shot.Close()

	closeIt(title, r)
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the sink did not stop after the window was closed")
	}
	s.Show(toShow(frames[1]))
	st := s.Status()
	if st.State != StateClosedByUser || st.Shown != 1 || st.Dropped != 1 || st.Received != 2 {
		t.Errorf("Stats after the user closed the window: State %q, Shown %d, Dropped %d, Received %d; want %q, 1, 1, 2",
			st.State, st.Shown, st.Dropped, st.Received, StateClosedByUser)
	}
	if n := strings.Count(logs.String(), "closed by the user"); n != 1 {
		t.Errorf("logged %d lines about the user closing the window, want 1:\n%s", n, logs.String())
	}
	gone := screenshot(t, x)
	defer gone.Close()
	if _, score := locate(gone, want); score > 0.5 {
		t.Errorf("the frame is still on the screen (match %.2f) after the window was closed", score)
	}
}

// onScreen waits until the screen shows want (a frame carrying seq) and
// returns the screenshot and where the frame is on it. The X server paints
// when Qt flushes, so it keeps letting highgui handle events and looking
// again, for up to 10 s; a screenshot of the last try is saved on failure.
func onScreen(t *testing.T, x *xvfb.Server, want gocv.Mat, seq uint32) (gocv.Mat, image.Rectangle) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		processGUI().do(func() { gocv.WaitKey(5) })
		shot := screenshot(t, x)
		at, score := locate(shot, want)
		got, ok := uint32(0), false
		if score >= 0.9 {
			crop := shot.Region(at)
			got, ok = capture.ReadPatternSeq(crop)
			crop.Close()
			if ok && got == seq {
				return shot, at
			}
		}
		if time.Now().After(deadline) {
			saved := filepath.Join(os.TempDir(), fmt.Sprintf("vstreamd-window-%d.png", time.Now().UnixNano()))
			gocv.IMWrite(saved, shot)
			shot.Close()
			t.Fatalf("frame %d is not on the screen: best match %.2f at %v reading frame %d (ok=%v); screenshot saved to %s",
				seq, score, at.Min, got, ok, saved)
		}
		shot.Close()
	}
}

func screenshot(t *testing.T, x *xvfb.Server) gocv.Mat {
	t.Helper()
	png := x.Screenshot(t)
	img, err := gocv.IMDecode(png, gocv.IMReadColor)
	if err != nil || img.Empty() {
		t.Fatalf("decoding a %d-byte screenshot: %v", len(png), err)
	}
	return img
}

// locate finds templ in img and returns where and how well it matches
// (normalised correlation, 1 = exactly).
func locate(img, templ gocv.Mat) (image.Rectangle, float32) {
	if img.Cols() < templ.Cols() || img.Rows() < templ.Rows() {
		return image.Rectangle{}, 0
	}
	res, mask := gocv.NewMat(), gocv.NewMat()
	defer res.Close()
	defer mask.Close()
	gocv.MatchTemplate(img, templ, &res, gocv.TmCcoeffNormed, mask)
	_, score, _, at := gocv.MinMaxLoc(res)
	return image.Rectangle{Min: at, Max: at.Add(image.Pt(templ.Cols(), templ.Rows()))}, score
}

func meanStdDev(img gocv.Mat) (mean, dev float64) {
	grey, m, d := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer grey.Close()
	defer m.Close()
	defer d.Close()
	gocv.CvtColor(img, &grey, gocv.ColorBGRToGray)
	gocv.MeanStdDev(grey, &m, &d)
	return m.GetDoubleAt(0, 0), d.GetDoubleAt(0, 0)
}

// changed counts the pixels of r (all when r is empty) that differ by more
// than 40 levels in some channel between a and b, of the same size.
func changed(a, b gocv.Mat, r image.Rectangle) int {
	if r.Empty() {
		r = image.Rect(0, 0, a.Cols(), a.Rows())
	}
	ra, rb := a.Region(r), b.Region(r)
	defer ra.Close()
	defer rb.Close()
	diff, grey := gocv.NewMat(), gocv.NewMat()
	defer diff.Close()
	defer grey.Close()
	gocv.AbsDiff(ra, rb, &diff)
	gocv.Threshold(diff, &diff, 40, 255, gocv.ThresholdBinary)
	gocv.CvtColor(diff, &grey, gocv.ColorBGRToGray)
	return gocv.CountNonZero(grey)
}

// psnrIn is the PSNR of a against b over r.
func psnrIn(a, b gocv.Mat, r image.Rectangle) float64 {
	ra, rb := a.Region(r), b.Region(r)
	defer ra.Close()
	defer rb.Close()
	l2 := gocv.NormWithMats(ra, rb, gocv.NormL2)
	mse := l2 * l2 / float64(r.Dx()*r.Dy()*3)
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

// TestWindowWithoutDisplay: with no X server, Open fails with an error
// instead of Qt aborting the process.
func TestWindowWithoutDisplay(t *testing.T) {
	t.Setenv("QT_QPA_PLATFORM", "")
	for _, tc := range []struct {
		display, want string
	}{
		{"", "DISPLAY is not set"},
		{":4093", "no X server answers on DISPLAY=:4093"},
		{"nonsense", "DISPLAY=nonsense"},
	} {
		t.Setenv("DISPLAY", tc.display)
		s, err := Open(Config{Kind: media.SinkWindow, Title: "nowhere"}, nil)
		if err == nil {
			s.Close()
			t.Fatalf("Open(window) with DISPLAY=%q succeeded, want an error", tc.display)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(window) with DISPLAY=%q: %q does not contain %q", tc.display, err, tc.want)
		}
	}
}
