package capture

import (
	"path/filepath"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// leakWorkload runs sources the way a long call does: many frames from the
// pattern and from a looping file (which reopens the file at each pass),
// and sources opened and closed again.
func leakWorkload(t testing.TB, clip string, rounds int) {
	t.Helper()
	for range rounds {
		for _, cfg := range []Config{
			{Kind: media.SourcePattern, Width: 640, Height: 480, FPS: MaxFPS, Quality: 70},
			{Kind: media.SourceFile, Path: clip, FPS: MaxFPS, Loop: true, Width: 480, Height: 360}, // resized
		} {
			s, err := Open(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			var buf []byte
			for range 60 {
				buf = next(t, s, buf).Data
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestNoMemoryGrowth checks that the process's memory stays flat over
// thousands of frames and dozens of sources.
//
// It measures in a child process with MALLOC_ARENA_MAX=1: otherwise glibc
// grows a malloc arena for each OS thread that allocates, in steps of about
// 5 MB up to its limit, which hides small leaks. Measured here with one
// arena: growth within +-1.5 MB; the limit is 5 MB, which a leak of more
// than 2 KB a frame or 125 KB a source crosses (one 640x480 Mat a frame
// would add 2.2 GB, an unreleased pattern per source 37 MB). The exact Mat
// count, which catches even a leaked Mat header, is checked by
// TestMatProfile (go test -tags matprofile).
func TestNoMemoryGrowth(t *testing.T) {
	if !testutil.MemoryTest(t) {
		return // measured in a child process
	}
	clip := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, clip, 320, 240, 12, 25)
	leakWorkload(t, clip, 4) // warm up caches and pools
	before := testutil.RSS(t)
	const rounds = 20
	leakWorkload(t, clip, rounds)
	after := testutil.RSS(t)
	growth := after - before
	t.Logf("RSS before %.1f MB, after %d more sources and %d frames %.1f MB (growth %+.1f MB)",
		float64(before)/1e6, 2*rounds, 2*rounds*60, float64(after)/1e6, float64(growth)/1e6)
	if growth > 5<<20 {
		t.Errorf("RSS grew by %.1f MB over %d frames: something is not released", float64(growth)/1e6, 2*rounds*60)
	}
}
