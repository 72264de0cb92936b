//go:build matprofile

package display

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// TestMatProfile counts live Mats exactly with GoCV's MatProfile, which
// exists only in builds with the matprofile tag:
//
//	go test -tags matprofile -run TestMatProfile ./display/
//
// Decoding, decode errors and the null and record sinks must release every
// Mat they make.
func TestMatProfile(t *testing.T) {
	frames := patternFrames(t, 640, 480, 70, 20)
	bad := badHuffman(frames[0].Data)
	base := gocv.MatProfile.Count()
	for range 50 {
		if img, err := Decode(frames[0].Data); err == nil {
			img.Close()
		}
		if _, err := Decode(bad); err == nil {
			t.Fatal("bad frame decoded")
		}
	}
	if got := gocv.MatProfile.Count(); got != base {
		t.Errorf("%d Mats live after decoding, want %d", got, base)
	}
	for _, cfg := range []Config{
		{Kind: media.SinkNull},
		{Kind: media.SinkRecord, Path: filepath.Join(t.TempDir(), "out.avi")},
		{Kind: media.SinkRecord, Path: t.TempDir()},
	} {
		s, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			s.Show(toShow(f))
			s.Show(media.Received{Data: bad, ID: 1 << 31})
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := gocv.MatProfile.Count(); got != base {
			var b bytes.Buffer
			gocv.MatProfile.WriteTo(&b, 1)
			t.Errorf("%s sink: %d Mats live after Close, want %d; made at:\n%s", cfg.Kind, got, base, b.String())
		}
	}
}
