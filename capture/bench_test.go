package capture

import (
	"fmt"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// BenchmarkPatternEncode measures what a pattern source spends on one frame
// (drawing it, then encoding it to JPEG) at the sizes and qualities a link
// uses, without pacing. It reports ms/frame and bytes/frame:
//
//	go test -run '^$' -bench PatternEncode -benchtime 100x ./capture/
func BenchmarkPatternEncode(b *testing.B) {
	for _, sz := range []struct{ w, h int }{{640, 480}, {1280, 720}, {1920, 1080}} {
		for _, q := range []int{50, 70, 90} {
			b.Run(fmt.Sprintf("%dx%d/q%d", sz.w, sz.h, q), func(b *testing.B) {
				p, err := newPattern(sz.w, sz.h)
				if err != nil {
					b.Fatal(err)
				}
				defer p.close()
				img := gocv.NewMat()
				defer img.Close()
				var buf []byte
				var total int
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for i := range b.N {
					p.draw(&img, uint64(i), start)
					buf, err = AppendJPEG(buf[:0], img, q)
					if err != nil {
						b.Fatal(err)
					}
					total += len(buf)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
				b.ReportMetric(float64(total)/float64(b.N), "bytes/frame")
			})
		}
	}
}

// BenchmarkSourceNext measures a whole pattern Source's Next at 1280x720
// quality 80 without pacing (FPS at its maximum): drawing, encoding, stats.
func BenchmarkSourceNext(b *testing.B) {
	s, err := Open(Config{Kind: media.SourcePattern, Width: 1280, Height: 720, FPS: MaxFPS, Quality: 80}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		f, err := s.Next(b.Context(), buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = f.Data
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
}
