//go:build matprofile

package capture

import (
	"path/filepath"
	"testing"

	"github.com/vstreamd/vstreamd/capture/capturetest"
	"github.com/vstreamd/vstreamd/daemon/media"
)

// TestMatProfile: every source releases every Mat it made, and a running
// source makes no more as frames go by (capturetest.LiveMats counts them
// exactly, in builds with the matprofile tag).
func TestMatProfile(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, clip, 320, 240, 12, 25)
	base := capturetest.LiveMats()
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
		running := capturetest.LiveMats()
		for range 100 {
			buf = next(t, s, buf).Data
		}
		capturetest.CheckMats(t, running, cfg.Kind.String()+" source, 100 frames after the fifth")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		capturetest.CheckMats(t, base, cfg.Kind.String()+" source, closed")
		t.Logf("%s source: %d Mats while running", cfg.Kind, running-base)
	}
}

// TestMatProfileLive does the same for the camera path: the reader
// goroutine's image rotation must neither leak nor grow.
func TestMatProfileLive(t *testing.T) {
	cam := newFakeCamera(t)
	base := capturetest.LiveMats()
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
			running = capturetest.LiveMats()
		}
	}
	capturetest.CheckMats(t, running, "camera source, 44 frames after the fifth")
	close(cam.shots)
	s.Close()
	capturetest.CheckMats(t, base, "camera source, closed")
}
