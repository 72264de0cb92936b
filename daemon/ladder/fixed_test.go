package ladder

import (
	"testing"
	"time"
)

// replay is a source whose frames are encoded already: every frame is the
// same size whatever level the ladder asks for.
func replay(bytes int) func(*Ladder) int { return func(*Ladder) int { return bytes } }

// driveWith runs l at 30 frames a second for d under a fixed budget,
// frames from frame, and returns the level changes and the last level.
func driveWith(l *Ladder, frame func(*Ladder) int, start time.Time, d time.Duration, budget float64) (int, Level) {
	changes := 0
	for t := time.Duration(0); t < d; t += time.Second / 30 {
		l.Observe(frame(l))
		if _, changed := l.Update(budget, start.Add(t)); changed {
			changes++
		}
	}
	return changes, l.Current()
}

func TestFixedLevelsAreRatesOnly(t *testing.T) {
	l, err := New(Fixed, hd)
	if err != nil {
		t.Fatal(err)
	}
	levels := l.Levels()
	if levels[0] != hd {
		t.Fatalf("top level %v, want the ceiling %v", levels[0], hd)
	}
	for i, v := range levels {
		if v.Width != hd.Width || v.Height != hd.Height || v.Quality != hd.Quality || i > 0 && v.FPS >= levels[i-1].FPS {
			t.Errorf("level %d = %v: want the ceiling's size and quality at a falling rate", i, v)
		}
	}
	if n := len(levels); n != 9 || levels[n-1].FPS != 5 {
		t.Errorf("levels %v, want 30 fps and the 8 rates below down to 5", levels)
	}
}

// TestFixedSettlesOnARate: 100 KB frames (24 Mb/s at 30 fps) under a 10
// Mb/s budget. The Fixed ladder goes at once to the rate that fits within
// UpFraction of it, 10 fps (8 Mb/s), stays there, and comes back to the
// full rate when the budget does. A JPEG ladder over the same frames steps
// through qualities and sizes that change nothing and then reports a
// level (a smaller size, a lower quality) that is not what is sent: the
// reason Fixed exists.
func TestFixedSettlesOnARate(t *testing.T) {
	start := time.Unix(0, 0)
	l, _ := New(Fixed, hd)
	down, got := driveWith(l, replay(100e3), start, 5*time.Second, 10e6)
	if want := (Level{Width: 1280, Height: 720, FPS: 10, Quality: 80}); got != want || down != 1 {
		t.Errorf("Fixed at 10 Mb/s: %v after %d changes, want %v after one", got, down, want)
	}
	if changes, got := driveWith(l, replay(100e3), start.Add(5*time.Second), 60*time.Second, 10e6); changes != 0 {
		t.Errorf("Fixed at a steady 10 Mb/s: %d more changes in 60 s (now %v), want none", changes, got)
	}
	if _, got := driveWith(l, replay(100e3), start.Add(65*time.Second), 20*time.Second, 40e6); got != hd {
		t.Errorf("Fixed with room again: %v, want %v", got, hd)
	}

	j, _ := New(JPEG, hd)
	jDown, jGot := driveWith(j, replay(100e3), start, 5*time.Second, 10e6)
	if jGot.Width == hd.Width && jGot.Quality == hd.Quality {
		t.Errorf("JPEG ladder over fixed frames: %v after %d changes; the test no longer shows why Fixed is needed", jGot, jDown)
	}
	t.Logf("at 10 Mb/s: Fixed %v after %d change, JPEG %v after %d (frames sent: 1280x720 as they are)", got, down, jGot, jDown)
}
