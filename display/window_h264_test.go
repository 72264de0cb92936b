package display

import (
	"fmt"
	"image"
	"testing"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/display/internal/xvfb"
	"github.com/vstreamd/vstreamd/packetizer"
)

// showsH264 shows an H.264 stream in a real window and finds each picture
// on the screen, 1:1, with its frame number: the same picture a decoder of
// its own makes from the stream.
func showsH264(t *testing.T, x *xvfb.Server) {
	c := encodeClip(t, 640, 360, 3, 1_000_000)
	title := fmt.Sprintf("peer %s", t.Name())
	s, w, _ := startWindow(t, Config{Kind: media.SinkWindow, Title: title}, nil)
	d := newDecoderT(t)
	for i, au := range c.au {
		want, err := d.decode(au)
		if err != nil {
			t.Fatal(err)
		}
		defer want.Close()
		seq, ok := capture.ReadPatternSeq(want)
		if !ok {
			t.Fatalf("frame %d: no frame number in the decoded picture", i)
		}
		s.Show(media.Received{Data: au, Codec: packetizer.CodecH264, ID: uint32(i)})
		w.wait(t, uint32(i))
		shot, at := onScreen(t, x, want, seq)
		crop := shot.Region(at)
		p := psnrIn(crop, want, image.Rect(0, 0, want.Cols(), want.Rows()))
		crop.Close()
		shot.Close()
		if p < 35 {
			t.Errorf("frame %d: the window's picture is at %.1f dB against the decoded one, want it shown 1:1", i, p)
		}
	}
	if st := s.Status(); st.Shown != 3 || st.DecodeErrors != 0 {
		t.Errorf("Stats: shown %d, decode errors %d; want 3, 0", st.Shown, st.DecodeErrors)
	}
}
