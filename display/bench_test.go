package display

import (
	"fmt"
	"testing"
)

// BenchmarkDecode measures Decode (header checks and IMDecode) of pattern
// frames at the sizes and qualities a link uses:
//
//	go test -run '^$' -bench Decode -benchtime 100x ./display/
func BenchmarkDecode(b *testing.B) {
	for _, sz := range []struct{ w, h int }{{640, 480}, {1280, 720}, {1920, 1080}} {
		for _, q := range []int{50, 70, 90} {
			b.Run(fmt.Sprintf("%dx%d/q%d", sz.w, sz.h, q), func(b *testing.B) {
				data := patternFrames(b, sz.w, sz.h, q, 1)[0].Data
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					img, err := Decode(data)
					if err != nil {
						b.Fatal(err)
					}
					img.Close()
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
				b.ReportMetric(float64(len(data)), "bytes/frame")
			})
		}
	}
}

// BenchmarkJPEGSize measures the header check alone (pure Go).
func BenchmarkJPEGSize(b *testing.B) {
	data := patternFrames(b, 1280, 720, 80, 1)[0].Data
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := jpegSize(data); err != nil {
			b.Fatal(err)
		}
	}
}
