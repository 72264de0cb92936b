// Package ladder owns the encoder ladder: which frame size, frame rate and
// quality the encoder uses so that its bit rate fits the budget the
// congestion controller leaves for media.
//
// # Levels
//
// The configured size, rate and quality are the ceiling, the top level.
// Below it, for JPEG, come in order of falling bit rate: lower qualities
// (steps of QualityStep down to QualityFloor), then smaller sizes (3/4, 1/2,
// 3/8 and 1/4 of the configured width and height), each again from a
// middle quality down to the floor, and last lower frame rates at the
// smallest size. For H.264, whose encoder meets a bit rate by itself, the
// levels are sizes only, each good down to a bit rate per pixel, then frame
// rates; the budget goes to the encoder directly. For frames encoded
// already (Fixed: a replay of JPEG files), the levels are frame rates only.
//
// # Predicting a level's bit rate
//
// A JPEG's size depends on the picture, so the ladder learns it: it keeps
// a smoothed measure of the bytes per frame at the level in use and
// predicts other levels by a model fitted to vstreamd's test pattern
// (DESIGN.md): size grows with pixels^PixelExponent and with quality as
// qualityFactor says. The ratio of what was measured to what the model
// predicted for the current level scales every prediction, so the ladder
// adapts to the content, not to the pattern.
//
// # Hysteresis
//
// The ladder steps down at once, as far as needed, when the level in use
// measures over the budget; it steps up only to levels predicted to fit in
// UpFraction of the budget, one level or up to UpJump times the current
// rate, at most once per UpEvery and not within DownHold of a step down.
// So a budget
// that wobbles by less than about 20% does not make the picture flicker
// between levels.
//
// A Ladder is not safe for concurrent use.
package ladder

import (
	"fmt"
	"math"
	"time"
)

// Tuning.
const (
	QualityStep   = 10
	QualityFloor  = 30
	PixelExponent = 0.84
	UpFraction    = 0.8
	UpEvery       = 1 * time.Second
	UpJump        = 1.5 // a step up raises the rate at most this much
	DownHold      = 3 * time.Second
	// OverFraction: the level in use is over budget when it measures above
	// this share of it.
	OverFraction = 1.0
	// smallQuality is where a smaller size starts: a smaller picture at a
	// middle quality looks better than a larger one at the floor.
	smallQuality = 50
	// h264BitsPerPixel is the least bit rate per pixel per frame at which
	// an H.264 size level is used: about 1.2 Mb/s at 1280x720, 30 fps.
	h264BitsPerPixel = 0.045
	measureWeight    = 0.2 // weight of a new frame in the smoothed size
)

// Codec selects the kind of ladder.
type Codec int

// Codecs.
const (
	JPEG Codec = iota
	H264
	// Fixed is a source whose frames are encoded already (the "jpegs:DIR"
	// replay): size and quality are the frames' own, so the levels are the
	// ceiling's frame rate and the lower rates only, predicted from the
	// measured frame size as for JPEG. A JPEG ladder would step through
	// qualities and sizes that change nothing, read the unchanged frames as
	// ever more expensive content, fall to the lowest rates and climb back
	// through them again and again.
	Fixed
)

// Level is one rung: what the encoder is asked to do.
type Level struct {
	Width, Height int
	FPS           int
	Quality       int // JPEG only
}

func (l Level) String() string {
	if l.Quality > 0 {
		return fmt.Sprintf("%dx%d@%d q%d", l.Width, l.Height, l.FPS, l.Quality)
	}
	return fmt.Sprintf("%dx%d@%d", l.Width, l.Height, l.FPS)
}

// Ladder picks levels.
type Ladder struct {
	codec   Codec
	levels  []Level // falling predicted bit rate; [0] is the ceiling
	model   []float64
	cur     int
	scale   float64 // measured / modelled bytes per frame at cur; 0: unknown
	lastUp  time.Time
	lastDn  time.Time
	changed time.Time
	reason  string
}

// New returns a ladder whose top level is ceiling. Width and height must
// be positive and even; FPS at least 1; Quality 1..100 for JPEG.
func New(codec Codec, ceiling Level) (*Ladder, error) {
	if ceiling.Width < 16 || ceiling.Height < 16 || ceiling.FPS < 1 || codec == JPEG && (ceiling.Quality < 1 || ceiling.Quality > 100) {
		return nil, fmt.Errorf("ladder: ceiling %v out of range", ceiling)
	}
	l := &Ladder{codec: codec, reason: "start at the configured ceiling"}
	l.build(ceiling)
	return l, nil
}

func (l *Ladder) build(top Level) {
	// Size steps, as fractions of the ceiling's width and height, and the
	// frame-rate steps at the smallest size.
	sizes := [...]float64{1, 0.75, 0.5, 0.375, 0.25}
	fpsSteps := [...]int{24, 20, 15, 12, 10, 8, 6, 5}
	add := func(v Level) {
		m := modelBytes(v, top)
		if n := len(l.levels); n > 0 && m*float64(v.FPS) >= l.model[n-1]*float64(l.levels[n-1].FPS) {
			return // not cheaper than the level above it: useless
		}
		l.levels = append(l.levels, v)
		l.model = append(l.model, m)
	}
	var last Level
	for i, f := range sizes {
		w, h := even(float64(top.Width)*f), even(float64(top.Height)*f)
		if w < 16 || h < 16 {
			break
		}
		last = Level{Width: w, Height: h, FPS: top.FPS}
		if l.codec == Fixed {
			last.Quality = top.Quality // unused; kept so the ceiling is the top level
			add(last)
			break // only the rates below, at the frames' own size
		}
		if l.codec == H264 {
			add(last)
			continue
		}
		q := top.Quality
		if i > 0 {
			q = min(q, smallQuality)
		}
		for ; ; q -= QualityStep {
			q = max(q, min(QualityFloor, top.Quality))
			add(Level{Width: w, Height: h, FPS: top.FPS, Quality: q})
			if q <= QualityFloor {
				break
			}
		}
		last.Quality = min(top.Quality, QualityFloor)
	}
	for _, fps := range fpsSteps {
		if fps < top.FPS {
			last.FPS = fps
			add(last)
		}
	}
}

// modelBytes is the modelled size of one frame at v, in units of the
// ceiling's frame (for JPEG, and Fixed, whose levels all model as 1) or
// bits per frame per bit-per-pixel (H.264).
func modelBytes(v, top Level) float64 {
	px := float64(v.Width*v.Height) / float64(top.Width*top.Height)
	if v.Quality == 0 {
		return float64(v.Width*v.Height) * h264BitsPerPixel / 8
	}
	return math.Pow(px, PixelExponent) * qualityFactor(v.Quality) / qualityFactor(top.Quality)
}

// qualityFactor is the relative size of a JPEG at quality q, fitted to the
// 720p test pattern: q80 1, q50 0.64, q30 0.52, q15 0.36; steeper above 80.
func qualityFactor(q int) float64 {
	pts := [...]struct{ q, f float64 }{{1, 0.2}, {15, 0.36}, {30, 0.52}, {50, 0.64}, {80, 1}, {90, 1.45}, {100, 3}}
	x := float64(min(max(q, 1), 100))
	for i := 1; i < len(pts); i++ {
		if x <= pts[i].q {
			a, b := pts[i-1], pts[i]
			return a.f + (b.f-a.f)*(x-a.q)/(b.q-a.q)
		}
	}
	return pts[len(pts)-1].f
}

func even(v float64) int { return int(v/2) * 2 }

// Levels returns the ladder's levels, the ceiling first.
func (l *Ladder) Levels() []Level { return l.levels }

// Current returns the level in use.
func (l *Ladder) Current() Level { return l.levels[l.cur] }

// Reason says why the level last changed, and when.
func (l *Ladder) Reason() (string, time.Time) { return l.reason, l.changed }

// Observe records the size in bytes of a frame encoded at the current
// level.
func (l *Ladder) Observe(bytes int) {
	if bytes <= 0 || l.codec == H264 {
		return
	}
	s := float64(bytes) / l.model[l.cur]
	if l.scale == 0 {
		l.scale = s
	} else {
		l.scale += measureWeight * (s - l.scale)
	}
}

// predict is the bit rate of level i, in bits per second; 0 when nothing
// was measured yet.
func (l *Ladder) predict(i int) float64 {
	if l.codec == H264 {
		return l.model[i] * 8 * float64(l.levels[i].FPS)
	}
	return l.scale * l.model[i] * 8 * float64(l.levels[i].FPS)
}

// Update picks the level for a media budget in bits per second and
// reports whether it changed.
func (l *Ladder) Update(budget float64, now time.Time) (Level, bool) {
	if l.codec != H264 && l.scale == 0 {
		return l.levels[l.cur], false // nothing measured yet
	}
	if cur := l.predict(l.cur); cur > OverFraction*budget && l.cur < len(l.levels)-1 {
		next := l.cur
		for next < len(l.levels)-1 && l.predict(next) > UpFraction*budget {
			next++
		}
		l.move(next, now, fmt.Sprintf("%s needs %.1f Mb/s, over the %.1f Mb/s budget", l.levels[l.cur], cur/1e6, budget/1e6))
		l.lastDn = now
		return l.levels[l.cur], true
	}
	if l.cur > 0 && now.Sub(l.lastUp) >= UpEvery && now.Sub(l.lastDn) >= DownHold {
		// The next level if it fits, and further up to the best level that
		// fits within UpJump times the current rate: the prediction is a
		// model, and a jump too far would build a queue to find out.
		cur := l.predict(l.cur)
		next := l.cur
		for next > 0 && l.predict(next-1) <= UpFraction*budget && (next == l.cur || l.predict(next-1) <= UpJump*cur) {
			next--
		}
		if next < l.cur {
			l.move(next, now, fmt.Sprintf("%s fits: %.1f of %.1f Mb/s", l.levels[next], l.predict(next)/1e6, budget/1e6))
			l.lastUp = now
			return l.levels[l.cur], true
		}
	}
	return l.levels[l.cur], false
}

// move changes the level. The content scale carries over: the model
// relates the new level to the old.
func (l *Ladder) move(to int, now time.Time, why string) {
	l.cur, l.changed, l.reason = to, now, why
}
