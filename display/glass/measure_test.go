package glass

import (
	"context"
	"image"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// window returns a size.X x size.Y window grab (rows of 4-byte pixels) with
// a decoded pattern frame at origin and grey elsewhere, and the frame's code.
func window(t *testing.T, size, origin image.Point, w, h int) ([]byte, capture.PatternCode) {
	t.Helper()
	src, err := capture.Open(capture.Config{Kind: media.SourcePattern, Width: w, Height: h, FPS: capture.MaxFPS}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, err := src.Next(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := gocv.IMDecode(f.Data, gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	want, ok := capture.ReadPatternCode(img)
	if !ok {
		t.Fatal("the frame's code does not read")
	}
	buf := make([]byte, size.X*size.Y*4)
	for i := range buf {
		buf[i] = 100
	}
	px := img.ToBytes()
	for y := range h {
		for x := range w {
			i := ((origin.Y+y)*size.X + origin.X + x) * 4
			j := (y*w + x) * 3
			copy(buf[i:i+3], px[j:j+3])
		}
	}
	return buf, want
}

// TestFindCode: the picture is found wherever it sits in the window, and
// its code reads from the window's pixels.
func TestFindCode(t *testing.T) {
	size := image.Pt(900, 500)
	for _, origin := range []image.Point{{0, 0}, {7, 41}, {60, 130}} {
		buf, want := window(t, size, origin, 640, 360)
		got, ok := findCode(buf, size, 640)
		// At the window's edge the range that reads is cut short, and its
		// middle is a few pixels off, still within what reads.
		if d := got.Sub(origin); !ok || d.X < -3 || d.X > 3 || d.Y < -3 || d.Y > 3 {
			t.Errorf("findCode = %v, %v; want %v (+/-3), true", got, ok, origin)
			continue
		}
		code := capture.PatternCodeBounds(640).Add(origin)
		level := bgrx(buf, size.X)
		c, ok := capture.DecodePatternCode(640, func(x, y int) int { return level(x+origin.X, y+origin.Y) })
		if !ok || c != want || !code.In(image.Rectangle{Max: size}) {
			t.Errorf("code at %v = %+v, %v; want %+v", origin, c, ok, want)
		}
	}
	grey := make([]byte, size.X*size.Y*4)
	if _, ok := findCode(grey, size, 640); ok {
		t.Error("findCode found a code in an empty window")
	}
}

// TestSummarize: percentiles by nearest rank, and the frame range.
func TestSummarize(t *testing.T) {
	r := Result{Seen: 100, FirstSeq: 10, LastSeq: 109}
	for i := range 100 {
		r.Samples = append(r.Samples, Sample{Seq: uint32(10 + i), Latency: time.Duration(100-i) * time.Millisecond})
	}
	r.summarize()
	if r.P50 != 50*time.Millisecond || r.P95 != 95*time.Millisecond || r.P99 != 99*time.Millisecond ||
		r.Min != time.Millisecond || r.Max != 100*time.Millisecond || r.Frames() != 100 || r.Span() != 100 {
		t.Errorf("summarize: p50 %v p95 %v p99 %v min %v max %v frames %d span %d", r.P50, r.P95, r.P99, r.Min, r.Max, r.Frames(), r.Span())
	}
}
