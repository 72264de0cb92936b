package capture

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/media/mediatest"
)

// TestPreview: a source offers every frame to its preview, puts nothing
// while the preview wants nothing, and puts its JPEG frames as they are.
func TestPreview(t *testing.T) {
	src := openT(t, Config{Kind: media.SourcePattern, Width: 320, Height: 180, FPS: MaxFPS})
	p := mediatest.NewPreview(4)
	src.SetPreview(p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		if _, err := src.Next(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if p.Asked.Load() != 3 || len(p.Images) != 0 {
		t.Fatalf("preview asked %d times, given %d images while it wanted none; want 3, 0", p.Asked.Load(), len(p.Images))
	}
	p.Want.Store(true)
	f, err := src.Next(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Images) != 1 || !bytes.Equal(<-p.Images, f.Data) {
		t.Fatalf("preview got no image or another than the frame's own JPEG")
	}
	src.SetPreview(nil)
	if _, err := src.Next(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if p.Asked.Load() != 4 {
		t.Errorf("a removed preview was asked again (%d times)", p.Asked.Load())
	}
}
