package display

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"time"

	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// recorder writes what it receives, in the codec it arrives in. JPEG
// frames go to an MJPG AVI (through gocv.VideoWriter, opened at the first
// frame, whose size the file keeps: later frames of another size are
// resized to it) or to a directory as a JPEG sequence of the bytes received.
// H.264 frames go, as received, into the container the file name says
// (.mkv, .mp4 or .avi; see muxer) or, in a directory, to stream.h264 (an
// Annex-B elementary stream players open); the recording starts at the
// first frame a chain starts at (a keyframe or a refresh wave) and holds
// every frame the sink decoded, so players can decode it. The first codec
// recorded stays: frames of the other are not written.
type recorder struct {
	path   string
	dir    bool
	fps    float64
	vw     *gocv.VideoWriter
	size   image.Point
	scaled gocv.Mat // for frames of another size
	n      int      // frames written
	mux    *muxer   // H.264 into a container
	h264   *os.File // H.264 into a directory
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

func (r *recorder) render(img *gocv.Mat, data []byte, f media.Received, _ *media.SinkStatus) error {
	if f.Codec == packetizer.CodecH264 || r.mux != nil || r.h264 != nil {
		return nil // H.264 frames are written by keep; a JPEG into an H.264 recording is not
	}
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

// keep writes an H.264 frame the sink decoded, shown or not.
func (r *recorder) keep(img *gocv.Mat, data []byte, f media.Received) error {
	if r.vw != nil || (r.dir && r.n > 0) {
		return nil // a JPEG recording
	}
	if r.mux == nil && r.h264 == nil {
		if f.Start != f.ID {
			return nil // wait for a frame a player can start from
		}
		var err error
		if r.dir {
			if r.h264, err = os.OpenFile(filepath.Join(r.path, "stream.h264"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
				err = fmt.Errorf("record %s: %w", r.path, err)
			}
		} else {
			r.mux, err = openMuxer(r.path, img.Cols(), img.Rows(), data)
		}
		if err != nil {
			return err
		}
	}
	if r.h264 != nil {
		if _, err := r.h264.Write(data); err != nil {
			return fmt.Errorf("record %s: %w", r.path, err)
		}
		return nil
	}
	return r.mux.write(data, f.Start == f.ID, f.Captured)
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

// close finishes the file: VideoWriter writes the AVI's index on release,
// the muxer its trailer.
func (r *recorder) close() error {
	r.scaled.Close()
	if r.vw != nil {
		r.vw.Close()
		r.vw = nil
	}
	var errs []error
	if r.mux != nil {
		errs = append(errs, r.mux.close())
		r.mux = nil
	}
	if r.h264 != nil {
		errs = append(errs, r.h264.Close())
		r.h264 = nil
	}
	return errors.Join(errs...)
}
