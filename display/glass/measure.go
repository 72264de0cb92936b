// Package glass measures glass-to-glass latency on a real window: the time
// from the sender capturing a frame of the test pattern to that frame being
// on the receiver's screen.
//
// The pattern source draws each frame's number and capture time (Unix
// milliseconds) into a code of cells in its top left corner
// (capture.PatternCode). Measure reads the receiver's window many times a
// second with XGetImage, only the few rows of pixels the code covers,
// decodes the code, and records for every frame number the moment it first
// appeared on the screen. Glass to glass is that moment minus the capture
// time, both on this host's clock, so the sender and the receiver must run
// on the same host (or on hosts whose clocks agree better than the figure
// measured).
//
// When a frame appeared is known to within one grab: after the previous
// grab began reading the screen and before this one finished. Measure takes
// the middle of that span, so each sample is exact to half of it (about a
// read period, 3 ms, plus a read, under a millisecond on Xvfb). When the
// reader itself was held up (a busy machine deschedules it) the span is
// long; samples whose error would exceed Options.MaxError are left out of
// the percentiles and counted.
package glass

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/capture"
)

// Options say what to measure.
type Options struct {
	Display string // X display, ":N"
	Window  uint32 // X window id of the receiver's window
	Width   int    // width the pattern is shown at, in pixels
	// Duration is how long to measure.
	Duration time.Duration
	// Interval is the least time between two grabs (default 2 ms), so the
	// grabber leaves the CPU to the daemons it measures.
	Interval time.Duration
	// NoShm reads with plain XGetImage, through the X socket, instead of
	// through shared memory (MIT-SHM).
	NoShm bool
	// MaxError is the largest error of a sample's screen time that is
	// kept (default 5 ms).
	MaxError time.Duration
	// Observe, if set, is called with every timed sample as it is taken
	// (e.g. to feed a Prometheus histogram).
	Observe func(Sample)
}

// Sample is one frame seen on the screen.
type Sample struct {
	Seq      uint32
	Captured time.Time     // from the code
	Seen     time.Time     // when it appeared on the screen
	Error    time.Duration // Seen is exact to +/- this
	Latency  time.Duration // Seen - Captured: glass to glass
}

// Result is what Measure found.
type Result struct {
	Samples   []Sample // one per distinct frame seen and timed, in order of appearance
	Seen      int      // distinct frames seen
	Late      int      // frames seen but not timed: the reader was held up, Seen was not exact to MaxError
	FirstSeq  uint32   // of the first and last frames seen
	LastSeq   uint32
	Grabs     int           // screen reads
	Undecoded int           // reads where no code could be read (e.g. caught mid-paint)
	GrabMean  time.Duration // time one XGetImage took
	GrabMax   time.Duration
	Period    time.Duration // mean time between reads: the resolution of Seen
	Origin    image.Point   // where the picture is in the window
	Width     int           // how wide it is shown
	Shm       bool          // reads went through shared memory
	CPU       time.Duration // this process's CPU time while measuring
	P50, P95  time.Duration // glass-to-glass percentiles (nearest rank)
	P99, Max  time.Duration
	Min       time.Duration
}

// Frames is the number of distinct frames seen.
func (r Result) Frames() int { return r.Seen }

// Span is the number of frame numbers from the first seen to the last: the
// frames the sender made meanwhile (the pattern numbers every slot).
func (r Result) Span() int {
	if r.Seen == 0 {
		return 0
	}
	return int(r.LastSeq-r.FirstSeq) + 1
}

// ErrNoPattern is returned when the window does not show the pattern's
// code.
var ErrNoPattern = errors.New("glass: no pattern code found in the window")

// Measure reads the window until opt.Duration has passed or ctx is done.
func Measure(ctx context.Context, opt Options) (Result, error) {
	if opt.Interval <= 0 {
		opt.Interval = 2 * time.Millisecond
	}
	if opt.MaxError <= 0 {
		opt.MaxError = 5 * time.Millisecond
	}
	g, err := OpenGrabber(opt.Display, opt.Window, !opt.NoShm)
	if err != nil {
		return Result{}, err
	}
	defer g.Close()
	origin, width, err := Locate(ctx, g, opt.Width)
	if err != nil {
		return Result{}, err
	}
	opt.Width = width
	res := Result{Origin: origin, Width: width}
	cpu0 := cpuTime()
	code := capture.PatternCodeBounds(opt.Width)
	rect := image.Rect(0, 0, code.Max.X+1, code.Max.Y+1).Add(origin) // from the picture's corner
	var (
		buf              []byte
		prevMid, prevT0  time.Time
		lastSeq          uint32
		seen             bool
		grabSum, periods time.Duration
	)
	end := time.Now().Add(opt.Duration)
	for next := time.Now(); time.Now().Before(end) && ctx.Err() == nil; {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = time.Now().Add(opt.Interval)
		t0 := time.Now()
		buf, err = g.Grab(rect, buf)
		t1 := time.Now()
		if err != nil {
			return res, err
		}
		mid := t0.Add(t1.Sub(t0) / 2)
		res.Grabs++
		grabSum += t1.Sub(t0)
		res.GrabMax = max(res.GrabMax, t1.Sub(t0))
		if !prevMid.IsZero() {
			periods += mid.Sub(prevMid)
		}
		c, ok := capture.DecodePatternCode(opt.Width, bgrx(buf, rect.Dx()))
		switch {
		case !ok:
			res.Undecoded++
		case !seen || c.Seq > lastSeq:
			// It appeared after the previous read began and before this one ended.
			if !seen {
				res.FirstSeq = c.Seq
			}
			seen, lastSeq, res.LastSeq = true, c.Seq, c.Seq
			res.Seen++
			if prevT0.IsZero() {
				break // on the screen before the first read: when is not known
			}
			e := t1.Sub(prevT0) / 2
			if e > opt.MaxError {
				res.Late++
				break
			}
			at := prevT0.Add(e)
			captured := c.Captured(at)
			smp := Sample{Seq: c.Seq, Captured: captured, Seen: at, Error: e, Latency: at.Sub(captured)}
			res.Samples = append(res.Samples, smp)
			if opt.Observe != nil {
				opt.Observe(smp)
			}
		}
		prevMid, prevT0 = mid, t0
	}
	res.CPU = cpuTime() - cpu0
	res.Shm = g.Shm()
	if res.Grabs > 0 {
		res.GrabMean = grabSum / time.Duration(res.Grabs)
	}
	if res.Grabs > 1 {
		res.Period = periods / time.Duration(res.Grabs-1)
	}
	res.summarize()
	return res, nil
}

// summarize fills in the frame range and the percentiles.
func (r *Result) summarize() {
	if len(r.Samples) == 0 {
		return
	}
	lat := make([]time.Duration, len(r.Samples))
	for i, s := range r.Samples {
		lat[i] = s.Latency
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(lat))+0.999999) - 1
		return lat[max(0, min(i, len(lat)-1))]
	}
	r.P50, r.P95, r.P99, r.Min, r.Max = at(0.50), at(0.95), at(0.99), lat[0], lat[len(lat)-1]
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bgrx returns the level function DecodePatternCode reads: the sum of the
// three colour channels of a pixel of buf, rows of w 4-byte pixels.
func bgrx(buf []byte, w int) func(x, y int) int {
	return func(x, y int) int {
		i := (y*w + x) * 4
		return int(buf[i]) + int(buf[i+1]) + int(buf[i+2])
	}
}

// Locate finds where the pattern's picture sits in the window (a GUI
// toolkit may put a toolbar above it): the offset at which its code reads,
// and the width it is shown at: width, or a step of the sender's
// resolution ladder below it (3/4, 1/2), since the receiver's window keeps
// the size of the first frame it showed. It keeps looking for up to 10 s,
// for the first frame to be shown.
func Locate(ctx context.Context, g *Grabber, width int) (image.Point, int, error) {
	deadline := time.Now().Add(10 * time.Second)
	var buf []byte
	for {
		size, err := g.Size()
		if err != nil {
			return image.Point{}, 0, err
		}
		if buf, err = g.Grab(image.Rectangle{Max: size}, buf); err != nil {
			return image.Point{}, 0, err
		}
		for _, w := range []int{width, width * 3 / 4, width / 2} {
			if code := capture.PatternCodeBounds(w); size.X < code.Max.X || size.Y < code.Max.Y {
				continue
			}
			if p, ok := findCode(buf, size, w); ok {
				return p, w, nil
			}
		}
		if time.Now().After(deadline) {
			return image.Point{}, 0, fmt.Errorf("%w (%dx%d window, picture %d wide or a ladder step below)", ErrNoPattern, size.X, size.Y, width)
		}
		select {
		case <-ctx.Done():
			return image.Point{}, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond): // the window has not painted a frame yet
		}
	}
}

// findCode tries every offset of the picture within a window grab of the
// given size (rows of 4-byte pixels), top rows first. The code reads over a
// few pixels of offsets (a cell is sampled in its middle third), so it
// returns the middle of the range that reads, for the most margin (at the
// window's edge that range is cut short, and the middle is off by a pixel
// or two, still inside it).
func findCode(buf []byte, size image.Point, width int) (image.Point, bool) {
	code := capture.PatternCodeBounds(width)
	full := bgrx(buf, size.X)
	reads := func(dx, dy int) bool {
		if dx < 0 || dy < 0 || dx+code.Max.X >= size.X || dy+code.Max.Y >= size.Y {
			return false
		}
		_, ok := capture.DecodePatternCode(width, func(x, y int) int { return full(x+dx, y+dy) })
		return ok
	}
	for dy := 0; dy+code.Max.Y < size.Y; dy++ {
		for dx := 0; dx+code.Max.X < size.X && dx <= size.X-width; dx++ {
			if !reads(dx, dy) {
				continue
			}
			ex, ey := dx, dy
			for reads(ex+1, dy) {
				ex++
			}
			for reads(dx, ey+1) {
				ey++
			}
			return image.Pt((dx+ex)/2, (dy+ey)/2), true
		}
	}
	return image.Point{}, false
}
