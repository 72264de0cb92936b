package display

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/capture/capturetest"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
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
		p := capturetest.PSNR(t, c.ref[i], img)
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

// scored is a renderer that records, for each frame rendered, its id and
// the PSNR of the picture against the clip's reference for that id.
// scored records the frames a sink shows and each one's PSNR against
// the same frame decoded from the whole stream, without damage: a right
// picture is identical to it (+Inf), whatever the encoder's quality.
type scored struct {
	nullRenderer
	t     testing.TB
	clean []gocv.Mat // frame i decoded from the undamaged stream
	ids   chan uint32
	psnr  map[uint32]float64
}

func newScored(t testing.TB, c *h264Clip) *scored {
	t.Helper()
	d := newDecoderT(t)
	r := &scored{t: t, ids: make(chan uint32, 100), psnr: map[uint32]float64{}}
	for i, au := range c.au {
		img, err := d.decode(au)
		if err != nil {
			t.Fatalf("frame %d of the clip does not decode: %v", i, err)
		}
		r.clean = append(r.clean, img)
	}
	t.Cleanup(func() {
		for _, m := range r.clean {
			m.Close()
		}
	})
	return r
}

func (r *scored) render(img *gocv.Mat, _ []byte, f media.Received, _ *media.SinkStatus) error {
	r.psnr[f.ID] = capturetest.PSNR(r.t, r.clean[f.ID], *img)
	r.ids <- f.ID
	return nil
}

// shown returns the ids of the frames rendered, in order, once the sink
// is done with them, and fails the test for any not identical to the
// clean decode.
func (r *scored) shown() []uint32 {
	close(r.ids)
	var ids []uint32
	for id := range r.ids {
		ids = append(ids, id)
		if p := r.psnr[id]; !math.IsInf(p, 1) {
			r.t.Errorf("frame %d shown at %.1f dB against the decode without damage, want identical", id, p)
		}
	}
	return ids
}

// settle waits until the sink has accounted for every frame given to it.
func settle(t testing.TB, s *Sink) media.SinkStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := s.Status()
		if st.Shown+st.Skipped+st.DecodeErrors+st.Dropped+st.Frozen+st.Held == st.Received {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink did not settle: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSinkH264Chain feeds a sink an H.264 stream with a damaged frame in
// it. The damaged frame is counted, never shown, and the frames that depend
// on it are held until the next keyframe, from which pictures show again,
// each matching its source.
func TestSinkH264Chain(t *testing.T) {
	c := encodeClip(t, 640, 360, 12, 1_000_000, 8)
	r := newScored(t, c)
	s := newSink(Config{Kind: media.SinkNull}, nil, r)
	go s.run()
	closeT(t, s)
	const damaged = 4
	for i, au := range c.au {
		f := media.Received{Data: au, Codec: packetizer.CodecH264, ID: uint32(i), Start: 0}
		if c.media[i].Keyframe() && i > 0 {
			f.Start = uint32(i)
		} else if i > 8 {
			f.Start = 8
		}
		if i == damaged {
			f.Data = au[:len(au)/3]
		}
		s.Show(f)
		settle(t, s)
	}
	st := settle(t, s)
	shown := r.shown()
	if want := []uint32{0, 1, 2, 3, 8, 9, 10, 11}; !slices.Equal(shown, want) {
		t.Fatalf("frames shown %v, want %v", shown, want)
	}
	if st.DecodeErrors != 1 || st.Held != 3 || st.Breaks != 1 || s.Breaks() != 1 {
		t.Fatalf("decode errors %d, held %d, breaks %d; want 1, 3 (5..7), 1", st.DecodeErrors, st.Held, st.Breaks)
	}
}

// TestSinkH264Use checks that the sink follows the daemon's verdicts:
// UseSkip frames are neither decoded nor shown (counted frozen), and the
// keyframe after them shows a right picture.
func TestSinkH264Use(t *testing.T) {
	c := encodeClip(t, 640, 360, 6, 1_000_000, 4)
	r := newScored(t, c)
	s := newSink(Config{Kind: media.SinkNull}, nil, r)
	go s.run()
	closeT(t, s)
	uses := []packetizer.Use{packetizer.UseShow, packetizer.UseShow, packetizer.UseSkip, packetizer.UseSkip, packetizer.UseShow, packetizer.UseShow}
	for i, au := range c.au {
		start := uint32(0)
		if i >= 4 {
			start = 4
		}
		s.Show(media.Received{Data: au, Codec: packetizer.CodecH264, ID: uint32(i), Use: uses[i], Start: start})
		settle(t, s)
	}
	st := settle(t, s)
	shown := r.shown()
	if want := []uint32{0, 1, 4, 5}; !slices.Equal(shown, want) || st.Frozen != 2 || st.DecodeErrors != 0 {
		t.Fatalf("shown %v, frozen %d, decode errors %d; want %v, 2, 0", shown, st.Frozen, st.DecodeErrors, want)
	}
}

// TestH264QueueOverflow fills the H.264 queue while the sink's goroutine
// is not running: the frames queued are given up as held, the sink counts
// a break, and only a frame that starts a chain is queued after it.
func TestH264QueueOverflow(t *testing.T) {
	s := newSink(Config{Kind: media.SinkNull}, nil, nullRenderer{})
	h264 := func(id, start uint32) media.Received {
		return media.Received{Data: []byte{0, 0, 1, 0x41, byte(id)}, Codec: packetizer.CodecH264, ID: id, Start: start}
	}
	for id := range uint32(h264QueueLen) {
		s.Show(h264(id, 0))
	}
	if st := s.Status(); st.Held != 0 || s.Breaks() != 0 || s.hq.n != h264QueueLen {
		t.Fatalf("queue full: held %d, breaks %d, queued %d; want 0, 0, %d", st.Held, s.Breaks(), s.hq.n, h264QueueLen)
	}
	s.Show(h264(h264QueueLen, 0)) // one more: the chain is lost
	if st := s.Status(); st.Held != h264QueueLen+1 || s.Breaks() != 1 || s.hq.n != 0 || s.breakAt != h264QueueLen {
		t.Fatalf("overflow: held %d, breaks %d, queued %d, break at %d; want %d, 1, 0, %d",
			st.Held, s.Breaks(), s.hq.n, s.breakAt, h264QueueLen+1, h264QueueLen)
	}
	s.Show(h264(h264QueueLen+1, h264QueueLen+1)) // a keyframe: queued
	if s.hq.n != 1 {
		t.Fatalf("a keyframe after the overflow was not queued")
	}
	var work []byte
	work, f, more, ok := s.hq.pop(work)
	if !ok || more || f.ID != h264QueueLen+1 || len(work) != 5 || work[4] != byte(h264QueueLen+1) {
		t.Fatalf("pop = %x, %+v, more %v, ok %v", work, f, more, ok)
	}
	go s.run()
	closeT(t, s)
}
