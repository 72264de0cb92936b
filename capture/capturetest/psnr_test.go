package capturetest

import (
	"math"
	"testing"

	"gocv.io/x/gocv"
)

// TestPSNR: equal pictures are +Inf dB apart; one grey level off everywhere
// is 20*log10(255) dB.
func TestPSNR(t *testing.T) {
	a := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(100, 100, 100, 0), 8, 8, gocv.MatTypeCV8UC3)
	defer a.Close()
	b := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(101, 101, 101, 0), 8, 8, gocv.MatTypeCV8UC3)
	defer b.Close()
	if got := PSNR(t, a, a); !math.IsInf(got, 1) {
		t.Errorf("PSNR(a, a) = %v, want +Inf", got)
	}
	if got, want := PSNR(t, a, b), 20*math.Log10(255); math.Abs(got-want) > 1e-9 {
		t.Errorf("PSNR one level off = %v, want %v", got, want)
	}
}
