//go:build matprofile

package capturetest

import (
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// LiveMats returns the number of OpenCV Mats made and not yet closed, as
// GoCV's MatProfile counts them (only in builds with the matprofile tag:
// go test -tags matprofile -run TestMatProfile ./capture/ ./display/).
func LiveMats() int { return gocv.MatProfile.Count() }

// CheckMats fails t, listing where the live Mats were made, unless want
// Mats are live; what names the code under test.
func CheckMats(t testing.TB, want int, what string) {
	t.Helper()
	if got := LiveMats(); got != want {
		var b strings.Builder
		gocv.MatProfile.WriteTo(&b, 1)
		t.Errorf("%s: %d Mats live, want %d; made at:\n%s", what, got, want, b.String())
	}
}
