//go:build matprofile

package display

import (
	"path/filepath"
	"testing"

	"github.com/vstreamd/vstreamd/capture/capturetest"
	"github.com/vstreamd/vstreamd/daemon/media"
)

// TestMatProfile: decoding, decode errors and the null and record sinks
// release every Mat they make (capturetest.LiveMats counts them exactly,
// in builds with the matprofile tag).
func TestMatProfile(t *testing.T) {
	frames := patternFrames(t, 640, 480, 70, 20)
	bad := badHuffman(frames[0].Data)
	base := capturetest.LiveMats()
	for range 50 {
		if img, err := Decode(frames[0].Data); err == nil {
			img.Close()
		}
		if _, err := Decode(bad); err == nil {
			t.Fatal("bad frame decoded")
		}
	}
	capturetest.CheckMats(t, base, "50 decodes of a good and a bad frame")
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
		capturetest.CheckMats(t, base, cfg.Kind.String()+" sink, closed")
	}
}
