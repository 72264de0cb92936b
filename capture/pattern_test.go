package capture

import (
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/capture/capturetest"
	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// PSNR thresholds, in dB, for a pattern frame encoded by Source and decoded
// back, against the image the pattern drew.
//
// Measured on this pattern (320x240 to 1920x1080): q30 26.9-29.6, q50
// 29.1-31.2, q80 31.7-34.3, q95 33.5-36.5. Even quality 100 stays below 38
// dB because OpenCV's JPEG encoder subsamples chroma 4:2:0 and the pattern
// has sharp edges between saturated colours, so the thresholds sit about
// 1.5-2 dB under the lowest measured value for each quality.
//
// What they rule out, measured the same way: the neighbouring frame 14.6-
// 18.5 dB (the test checks it stays below the threshold), swapped red and
// blue 12.7-14.6, a mirrored frame 7.8-8.8, and a frame encoded at quality
// 10 when 80 was asked 23.3-26.3.
var psnrMin = map[int]float64{
	30: 25,
	50: 27,
	80: 30,
	95: 32,
}

func TestPatternRoundTrip(t *testing.T) {
	for _, tc := range []struct{ w, h, q int }{
		{320, 240, 50},
		{640, 480, 30},
		{640, 480, 80},
		{1280, 720, 50},
		{1280, 720, 80},
		{1280, 720, 95},
		{1920, 1080, 80},
	} {
		t.Run(fmt.Sprintf("%dx%d_q%d", tc.w, tc.h, tc.q), func(t *testing.T) {
			s := openT(t, Config{Kind: media.SourcePattern, Width: tc.w, Height: tc.h, FPS: MaxFPS, Quality: tc.q})
			f := next(t, s, nil)
			if f.Width != tc.w || f.Height != tc.h {
				t.Errorf("Frame size = %dx%d, want %dx%d", f.Width, f.Height, tc.w, tc.h)
			}
			got := decode(t, f.Data)
			defer got.Close()
			if got.Cols() != tc.w || got.Rows() != tc.h || got.Channels() != 3 {
				t.Fatalf("decoded %dx%d with %d channels, want %dx%d with 3", got.Cols(), got.Rows(), got.Channels(), tc.w, tc.h)
			}

			// Draw the same frame, and its neighbour, again to compare with.
			p, err := newPattern(tc.w, tc.h)
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			want, other := gocv.NewMat(), gocv.NewMat()
			defer want.Close()
			defer other.Close()
			p.draw(&want, f.Seq, f.Captured)
			p.draw(&other, f.Seq+1, f.Captured.Add(time.Second/30))

			same, neighbour := capturetest.PSNR(t, want, got), capturetest.PSNR(t, other, got)
			t.Logf("%dx%d q%d: %d bytes, PSNR %.1f dB (neighbouring frame %.1f dB)", tc.w, tc.h, tc.q, len(f.Data), same, neighbour)
			floor := psnrMin[tc.q]
			if same < floor {
				t.Errorf("PSNR of decoded frame = %.1f dB, want >= %.1f", same, floor)
			}
			if neighbour >= floor {
				t.Errorf("PSNR against the neighbouring frame = %.1f dB, want < %.1f: the threshold does not tell frames apart", neighbour, floor)
			}
			if seq, ok := ReadPatternSeq(got); !ok || uint64(seq) != f.Seq {
				t.Errorf("ReadPatternSeq(decoded) = %d, %v; want %d, true", seq, ok, f.Seq)
			}
		})
	}
}

// TestPatternJPEGSize checks that the pattern compresses like a real
// camera's picture (1280x720 at quality 80: 50 to 150 KB), not like a flat
// image, since benchmarks of the link use it as the stand-in for a camera.
func TestPatternJPEGSize(t *testing.T) {
	s := openT(t, Config{Kind: media.SourcePattern, Width: 1280, Height: 720, FPS: MaxFPS, Quality: 80})
	const n = 20
	var buf []byte
	total, least, most := 0, 1<<30, 0
	for range n {
		f := next(t, s, buf)
		buf = f.Data
		total += len(f.Data)
		least, most = min(least, len(f.Data)), max(most, len(f.Data))
	}
	t.Logf("1280x720 q80: mean %d KB, min %d KB, max %d KB", total/n/1000, least/1000, most/1000)
	if least < 50_000 || most > 150_000 {
		t.Errorf("frame sizes %d..%d bytes, want all within 50000..150000", least, most)
	}
}

func TestPatternSeqCode(t *testing.T) {
	p, err := newPattern(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	img := gocv.NewMat()
	defer img.Close()
	for _, seq := range []uint32{0, 1, 0x55555555, 0xAAAAAAAA, 123456789, 1<<32 - 1} {
		p.draw(&img, uint64(seq), time.Now())
		for _, scale := range []float64{1, 0.5, 1.5} {
			scaled := gocv.NewMat()
			gocv.Resize(img, &scaled, image.Point{}, scale, scale, gocv.InterpolationArea)
			got, ok := ReadPatternSeq(scaled)
			scaled.Close()
			if !ok || got != seq {
				t.Errorf("ReadPatternSeq(frame %d scaled %.1f) = %d, %v; want %d, true", seq, scale, got, ok, seq)
			}
		}
	}

	// Damage one bit cell: the complement row must expose it.
	p.draw(&img, 5, time.Now())
	cell := codeCellRect(img.Cols(), 0, codeCols-1)
	roi := img.Region(cell)
	roi.SetTo(gocv.NewScalar(0, 0, 0, 0))
	roi.Close()
	if got, ok := ReadPatternSeq(img); ok {
		t.Errorf("ReadPatternSeq(damaged) = %d, true; want ok=false", got)
	}

	// An image without the code at all.
	blank := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	if got, ok := ReadPatternSeq(blank); ok {
		t.Errorf("ReadPatternSeq(black image) = %d, true; want ok=false", got)
	}
}

// TestPatternTimeCode: the capture time drawn into each frame reads back
// to the millisecond, also scaled and through JPEG.
func TestPatternTimeCode(t *testing.T) {
	p, err := newPattern(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	img := gocv.NewMat()
	defer img.Close()
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{base, base.Add(1234567 * time.Microsecond), time.UnixMilli(1<<32 - 1), time.UnixMilli(1 << 32), time.Now()} {
		seq := uint32(1000 + i)
		p.draw(&img, uint64(seq), at)
		jpg, err := AppendJPEG(nil, img, 60)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := gocv.IMDecode(jpg, gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		for _, scale := range []float64{1, 0.5, 2} {
			scaled := gocv.NewMat()
			gocv.Resize(dec, &scaled, image.Point{}, scale, scale, gocv.InterpolationLinear)
			c, ok := ReadPatternCode(scaled)
			scaled.Close()
			want := at.Truncate(time.Millisecond)
			if got := c.Captured(at.Add(3 * time.Second)); !ok || c.Seq != seq || !got.Equal(want) {
				t.Errorf("ReadPatternCode(frame %d at %v, JPEG, scaled %.1f) = seq %d, time %v, %v; want %d, %v, true",
					seq, at, scale, c.Seq, got, ok, seq, want)
			}
		}
		dec.Close()
	}
}

// TestPatternCodeCaptured unwraps the 32-bit millisecond time around the
// reader's clock, on both sides and across a wrap.
func TestPatternCodeCaptured(t *testing.T) {
	for _, tc := range []struct {
		at, near time.Time
	}{
		{time.UnixMilli(1_800_000_000_000), time.UnixMilli(1_800_000_000_050)},
		{time.UnixMilli(1_800_000_000_000), time.UnixMilli(1_799_999_999_000)}, // reader's clock behind
		{time.UnixMilli(1<<33 - 5), time.UnixMilli(1<<33 + 5)},                 // wrapped in between
		{time.UnixMilli(1<<33 + 5), time.UnixMilli(1<<33 - 5)},
		{time.UnixMilli(1_800_000_000_000), time.UnixMilli(1_800_000_000_000).Add(20 * 24 * time.Hour)},
	} {
		c := PatternCode{Ms: uint32(tc.at.UnixMilli())}
		if got := c.Captured(tc.near); !got.Equal(tc.at) {
			t.Errorf("PatternCode{Ms: %d}.Captured(%d) = %d, want %d", c.Ms, tc.near.UnixMilli(), got.UnixMilli(), tc.at.UnixMilli())
		}
	}
}

// TestDecodePatternCodeAllocs: the glass-to-glass reader decodes each grab
// without allocating.
func TestDecodePatternCodeAllocs(t *testing.T) {
	w := 640
	c := PatternCode{Seq: 77, Ms: 0xDEADBEEF}
	level := func(x, y int) int {
		for r := range codeRows {
			for col, on := range codeRow(c, r) {
				if image.Pt(x, y).In(codeCellRect(w, r, col)) && on {
					return 765
				}
			}
		}
		return 0
	}
	got, ok := DecodePatternCode(w, level)
	if !ok || got != c {
		t.Fatalf("DecodePatternCode = %+v, %v; want %+v, true", got, ok, c)
	}
	if n := testing.AllocsPerRun(10, func() { DecodePatternCode(w, level) }); n != 0 {
		t.Errorf("DecodePatternCode allocates %.0f times per call, want 0", n)
	}
}
