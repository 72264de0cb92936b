package display

import (
	"fmt"
	"testing"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/capture/capturetest"
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

// BenchmarkH264Decode measures the H.264 decoder (and the conversion to
// BGR) on 1280x720 pattern frames at 3 Mb/s, against Decode of the same
// pictures as JPEG q80, and reports the PSNR of each against the source:
//
//	go test -run '^$' -bench H264Decode -benchtime 60x ./display/
func BenchmarkH264Decode(b *testing.B) {
	const n = 60
	c := encodeClip(b, 1280, 720, n, 3_000_000)
	jpegs := make([][]byte, n) // the same pictures as JPEG q80
	for i, img := range c.ref {
		var err error
		if jpegs[i], err = capture.AppendJPEG(nil, img, 80); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("h264", func(b *testing.B) {
		d, err := newH264Decoder()
		if err != nil {
			b.Fatal(err)
		}
		defer d.close()
		var sum float64
		for i := range b.N {
			if i%n == 0 { // start over at the IDR
				d.close()
				if d, err = newH264Decoder(); err != nil {
					b.Fatal(err)
				}
			}
			img, err := d.decode(c.au[i%n])
			if err != nil {
				b.Fatal(err)
			}
			sum += capturetest.PSNR(b, c.ref[i%n], img)
			img.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		b.ReportMetric(sum/float64(b.N), "dB")
	})
	b.Run("jpeg-q80", func(b *testing.B) {
		var sum float64
		for i := range b.N {
			img, err := Decode(jpegs[i%n])
			if err != nil {
				b.Fatal(err)
			}
			sum += capturetest.PSNR(b, c.ref[i%n], img)
			img.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		b.ReportMetric(sum/float64(b.N), "dB")
	})
}
