package capture

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
)

// fakePreview records what a source puts into it while want is set.
type fakePreview struct {
	mu     sync.Mutex
	want   bool
	asked  int
	images [][]byte
}

func (p *fakePreview) Wants(time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked++
	return p.want
}

func (p *fakePreview) Put(jpeg []byte, _ time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.images = append(p.images, bytes.Clone(jpeg))
}

// TestPreview: a source offers every frame to its preview, puts nothing
// while the preview wants nothing, and puts its JPEG frames as they are.
func TestPreview(t *testing.T) {
	src, err := Open(Config{Kind: media.SourcePattern, Width: 320, Height: 180, FPS: MaxFPS}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := &fakePreview{}
	src.SetPreview(p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		if _, err := src.Next(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if p.asked != 3 || len(p.images) != 0 {
		t.Fatalf("preview asked %d times, given %d images while it wanted none; want 3, 0", p.asked, len(p.images))
	}
	p.want = true
	f, err := src.Next(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.images) != 1 || !bytes.Equal(p.images[0], f.Data) {
		t.Fatalf("preview got %d images; want 1, the frame's own JPEG", len(p.images))
	}
	src.SetPreview(nil)
	if _, err := src.Next(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if p.asked != 4 {
		t.Errorf("a removed preview was asked again (%d times)", p.asked)
	}
}
