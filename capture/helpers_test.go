package capture

import (
	"context"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// decode decodes a JPEG into a BGR Mat the caller closes.
func decode(t testing.TB, jpeg []byte) gocv.Mat {
	t.Helper()
	img, err := gocv.IMDecode(jpeg, gocv.IMReadColor)
	if err != nil || img.Empty() {
		img.Close()
		t.Fatalf("IMDecode of %d bytes: %v, empty=%v", len(jpeg), err, err == nil)
	}
	return img
}

// openT opens a source and closes it when the test ends.
func openT(t testing.TB, cfg Config) *Source {
	t.Helper()
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// next calls s.Next with a deadline far enough out that only a hang hits it.
func next(t testing.TB, s *Source, dst []byte) media.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, err := s.Next(ctx, dst)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return f
}

// writeVideo writes n pattern frames of w x h to path as MJPG at fps with
// VideoWriter, the way a user's recording would be made.
func writeVideo(t testing.TB, path string, w, h, n int, fps float64) {
	t.Helper()
	p, err := newPattern(w, h)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	vw, err := gocv.VideoWriterFile(path, "MJPG", fps, w, h, true)
	if err != nil {
		t.Fatalf("VideoWriterFile(%s): %v", path, err)
	}
	defer vw.Close()
	if !vw.IsOpened() {
		t.Fatalf("VideoWriterFile(%s): not opened", path)
	}
	img := gocv.NewMat()
	defer img.Close()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range n {
		p.draw(&img, uint64(i), at.Add(time.Duration(i)*time.Second/time.Duration(fps)))
		if err := vw.Write(img); err != nil {
			t.Fatalf("VideoWriter.Write frame %d: %v", i, err)
		}
	}
}
