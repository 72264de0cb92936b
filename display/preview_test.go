package display

import (
	"bytes"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/media/mediatest"
	"github.com/vstreamd/vstreamd/daemon/testutil"
	"github.com/vstreamd/vstreamd/packetizer"
)

// TestPreview: a decoding sink puts the JPEG it received, unchanged, while
// its preview wants images, and nothing otherwise.
func TestPreview(t *testing.T) {
	frames := patternFrames(t, 320, 180, 80, 3)
	s, err := Open(Config{Kind: media.SinkNull}, nil)
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	p := mediatest.NewPreview(10)
	s.SetPreview(p)
	s.Show(toShow(frames[0]))
	// The sink's own goroutine: nothing to wait on but its counter.
	testutil.WaitFor(t, "the sink to show the first frame", 20*time.Second, func() bool { return s.Status().Shown >= 1 })
	if len(p.Images) != 0 {
		t.Fatal("the preview got an image while it wanted none")
	}
	p.Want.Store(true)
	img := showUntilPreviewed(t, s, p, toShow(frames[1]), toShow(frames[2]))
	if !bytes.Equal(img, frames[1].Data) && !bytes.Equal(img, frames[2].Data) {
		t.Fatalf("the preview got %d bytes that are not a frame shown after it wanted one", len(img))
	}
}

// TestPreviewH264: a sink given H.264 puts its decoded pictures into the
// preview encoded as JPEG, at the stream's size.
func TestPreviewH264(t *testing.T) {
	const w, h = 320, 180
	c := encodeClip(t, w, h, 2, 500_000)
	s, err := Open(Config{Kind: media.SinkNull}, nil)
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	p := mediatest.NewPreview(10)
	p.Want.Store(true)
	s.SetPreview(p)
	// The first frame is the IDR; the second decodes after it.
	f0 := media.Received{Data: c.au[0], Codec: packetizer.CodecH264, ID: 0}
	f1 := media.Received{Data: c.au[1], Codec: packetizer.CodecH264, ID: 1}
	s.Show(f0)
	img := showUntilPreviewed(t, s, p, f1)
	if !media.IsJPEG(img) {
		t.Fatalf("the preview got %d bytes that are not a JPEG (% x...)", len(img), img[:min(len(img), 4)])
	}
	pic, err := Decode(img)
	if err != nil {
		t.Fatalf("the preview's image does not decode: %v", err)
	}
	defer pic.Close()
	if pic.Cols() != w || pic.Rows() != h {
		t.Errorf("the preview's image is %dx%d, want %dx%d", pic.Cols(), pic.Rows(), w, h)
	}
}

// showUntilPreviewed shows the frames in turn until the preview gets an
// image (frames may be skipped in the hand-off), and returns that image.
func showUntilPreviewed(t *testing.T, s *Sink, p *mediatest.Preview, frames ...media.Received) []byte {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for i := 0; ; i++ {
		select {
		case img := <-p.Images:
			return img
		default:
		}
		s.Show(frames[i%len(frames)])
		select {
		case img := <-p.Images:
			return img
		case <-deadline:
			t.Fatal("the preview got no image while it wanted one")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
