package display

import (
	"testing"

	"github.com/asticode/go-astiav"
	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/packetizer"
)

// h264Clip is a short H.264 stream of the capture test pattern and the
// pictures it was encoded from.
type h264Clip struct {
	ref   []gocv.Mat // the encoder's input, BGR
	au    [][]byte   // one access unit per picture
	media []packetizer.Media
}

// encodeClip encodes n pattern pictures of w x h as a 30 fps stream at
// bitrate, making the pictures in idr IDRs. The references are the pattern
// through a quality-100 JPEG (the test pattern is only handed out encoded).
func encodeClip(t testing.TB, w, h, n, bitrate int, idr ...int) *h264Clip {
	t.Helper()
	astiav.SetLogLevel(astiav.LogLevelQuiet)
	enc, err := capture.NewH264Encoder(w, h, 30, bitrate)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	c := &h264Clip{}
	t.Cleanup(func() {
		for _, m := range c.ref {
			m.Close()
		}
	})
	for i, f := range patternFrames(t, w, h, 100, n) {
		img, err := Decode(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		c.ref = append(c.ref, img)
		force := false
		for _, k := range idr {
			force = force || k == i
		}
		au, m, err := enc.Encode(nil, img, bitrate, force)
		if err != nil {
			t.Fatal(err)
		}
		c.au, c.media = append(c.au, au), append(c.media, m)
	}
	return c
}

// newDecoderT opens an H.264 decoder closed when the test ends.
func newDecoderT(t testing.TB) *h264Decoder {
	t.Helper()
	d, err := newH264Decoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	return d
}
