package capture

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// fakeCamera stands in for a V4L2 device: each Read blocks until the test
// sends the capture time of the next image, then returns a pattern image
// whose code carries that image's number (1, 2, ...). Closing shots makes
// every Read fail, as an unplugged camera's do.
type fakeCamera struct {
	p     *pattern
	shots chan time.Duration // capture times, after t0
	read  chan struct{}      // a Read has returned an image and the reader stored it
	n     uint64
	at    time.Time // capture time of the last image, for the reader's clock
}

func newFakeCamera(t *testing.T) *fakeCamera {
	p, err := newPattern(320, 240)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return &fakeCamera{p: p, shots: make(chan time.Duration), read: make(chan struct{}, 100)}
}

func (c *fakeCamera) Read(img *gocv.Mat) bool {
	if c.n > 0 {
		c.read <- struct{}{} // the reader comes back only after storing the last image
	}
	d, ok := <-c.shots
	if !ok {
		return false
	}
	c.n++
	c.at = t0.Add(d)
	c.p.draw(img, c.n, c.at)
	return true
}

func (c *fakeCamera) now() time.Time { return c.at }

// shoot makes the camera deliver one image and waits until the reader has
// stored it.
func (c *fakeCamera) shoot(t *testing.T, at time.Duration) {
	t.Helper()
	c.shots <- at
	select {
	case <-c.read:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader did not store the image")
	}
}

// openFake opens a camera Source on the fake at fps.
func openFake(t *testing.T, cam *fakeCamera, fps int) *Source {
	cfg, err := Config{Kind: media.SourceCamera, Device: "fake", FPS: fps}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	s := newSource(cfg, nil)
	s.live = startLive(cam, cam.now, func() error { return nil }, "camera fake", &s.m)
	s.start()
	t.Cleanup(func() {
		close(cam.shots) // unblock the reader, as a device stops on close
		s.Close()
	})
	return s
}

// nextAsync runs Next in a goroutine; the result comes on the channel.
func nextAsync(s *Source) <-chan media.Frame {
	c := make(chan media.Frame, 1)
	go func() {
		f, err := s.Next(context.Background(), nil)
		if err != nil {
			f.Data = []byte(err.Error())
		}
		c <- f
	}()
	return c
}

func waitFrame(t *testing.T, c <-chan media.Frame) media.Frame {
	t.Helper()
	select {
	case f := <-c:
		if f.Seq == 0 {
			t.Fatalf("Next failed: %s", f.Data)
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return")
	}
	return media.Frame{}
}

// TestLiveSlowCaller: when the caller is late, it gets the newest image,
// and the images it missed are counted as dropped.
func TestLiveSlowCaller(t *testing.T) {
	cam := newFakeCamera(t)
	s := openFake(t, cam, 10) // slots every 100 ms
	c := nextAsync(s)
	cam.shoot(t, 0)
	if f := waitFrame(t, c); f.Seq != 1 {
		t.Fatalf("first frame Seq = %d, want 1", f.Seq)
	}
	// The caller is busy while three images arrive on time.
	cam.shoot(t, ms(100))
	cam.shoot(t, ms(200))
	cam.shoot(t, ms(300))
	f := waitFrame(t, nextAsync(s))
	if f.Seq != 4 || !f.Captured.Equal(t0.Add(ms(300))) {
		t.Errorf("late caller got image %d captured at %v, want the newest: 4 at 300ms", f.Seq, f.Captured.Sub(t0))
	}
	img := decode(t, f.Data)
	defer img.Close()
	if seq, ok := ReadPatternSeq(img); !ok || seq != 4 {
		t.Errorf("picture shows image %d (ok=%v), want 4", seq, ok)
	}
	if st := s.Status(); st.Dropped != 2 || st.Frames != 2 || st.Grabbed != 4 {
		t.Errorf("Stats: Dropped %d, Frames %d, Grabbed %d; want 2, 2, 4", st.Dropped, st.Frames, st.Grabbed)
	}
}

// TestLiveDecimation: a camera faster than the rate is thinned out to the
// rate; the images between slots are not drops.
func TestLiveDecimation(t *testing.T) {
	cam := newFakeCamera(t)
	s := openFake(t, cam, 10) // slots every 100 ms; the camera gives one every 50
	var got []uint64
	c := nextAsync(s)
	for i := range 7 {
		cam.shoot(t, ms(50*i))
		if i%2 == 0 {
			got = append(got, waitFrame(t, c).Seq)
			c = nextAsync(s)
		}
	}
	want := []uint64{1, 3, 5, 7}
	if len(got) != len(want) || got[0] != 1 || got[1] != 3 || got[2] != 5 || got[3] != 7 {
		t.Errorf("delivered images %v, want %v", got, want)
	}
	if st := s.Status(); st.Dropped != 0 || st.Grabbed != 7 {
		t.Errorf("Stats: Dropped %d, Grabbed %d; want 0, 7", st.Dropped, st.Grabbed)
	}
}

// TestLiveDeviceLost: a camera whose reads keep failing ends Next with an
// error naming it.
func TestLiveDeviceLost(t *testing.T) {
	cam := newFakeCamera(t)
	cfg, _ := Config{Kind: media.SourceCamera, Device: "fake", FPS: 10}.normalize()
	s := newSource(cfg, nil)
	s.live = startLive(cam, cam.now, func() error { return nil }, "camera fake", &s.m)
	s.start()
	defer s.Close()
	c := nextAsync(s)
	cam.shoot(t, 0)
	waitFrame(t, c)
	close(cam.shots) // unplugged
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.Next(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "camera fake") || !strings.Contains(err.Error(), "stopped delivering") {
		t.Errorf("Next after the camera went away = %v, want an error naming camera fake", err)
	}
}
