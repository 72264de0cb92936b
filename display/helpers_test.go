package display

import (
	"context"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// patternFrames returns n JPEG frames of capture's test pattern, whose
// pictures carry their frame numbers (capture.ReadPatternSeq).
func patternFrames(t testing.TB, w, h, quality, n int) []media.Frame {
	t.Helper()
	src, err := capture.Open(capture.Config{Kind: media.SourcePattern, Width: w, Height: h, FPS: capture.MaxFPS, Quality: quality}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make([]media.Frame, n)
	for i := range out {
		if out[i], err = src.Next(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// toShow turns a capture frame into a display frame.
func toShow(f media.Frame) media.Received {
	return media.Received{Data: f.Data, ID: uint32(f.Seq), Captured: f.Captured, Latency: 42 * time.Millisecond}
}

// seqOf reads the pattern frame number from img, failing the test if the
// picture has none.
func seqOf(t testing.TB, img gocv.Mat, what string) uint32 {
	t.Helper()
	seq, ok := capture.ReadPatternSeq(img)
	if !ok {
		t.Fatalf("%s: no pattern frame number in the %dx%d picture", what, img.Cols(), img.Rows())
	}
	return seq
}

// rendered wraps a renderer and reports, on a channel, each frame it has
// finished with, so a test can wait for the sink instead of sleeping.
type rendered struct {
	renderer
	ids chan uint32
}

func watch(r renderer) *rendered { return &rendered{renderer: r, ids: make(chan uint32, 1000)} }

func (w *rendered) render(img *gocv.Mat, data []byte, f media.Received, st *media.SinkStatus) error {
	err := w.renderer.render(img, data, f, st)
	w.ids <- f.ID
	return err
}

// wait waits for the sink to finish with frame id.
func (w *rendered) wait(t testing.TB, id uint32) {
	t.Helper()
	expectID(t, w.ids, id, "finished")
}

// expectID waits up to 20 s for the next frame id the sink reports on c
// and fails t unless it is want; did says what the sink did with it.
func expectID(t testing.TB, c <-chan uint32, want uint32, did string) {
	t.Helper()
	select {
	case got := <-c:
		if got != want {
			t.Fatalf("sink %s frame %d, want %d", did, got, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("sink never %s frame %d", did, want)
	}
}

// closeT closes s when the test ends and fails it on a Close error.
func closeT(t testing.TB, s *Sink) {
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}
