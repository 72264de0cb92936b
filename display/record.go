package display

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"time"

	"gocv.io/x/gocv"
)

// recorder writes frames to an MJPG AVI (through gocv.VideoWriter, opened
// at the first frame, whose size the file keeps: later frames of another
// size are resized to it) or to a directory as a JPEG sequence of the bytes
// received.
type recorder struct {
	path   string
	dir    bool
	fps    float64
	vw     *gocv.VideoWriter
	size   image.Point
	scaled gocv.Mat // for frames of another size
	n      int      // frames written
}

func newRecorder(cfg Config) (*recorder, error) {
	dir, err := recordTarget(cfg.Path)
	if err != nil {
		return nil, err
	}
	fps := float64(cfg.FPS)
	if fps <= 0 {
		fps = defaultFPS
	}
	return &recorder{path: cfg.Path, dir: dir, fps: fps, scaled: gocv.NewMat()}, nil
}

func (r *recorder) render(img *gocv.Mat, data []byte, _ Frame, _ *Stats) error {
	if r.dir {
		name := filepath.Join(r.path, fmt.Sprintf("frame-%06d.jpg", r.n+1))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return fmt.Errorf("record %s: %w", r.path, err)
		}
		r.n++
		return nil
	}
	if r.vw == nil {
		if err := r.open(img.Cols(), img.Rows()); err != nil {
			return err
		}
	}
	out := *img
	if img.Cols() != r.size.X || img.Rows() != r.size.Y {
		gocv.Resize(*img, &r.scaled, r.size, 0, 0, gocv.InterpolationLinear)
		out = r.scaled
	}
	if err := r.vw.Write(out); err != nil {
		return fmt.Errorf("record %s: %w", r.path, err)
	}
	r.n++
	return nil
}

func (r *recorder) open(w, h int) error {
	vw, err := gocv.VideoWriterFile(r.path, "MJPG", r.fps, w, h, true)
	if err != nil {
		return fmt.Errorf("record %s: %w", r.path, err)
	}
	if !vw.IsOpened() {
		vw.Close()
		return fmt.Errorf("record %s: OpenCV cannot write MJPG AVI there", r.path)
	}
	r.vw, r.size = vw, image.Pt(w, h)
	return nil
}

func (r *recorder) pollEvery() time.Duration { return 0 }
func (r *recorder) poll() error              { return nil }

// close finishes the AVI (VideoWriter writes its index on release).
func (r *recorder) close() error {
	r.scaled.Close()
	if r.vw != nil {
		r.vw.Close()
		r.vw = nil
	}
	return nil
}
