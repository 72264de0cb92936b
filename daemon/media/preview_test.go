package media_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/media/mediatest"
)

// TestPreviewer: nothing is encoded or given while no preview is set or it
// wants nothing; a JPEG is given as it is, anything else as encode makes
// it; an encode error gives nothing; Set(nil) stops.
func TestPreviewer(t *testing.T) {
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3}
	h264 := []byte{0, 0, 0, 1, 0x65, 9}
	made := []byte{0xFF, 0xD8, 0xFF, 0xDB, 7}
	encodes := 0
	encode := func() ([]byte, error) { encodes++; return made, nil }
	fail := func() ([]byte, error) { encodes++; return nil, errors.New("no picture") }

	var pv media.Previewer
	pv.Offer(h264, encode) // none set
	p := mediatest.NewPreview(4)
	pv.Set(p)
	pv.Offer(h264, encode) // wants none
	if encodes != 0 || len(p.Images) != 0 || p.Asked.Load() != 1 {
		t.Fatalf("before an image is wanted: %d encodes, %d images, asked %d times; want 0, 0, 1", encodes, len(p.Images), p.Asked.Load())
	}
	p.Want.Store(true)
	pv.Offer(jpeg, encode)
	pv.Offer(h264, encode)
	pv.Offer(h264, fail)
	if encodes != 2 || len(p.Images) != 2 {
		t.Fatalf("%d encodes, %d images; want 2 (the H.264 frames), 2 (not the failed one)", encodes, len(p.Images))
	}
	if got := <-p.Images; !bytes.Equal(got, jpeg) {
		t.Errorf("first image % x, want the JPEG as offered", got)
	}
	if got := <-p.Images; !bytes.Equal(got, made) {
		t.Errorf("second image % x, want what encode made", got)
	}
	pv.Set(nil)
	pv.Offer(jpeg, encode)
	if len(p.Images) != 0 || p.Asked.Load() != 4 {
		t.Errorf("after Set(nil): %d images, asked %d times; want 0, 4", len(p.Images), p.Asked.Load())
	}
}

func TestIsJPEG(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{nil, false}, {[]byte{0xFF, 0xD8}, false}, {[]byte{0xFF, 0xD8, 0xFF}, true},
		{[]byte{0xFF, 0xD8, 0x00}, false}, {[]byte{0, 0, 0, 1, 0x67}, false},
	} {
		if got := media.IsJPEG(tc.b); got != tc.want {
			t.Errorf("IsJPEG(% x) = %v, want %v", tc.b, got, tc.want)
		}
	}
}
