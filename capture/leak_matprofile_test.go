//go:build matprofile

package capture

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// TestMatProfile counts live Mats exactly with GoCV's MatProfile, which
// exists only in builds with the matprofile tag:
//
//	go test -tags matprofile -run TestMatProfile ./capture/
//
// Every source must release every Mat it made, and a running source must
// not make more as frames go by.
func TestMatProfile(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, clip, 320, 240, 12, 25)
	base := gocv.MatProfile.Count()
	for _, cfg := range []Config{
		{Kind: media.SourcePattern, Width: 640, Height: 480, FPS: MaxFPS},
		{Kind: media.SourceFile, Path: clip, FPS: MaxFPS, Loop: true, Width: 480, Height: 360},
	} {
		s, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		var buf []byte
		for range 5 {
			buf = next(t, s, buf).Data
		}
		running := gocv.MatProfile.Count()
		for range 100 {
			buf = next(t, s, buf).Data
		}
		if got := gocv.MatProfile.Count(); got != running {
			t.Errorf("%s source: %d Mats after 5 frames, %d after 105: a frame leaks Mats", cfg.Kind, running, got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := gocv.MatProfile.Count(); got != base {
			var b bytes.Buffer
			gocv.MatProfile.WriteTo(&b, 1)
			t.Errorf("%s source: %d Mats live after Close, want %d; made at:\n%s", cfg.Kind, got, base, b.String())
		}
		t.Logf("%s source: %d Mats while running, %d after Close", cfg.Kind, running-base, gocv.MatProfile.Count()-base)
	}
}

// TestMatProfileLive does the same for the camera path: the reader
// goroutine's image rotation must neither leak nor grow.
func TestMatProfileLive(t *testing.T) {
	cam := newFakeCamera(t)
	base := gocv.MatProfile.Count()
	cfg, _ := Config{Kind: media.SourceCamera, Device: "fake", FPS: 10}.normalize()
	s := newSource(cfg, nil)
	s.live = startLive(cam, cam.now, func() error { return nil }, "camera fake", &s.m)
	s.start()
	var running int
	for i := range 50 {
		c := nextAsync(s)
		cam.shoot(t, ms(100*i))
		waitFrame(t, c)
		if i == 5 {
			running = gocv.MatProfile.Count()
		}
	}
	if got := gocv.MatProfile.Count(); got != running {
		t.Errorf("camera source: %d Mats after 5 frames, %d after 50", running, got)
	}
	close(cam.shots)
	s.Close()
	if got := gocv.MatProfile.Count(); got != base {
		t.Errorf("camera source: %d Mats live after Close, want %d", got, base)
	}
}
