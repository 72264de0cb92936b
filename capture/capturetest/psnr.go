// Package capturetest holds what the tests of the media packages (capture,
// display) share that needs OpenCV: comparing a picture with the one it
// was made from. It imports nothing of vstreamd, so capture's own tests can
// use it. Only _test.go files import it.
package capturetest

import (
	"math"
	"testing"

	"gocv.io/x/gocv"
)

// PSNR returns the peak signal-to-noise ratio of b against a in dB (+Inf
// when they are equal). Both must have the same size and type, or t fails.
func PSNR(t testing.TB, a, b gocv.Mat) float64 {
	t.Helper()
	if a.Rows() != b.Rows() || a.Cols() != b.Cols() || a.Type() != b.Type() {
		t.Fatalf("psnr: %dx%d type %v against %dx%d type %v", a.Cols(), a.Rows(), a.Type(), b.Cols(), b.Rows(), b.Type())
	}
	l2 := gocv.NormWithMats(a, b, gocv.NormL2)
	mse := l2 * l2 / float64(a.Rows()*a.Cols()*a.Channels())
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}
