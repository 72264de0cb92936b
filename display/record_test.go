package display

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// startRecord starts a record sink whose renderer reports each frame.
func startRecord(t *testing.T, cfg Config) (*Sink, *rendered) {
	t.Helper()
	r, err := newRecorder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := watch(r)
	s := newSink(cfg, nil, w)
	go s.run()
	return s, w
}

// record shows each frame and waits until the sink has written it.
func record(t *testing.T, s *Sink, w *rendered, frames []media.Frame) {
	t.Helper()
	for _, f := range frames {
		s.Show(toShow(f))
		w.wait(t, uint32(f.Seq))
	}
}

// TestRecordAVI records frames to an MJPG AVI and reads the file back with
// VideoCapture: every frame is there, in order, at the first frame's size.
func TestRecordAVI(t *testing.T) {
	const n = 15
	path := filepath.Join(t.TempDir(), "call.avi")
	frames := patternFrames(t, 320, 240, 80, n)
	frames = append(frames, patternFrames(t, 640, 480, 80, 1)[0]) // another size at the end

	s, w := startRecord(t, Config{Kind: media.SinkRecord, Path: path, FPS: 25})
	record(t, s, w, frames)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := s.Status(); st.Shown != n+1 || st.Skipped != 0 || st.DecodeErrors != 0 {
		t.Errorf("Stats: Shown %d, Skipped %d, DecodeErrors %d; want %d, 0, 0", st.Shown, st.Skipped, st.DecodeErrors, n+1)
	}

	vc, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
	if err != nil {
		t.Fatalf("reading the recording back: %v", err)
	}
	defer vc.Close()
	if fps := vc.Get(gocv.VideoCaptureFPS); fps != 25 {
		t.Errorf("recording's rate = %v, want 25", fps)
	}
	if c := vc.Get(gocv.VideoCaptureFrameCount); int(c) != n+1 {
		t.Errorf("recording's frame count property = %v, want %d", c, n+1)
	}
	img := gocv.NewMat()
	defer img.Close()
	read := 0
	for vc.Read(&img) && !img.Empty() {
		if img.Cols() != 320 || img.Rows() != 240 {
			t.Errorf("frame %d is %dx%d, want 320x240", read, img.Cols(), img.Rows())
		}
		if read < len(frames) {
			if got, want := seqOf(t, img, fmt.Sprintf("recorded frame %d", read)), uint32(frames[read].Seq); got != want {
				t.Errorf("recorded frame %d shows pattern frame %d, want %d", read, got, want)
			}
		}
		read++
	}
	if read != n+1 {
		t.Errorf("read %d frames back from %s, want %d", read, path, n+1)
	}
}

// TestRecordJPEGSequence records into a directory: each frame's received
// bytes, numbered from 1.
func TestRecordJPEGSequence(t *testing.T) {
	const n = 5
	frames := patternFrames(t, 320, 240, 70, n)
	existing := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		dir  string
	}{
		{"new directory ending in /", filepath.Join(t.TempDir(), "shots") + "/", ""},
		{"existing directory", existing, existing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = tc.path
			}
			s, w := startRecord(t, Config{Kind: media.SinkRecord, Path: tc.path})
			record(t, s, w, frames)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != n {
				t.Errorf("%s holds %d files, want %d", dir, len(entries), n)
			}
			for i, f := range frames {
				name := filepath.Join(dir, fmt.Sprintf("frame-%06d.jpg", i+1))
				got, err := os.ReadFile(name)
				if err != nil {
					t.Errorf("frame %d: %v", i, err)
					continue
				}
				if !bytes.Equal(got, f.Data) {
					t.Errorf("%s: %d bytes differ from the %d received", name, len(got), len(f.Data))
				}
			}
		})
	}
}
