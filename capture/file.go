package capture

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"gocv.io/x/gocv"
)

// fileGen plays a video file in real time. Its media rate is the file's own
// (or the configured FPS); when the slot rate differs (SetFPS, or slots
// missed), it passes over or repeats images so that playback keeps to the
// clock, as a camera would.
type fileGen struct {
	path    string
	log     *slog.Logger
	vc      *gocv.VideoCapture
	loop    bool
	media   float64 // frames per second of the media
	ratio   float64 // media frames per slot
	acc     float64 // media frames owed
	pending bool    // img already holds the first frame, read by Open
	n       uint64  // frames read so far, over all loops
	loops   int
}

// openFile opens cfg.Path, reads its first frame to prove it is a video and
// settles the rate.
func (s *Source) openFile() error {
	path := s.cfg.Path
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("capture: file %s: %w", path, err)
	}
	vc, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
	if err != nil {
		if vc != nil {
			vc.Close()
		}
		return fmt.Errorf("capture: file %s: cannot open as a video (is it one OpenCV's FFmpeg can read?): %w", path, err)
	}
	if !vc.Read(&s.img) || s.img.Empty() {
		vc.Close()
		return fmt.Errorf("capture: file %s: opened but has no readable frame", path)
	}
	media := vc.Get(gocv.VideoCaptureFPS)
	if math.IsNaN(media) || media < 1 || media > MaxFPS {
		s.log.Info("file reports no usable frame rate; playing at the default", "path", path,
			"reported", media, "fps", DefaultFPS)
		media = DefaultFPS
	}
	if s.cfg.FPS != 0 {
		media = float64(s.cfg.FPS) // the configured rate is the playback rate
	} else {
		s.cfg.FPS = clampFPS(int(math.Round(media)))
	}
	s.m.srcFPS = media
	s.gen = &fileGen{path: path, log: s.log, vc: vc, loop: s.cfg.Loop, media: media, pending: true, n: 1}
	return nil
}

func (g *fileGen) setRate(fps int) { g.ratio = g.media / float64(clampFPS(fps)) }

func (g *fileGen) next(img *gocv.Mat, skip uint64, _ time.Time) (uint64, error) {
	if g.pending {
		g.pending = false
		return 0, nil
	}
	g.acc += float64(skip+1) * g.ratio
	adv := uint64(g.acc)
	g.acc -= float64(adv)
	if adv == 0 {
		return g.n - 1, nil // slots come faster than the media: show the image again
	}
	// Pass over at most a second of media: after a long stall it is cheaper
	// to carry on than to decode everything that was missed.
	if err := g.pass(min(adv-1, uint64(g.media))); err != nil {
		return 0, err
	}
	if err := g.read(img); err != nil {
		return 0, err
	}
	return g.n - 1, nil
}

// pass passes over k frames without decoding them, starting the file over
// at its end if it loops, so that the frame count stays the media's: the
// next frame read is the one its number names. At the end of a file that
// does not loop it stops short, and read reports the end.
func (g *fileGen) pass(k uint64) error {
	for fresh := false; k > 0; fresh = true {
		before := g.vc.Get(gocv.VideoCapturePosFrames)
		g.vc.Grab(int(k))
		got := uint64(max(0, g.vc.Get(gocv.VideoCapturePosFrames)-before))
		g.n += min(got, k)
		if got >= k || !g.loop {
			return nil
		}
		if got == 0 && fresh {
			return fmt.Errorf("capture: file %s: no frame after starting over", g.path)
		}
		k -= got
		if err := g.reopen(); err != nil {
			return err
		}
	}
	return nil
}

// read reads the next image, starting the file over at its end if it loops.
func (g *fileGen) read(img *gocv.Mat) error {
	if g.vc.Read(img) && !img.Empty() {
		g.n++
		return nil
	}
	if !g.loop {
		return io.EOF
	}
	if err := g.reopen(); err != nil {
		return err
	}
	if !g.vc.Read(img) || img.Empty() {
		return fmt.Errorf("capture: file %s: no frame after starting over", g.path)
	}
	g.n++
	return nil
}

// reopen starts the file over. Reopening works for every container and
// backend, where seeking does not always; it happens once per pass through
// the file.
func (g *fileGen) reopen() error {
	g.vc.Close()
	vc, err := gocv.VideoCaptureFileWithAPI(g.path, gocv.VideoCaptureFFmpeg)
	if err != nil {
		g.vc = vc
		return fmt.Errorf("capture: file %s: reopening to loop: %w", g.path, err)
	}
	g.vc = vc
	g.loops++
	if g.loops == 1 {
		g.log.Debug("file ended; looping", "path", g.path, "frames", g.n)
	}
	return nil
}

func (g *fileGen) close() {
	if g.vc != nil {
		g.vc.Close()
		g.vc = nil
	}
}
