package capture

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"
)

// openCamera opens the V4L2 device, asks for the configured mode, reads one
// frame to prove the device delivers, logs what it actually gave when that
// differs, and starts the reader goroutine.
func (s *Source) openCamera() error {
	name := s.cfg.Device
	idx, err := deviceIndex(name)
	if err != nil {
		return fmt.Errorf("capture: camera %s: %w", name, err)
	}
	vc, err := gocv.VideoCaptureDeviceWithAPI(idx, gocv.VideoCaptureV4L2)
	if err != nil {
		vc.Close()
		return fmt.Errorf("capture: camera %s: cannot open (is it a capture device, may this user read it, e.g. group video, and is no other program using it?): %w", name, err)
	}
	// MJPG first: most USB cameras give 720p and up at full rate only in
	// MJPG. A camera without it keeps its own format.
	vc.Set(gocv.VideoCaptureFOURCC, vc.ToCodec("MJPG"))
	if s.cfg.Width > 0 {
		vc.Set(gocv.VideoCaptureFrameWidth, float64(s.cfg.Width))
		vc.Set(gocv.VideoCaptureFrameHeight, float64(s.cfg.Height))
	}
	if s.cfg.FPS > 0 {
		vc.Set(gocv.VideoCaptureFPS, float64(s.cfg.FPS))
	}
	if !vc.Read(&s.img) || s.img.Empty() {
		vc.Close()
		return fmt.Errorf("capture: camera %s: opened but delivered no frame (a metadata node such as the second /dev/video of a UVC camera looks like this)", name)
	}
	gotW, gotH := s.img.Cols(), s.img.Rows()
	gotFPS := vc.Get(gocv.VideoCaptureFPS)
	if math.IsNaN(gotFPS) || gotFPS < 0 {
		gotFPS = 0
	}
	attrs := []any{"device", name, "format", vc.CodecString(), "width", gotW, "height", gotH, "fps", gotFPS}
	if (s.cfg.Width > 0 && (gotW != s.cfg.Width || gotH != s.cfg.Height)) ||
		(s.cfg.FPS > 0 && gotFPS > 0 && math.Abs(gotFPS-float64(s.cfg.FPS)) > 0.5) {
		attrs = append(attrs, "want_width", s.cfg.Width, "want_height", s.cfg.Height, "want_fps", s.cfg.FPS)
		s.log.Warn("camera does not give the requested mode; frames are resized to the requested size and paced to at most the requested rate", attrs...)
	} else {
		s.log.Info("camera mode", attrs...)
	}
	if s.cfg.FPS == 0 {
		s.cfg.FPS = DefaultFPS
		if gotFPS >= 1 {
			s.cfg.FPS = clampFPS(int(math.Round(gotFPS)))
		}
	}
	s.m.srcFPS = gotFPS
	s.live = startLive(vc, time.Now, vc.Close, "camera "+name, &s.m)
	return nil
}

// deviceIndex turns "3", "/dev/video3" or a symlink to /dev/video3 into 3.
func deviceIndex(dev string) (int, error) {
	if n, err := strconv.Atoi(dev); err == nil {
		if n < 0 {
			return 0, errors.New("device index must be >= 0")
		}
		return n, nil
	}
	target, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return 0, fmt.Errorf("cannot open: %w", err)
	}
	base := filepath.Base(target)
	n, err := strconv.Atoi(strings.TrimPrefix(base, "video"))
	if !strings.HasPrefix(base, "video") || err != nil || n < 0 {
		return 0, fmt.Errorf("cannot open: %s is not a V4L2 capture device (want /dev/videoN)", target)
	}
	return n, nil
}
