package display

import (
	"errors"
	"testing"
)

// TestH264RoundTrip encodes the pattern at 1280x720 and 3 Mb/s and checks
// every decoded picture against its source.
func TestH264RoundTrip(t *testing.T) {
	c := encodeClip(t, 1280, 720, 40, 3_000_000)
	d := newDecoderT(t)
	worst, sum := 1000.0, 0.0
	for i, au := range c.au {
		img, err := d.decode(au)
		if err != nil {
			t.Fatalf("frame %d (%+v, %d bytes): %v", i, c.media[i], len(au), err)
		}
		p := psnr(t, c.ref[i], img)
		img.Close()
		worst, sum = min(worst, p), sum+p
	}
	// The pattern carries camera-like noise, which costs H.264 at 3 Mb/s
	// a few dB; a picture decoded from a broken chain is about 24 dB.
	mean := sum / float64(len(c.au))
	t.Logf("PSNR mean %.1f dB, worst %.1f dB", mean, worst)
	if mean < 30 || worst < 27 {
		t.Fatalf("PSNR mean %.1f dB, worst %.1f dB; want >= 30 and >= 27", mean, worst)
	}
}

// TestH264Damaged feeds the decoder damaged access units: each is an error,
// never a picture.
func TestH264Damaged(t *testing.T) {
	c := encodeClip(t, 640, 360, 3, 1_000_000)
	for _, tc := range []struct {
		name string
		au   func() []byte
	}{
		{"empty", func() []byte { return nil }},
		{"half an IDR", func() []byte { return c.au[0][:len(c.au[0])/2] }},
		{"an IDR cut after its headers", func() []byte { return c.au[0][:40] }},
		{"garbage", func() []byte { return []byte{0, 0, 0, 1, 0x65, 0xff, 0xff, 0xff, 0xff} }},
		{"IDR with its slice data zeroed", func() []byte {
			b := append([]byte(nil), c.au[0]...)
			clear(b[len(b)/2 : len(b)/2+200])
			return b
		}},
	} {
		d := newDecoderT(t)
		img, err := d.decode(tc.au())
		if err == nil {
			img.Close()
			t.Errorf("%s: decoded a picture", tc.name)
		} else if !errors.Is(err, ErrH264) {
			t.Errorf("%s: %v, want ErrH264", tc.name, err)
		}
	}
}
