package ladder

import (
	"math/rand/v2"
	"testing"
	"time"
)

var hd = Level{Width: 1280, Height: 720, FPS: 30, Quality: 80}

// encoder is a synthetic JPEG encoder: its frames are content times the
// model's size for the level, with some noise.
type encoder struct {
	content float64 // bytes of a ceiling frame
	rng     *rand.Rand
}

func (e *encoder) frame(l *Ladder) int {
	m := modelBytes(l.Current(), l.levels[0])
	return int(e.content * m * (0.9 + 0.2*e.rng.Float64()))
}

// drive runs the ladder for d at 30 frames a second under budget(t) and
// returns the number of level changes and the final level.
func drive(l *Ladder, e *encoder, start time.Time, d time.Duration, budget func(time.Duration) float64) (changes int, last Level) {
	for t := time.Duration(0); t < d; t += time.Second / 30 {
		l.Observe(e.frame(l))
		if _, changed := l.Update(budget(t), start.Add(t)); changed {
			changes++
		}
	}
	return changes, l.Current()
}

func TestLevelsFallAndRespectTheCeiling(t *testing.T) {
	for _, codec := range []Codec{JPEG, H264} {
		top := hd
		if codec == H264 {
			top.Quality = 0
		}
		l, err := New(codec, top)
		if err != nil {
			t.Fatal(err)
		}
		lv := l.Levels()
		if lv[0] != top {
			t.Errorf("codec %d: top level %v, want the ceiling %v", codec, lv[0], top)
		}
		for i := 1; i < len(lv); i++ {
			a, b := l.model[i-1]*float64(lv[i-1].FPS), l.model[i]*float64(lv[i].FPS)
			if b >= a {
				t.Errorf("codec %d: level %d %v (%.3f) not cheaper than %v (%.3f)", codec, i, lv[i], b, lv[i-1], a)
			}
			if lv[i].Width > top.Width || lv[i].FPS > top.FPS || lv[i].Quality > top.Quality || lv[i].Width%2 != 0 {
				t.Errorf("codec %d: level %v above the ceiling or odd", codec, lv[i])
			}
		}
		if last := lv[len(lv)-1]; last.FPS >= top.FPS {
			t.Errorf("codec %d: the lowest level %v does not lower the frame rate", codec, last)
		}
	}
}

func TestModelMatchesTheMeasuredPattern(t *testing.T) {
	// DESIGN.md: 720p q80 33 Mb/s, q50 21, q30 17; 960x540 q50 13; 640x360 q50 6.5.
	for _, tc := range []struct {
		v    Level
		want float64
	}{
		{Level{1280, 720, 30, 50}, 21.0 / 33},
		{Level{1280, 720, 30, 30}, 17.0 / 33},
		{Level{960, 540, 30, 50}, 13.0 / 33},
		{Level{640, 360, 30, 50}, 6.5 / 33},
	} {
		if got := modelBytes(tc.v, hd); got < 0.85*tc.want || got > 1.15*tc.want {
			t.Errorf("modelBytes(%v) = %.3f, want %.3f within 15%%", tc.v, got, tc.want)
		}
	}
}

func TestStepsDownAtOnceToFit(t *testing.T) {
	l, _ := New(JPEG, hd)
	e := &encoder{content: 100e3, rng: rand.New(rand.NewPCG(1, 1))} // 24 Mb/s at the top
	start := time.Unix(0, 0)
	drive(l, e, start, time.Second, func(time.Duration) float64 { return 40e6 })
	if l.Current() != hd {
		t.Fatalf("with room: level %v, want the ceiling", l.Current())
	}
	// The budget falls to 8 Mb/s: within a frame or two the level fits.
	changes, got := drive(l, e, start.Add(time.Second), 100*time.Millisecond, func(time.Duration) float64 { return 8e6 })
	rate := l.predict(l.cur)
	if changes == 0 || rate > 8e6 {
		t.Fatalf("budget 8 Mb/s: level %v predicts %.1f Mb/s after %d changes", got, rate/1e6, changes)
	}
	if reason, _ := l.Reason(); reason == "" {
		t.Error("no reason recorded")
	}
}

func TestNoOscillationUnderAWobblingBudget(t *testing.T) {
	l, _ := New(JPEG, hd)
	e := &encoder{content: 100e3, rng: rand.New(rand.NewPCG(2, 2))}
	start := time.Unix(0, 0)
	wobble := func(t time.Duration) float64 { // 10 Mb/s +/- 10%, period 2 s
		if (t/time.Second)%2 == 0 {
			return 11e6
		}
		return 9e6
	}
	drive(l, e, start, 10*time.Second, wobble) // settle
	changes, _ := drive(l, e, start.Add(10*time.Second), 30*time.Second, wobble)
	if changes > 2 {
		t.Errorf("a budget wobbling 9..11 Mb/s changed the level %d times in 30 s, want at most 2", changes)
	}
}

func TestClimbsBackWhenTheBudgetReturns(t *testing.T) {
	l, _ := New(JPEG, hd)
	e := &encoder{content: 100e3, rng: rand.New(rand.NewPCG(3, 3))}
	start := time.Unix(0, 0)
	drive(l, e, start, 5*time.Second, func(time.Duration) float64 { return 5e6 })
	low := l.Current()
	if low.Width >= hd.Width {
		t.Fatalf("at 5 Mb/s: level %v, want a smaller size", low)
	}
	_, got := drive(l, e, start.Add(5*time.Second), 20*time.Second, func(time.Duration) float64 { return 40e6 })
	if got != hd {
		t.Errorf("20 s after the budget came back: level %v, want the ceiling %v", got, hd)
	}
}

func TestH264KeepsTheSizeWhileTheBitrateAllows(t *testing.T) {
	top := Level{Width: 1280, Height: 720, FPS: 30}
	l, _ := New(H264, top)
	start := time.Unix(0, 0)
	if got, _ := l.Update(3e6, start); got != top {
		t.Errorf("H.264 at 3 Mb/s: %v, want %v", got, top)
	}
	got, _ := l.Update(0.5e6, start.Add(time.Second))
	if got.Width >= 1280 {
		t.Errorf("H.264 at 0.5 Mb/s: %v, want a smaller size", got)
	}
}

func TestNewRejectsBadCeilings(t *testing.T) {
	for _, c := range []Level{{}, {Width: 1280, Height: 720, FPS: 0, Quality: 80}, {Width: 1280, Height: 720, FPS: 30, Quality: 0}} {
		if _, err := New(JPEG, c); err == nil {
			t.Errorf("New(%v) = nil error", c)
		}
	}
}
