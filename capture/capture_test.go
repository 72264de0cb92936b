package capture

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notVideo := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notVideo, []byte("not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		cfg        Config
		wantConfig bool     // errors.Is(err, ErrConfig)
		want       []string // substrings of the message
	}{
		{"no kind", Config{}, true, []string{"unknown source kind 0"}},
		{"camera without device", Config{Kind: media.SourceCamera}, true, []string{"camera needs a device"}},
		{"file without path", Config{Kind: media.SourceFile}, true, []string{"file source needs a path"}},
		{"pattern without size", Config{Kind: media.SourcePattern}, true, []string{"pattern size 0x0 is too small"}},
		{"pattern too small", Config{Kind: media.SourcePattern, Width: 100, Height: 100}, true, []string{"too small"}},
		{"half a size", Config{Kind: media.SourceFile, Path: notVideo, Width: 640}, true, []string{"640x0", "both"}},
		{"fps too high", Config{Kind: media.SourcePattern, Width: 320, Height: 240, FPS: 5000}, true, []string{"fps 5000"}},
		{"quality too high", Config{Kind: media.SourcePattern, Width: 320, Height: 240, Quality: 101}, true, []string{"quality 101"}},
		{"missing file", Config{Kind: media.SourceFile, Path: filepath.Join(dir, "nope.avi")}, false,
			[]string{"file " + filepath.Join(dir, "nope.avi"), "no such file"}},
		{"file that is not a video", Config{Kind: media.SourceFile, Path: notVideo}, false, []string{"file " + notVideo}},
		{"missing camera path", Config{Kind: media.SourceCamera, Device: filepath.Join(dir, "video9")}, false,
			[]string{"camera " + filepath.Join(dir, "video9"), "cannot open"}},
		{"camera path that is no video device", Config{Kind: media.SourceCamera, Device: notVideo}, false,
			[]string{"camera " + notVideo, "not a V4L2 capture device"}},
		{"camera index with no device", Config{Kind: media.SourceCamera, Device: "63"}, false,
			[]string{"camera 63", "cannot open"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.cfg, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded, want an error", tc.cfg)
			}
			if errors.Is(err, ErrConfig) != tc.wantConfig {
				t.Errorf("Open: errors.Is(%q, ErrConfig) = %v, want %v", err, !tc.wantConfig, tc.wantConfig)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDeviceIndex(t *testing.T) {
	// A stand-in for /dev/video5 and a by-id style symlink to it.
	dir := t.TempDir()
	node := filepath.Join(dir, "video5")
	link := filepath.Join(dir, "usb-Cam_1234-video-index0")
	if err := os.WriteFile(node, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(node, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dev     string
		want    int
		wantErr string
	}{
		{"0", 0, ""},
		{"12", 12, ""},
		{"-1", 0, "must be >= 0"},
		{node, 5, ""},
		{link, 5, ""},
		{"/dev/null", 0, "not a V4L2 capture device"},
		{filepath.Join(dir, "video9"), 0, "no such file"},
	} {
		got, err := deviceIndex(tc.dev)
		switch {
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("deviceIndex(%q) = %d, %v; want %d, nil", tc.dev, got, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("deviceIndex(%q) = %d, %v; want an error containing %q", tc.dev, got, err, tc.wantErr)
		}
	}
}

// TestSetQuality checks that quality changes while running take effect on
// the next frame.
func TestSetQuality(t *testing.T) {
	s := openT(t, Config{Kind: media.SourcePattern, Width: 640, Height: 480, FPS: MaxFPS, Quality: 90})
	hi := next(t, s, nil)
	s.SetQuality(20)
	lo := next(t, s, nil)
	if st := s.Status(); st.Quality != 20 {
		t.Errorf("Stats.Quality = %d after SetQuality(20)", st.Quality)
	}
	if len(lo.Data)*2 > len(hi.Data) {
		t.Errorf("quality 20 frame is %d bytes, quality 90 frame %d: want less than half", len(lo.Data), len(hi.Data))
	}
	s.SetQuality(1000)
	if st := s.Status(); st.Quality != 100 {
		t.Errorf("Stats.Quality = %d after SetQuality(1000), want 100", st.Quality)
	}
}

// TestConcurrentControl runs SetQuality, SetFPS and Stats against a
// running Next and ends with Close; run it with -race.
func TestConcurrentControl(t *testing.T) {
	s, err := Open(Config{Kind: media.SourcePattern, Width: 320, Height: 240, FPS: 200}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	var frames int
	go func() {
		defer wg.Done()
		var buf []byte
		for {
			f, err := s.Next(ctx, buf)
			if err != nil {
				if !errors.Is(err, ErrClosed) && !errors.Is(err, context.Canceled) {
					t.Errorf("Next: %v", err)
				}
				return
			}
			buf = f.Data
			frames++
		}
	}()
	for i := range 200 {
		s.SetQuality(10 + i%90)
		s.SetFPS(100 + i%200)
		_ = s.Status()
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	cancel()
	if st := s.Status(); st.Frames != uint64(frames) {
		t.Errorf("Stats.Frames = %d, Next returned %d frames", st.Frames, frames)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStats(t *testing.T) {
	s := openT(t, Config{Kind: media.SourcePattern, Width: 320, Height: 240, FPS: 100, Quality: 70})
	var buf []byte
	for range 5 {
		buf = next(t, s, buf).Data
	}
	st := s.Status()
	if st.Kind != media.SourcePattern || st.Frames != 5 || st.Width != 320 || st.Height != 240 || st.ConfiguredFPS != 100 || st.Quality != 70 {
		t.Errorf("Stats = %+v, want Pattern, 5 frames, 320x240, 100 fps, quality 70", st)
	}
	if st.Bytes != len(buf) || st.EncodeLast <= 0 || st.EncodeMs <= 0 || float64(st.EncodeP95)/1e6 < st.EncodeMs {
		t.Errorf("Stats bytes %d (last frame %d), encode last %v mean %.3f ms p95 %v", st.Bytes, len(buf), st.EncodeLast, st.EncodeMs, st.EncodeP95)
	}
	if st.FPS <= 0 || st.FPS > 100*1.05 {
		t.Errorf("measured FPS = %.1f, want in (0, 105]: paced at 100", st.FPS)
	}
}

// TestSetSize checks the ladder's resolution steps: the encoded frames take
// the size asked for, and anything out of range means the configured size.
func TestSetSize(t *testing.T) {
	s := openT(t, Config{Kind: media.SourcePattern, Width: 640, Height: 480, FPS: MaxFPS, Quality: 80})
	for _, tc := range []struct{ w, h, wantW, wantH int }{
		{320, 240, 320, 240},
		{160, 90, 160, 90},
		{0, 0, 640, 480},
		{1280, 720, 640, 480}, // above the configured size
		{8, 8, 640, 480},      // below 16x16
	} {
		s.SetSize(tc.w, tc.h)
		f := next(t, s, nil)
		img := decode(t, f.Data)
		if img.Cols() != tc.wantW || img.Rows() != tc.wantH || f.Width != tc.wantW || f.Height != tc.wantH {
			t.Errorf("SetSize(%d, %d): frame %dx%d (Frame says %dx%d), want %dx%d",
				tc.w, tc.h, img.Cols(), img.Rows(), f.Width, f.Height, tc.wantW, tc.wantH)
		}
		img.Close()
	}
}
