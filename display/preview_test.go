package display

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
)

// fakePreview records what a sink puts into it.
type fakePreview struct {
	mu     sync.Mutex
	want   bool
	images chan []byte
}

func (p *fakePreview) Wants(time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.want
}

func (p *fakePreview) Put(jpeg []byte, _ time.Time) { p.images <- bytes.Clone(jpeg) }

// TestPreview: a decoding sink puts the JPEG it received, unchanged, while
// its preview wants images, and nothing otherwise.
func TestPreview(t *testing.T) {
	frames := patternFrames(t, 320, 180, 80, 3)
	s, err := Open(Config{Kind: media.SinkNull}, nil)
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	p := &fakePreview{images: make(chan []byte, 10)}
	s.SetPreview(p)
	s.Show(toShow(frames[0]))
	for end := time.Now().Add(20 * time.Second); s.Status().Shown < 1; {
		if time.Now().After(end) {
			t.Fatal("the sink did not show the first frame")
		}
		time.Sleep(5 * time.Millisecond) // the sink's own goroutine: nothing to wait on but its counter
	}
	if len(p.images) != 0 {
		t.Fatal("the preview got an image while it wanted none")
	}
	p.mu.Lock()
	p.want = true
	p.mu.Unlock()
	// Frames may be skipped in the hand-off, so show until one comes.
	deadline := time.After(20 * time.Second)
	for i := 1; ; i++ {
		s.Show(toShow(frames[1+i%2]))
		select {
		case img := <-p.images:
			if !bytes.Equal(img, frames[1].Data) && !bytes.Equal(img, frames[2].Data) {
				t.Fatalf("the preview got %d bytes that are not a frame shown after it wanted one", len(img))
			}
			return
		case <-deadline:
			t.Fatal("the preview got no image while it wanted one")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
