package display

import (
	"errors"
	"slices"
	"testing"
	"time"

	"gocv.io/x/gocv"

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

// scored is a renderer that records, for each frame rendered, its id and
// the PSNR of the picture against the clip's reference for that id.
type scored struct {
	nullRenderer
	t    testing.TB
	clip *h264Clip
	ids  chan uint32
	psnr map[uint32]float64
}

func (r *scored) render(img *gocv.Mat, _ []byte, f Frame, _ *Stats) error {
	r.psnr[f.ID] = psnr(r.t, r.clip.ref[f.ID], *img)
	r.ids <- f.ID
	return nil
}

// settle waits until the sink has accounted for every frame given to it.
func settle(t testing.TB, s *Sink) Stats {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := s.Stats()
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
	r := &scored{t: t, clip: c, ids: make(chan uint32, 100), psnr: map[uint32]float64{}}
	s := newSink(Config{Kind: Null}, nil, r)
	go s.run()
	closeT(t, s)
	const damaged = 4
	for i, au := range c.au {
		f := Frame{Data: au, Codec: packetizer.CodecH264, ID: uint32(i), Start: 0}
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
	close(r.ids)
	var shown []uint32
	for id := range r.ids {
		shown = append(shown, id)
		if p := r.psnr[id]; p < 27 {
			t.Errorf("frame %d shown at %.1f dB against its source", id, p)
		}
	}
	if want := []uint32{0, 1, 2, 3, 8, 9, 10, 11}; !slices.Equal(shown, want) {
		t.Fatalf("frames shown %v, want %v", shown, want)
	}
	if st.DecodeErrors != 1 || st.Held != 3 || st.Breaks != 1 || s.Breaks() != 1 {
		t.Fatalf("decode errors %d, held %d, breaks %d; want 1, 3 (5..7), 1", st.DecodeErrors, st.Held, st.Breaks)
	}
}

// TestSinkH264Use checks that the sink follows the daemon's verdicts:
// UseSkip frames are neither decoded nor shown, UseDecode frames are
// decoded (the next frames need them) but not shown.
func TestSinkH264Use(t *testing.T) {
	c := encodeClip(t, 640, 360, 6, 1_000_000)
	r := &scored{t: t, clip: c, ids: make(chan uint32, 100), psnr: map[uint32]float64{}}
	s := newSink(Config{Kind: Null}, nil, r)
	go s.run()
	closeT(t, s)
	uses := []packetizer.Use{packetizer.UseDecode, packetizer.UseDecode, packetizer.UseShow, packetizer.UseShow, packetizer.UseSkip, packetizer.UseSkip}
	for i, au := range c.au {
		s.Show(Frame{Data: au, Codec: packetizer.CodecH264, ID: uint32(i), Use: uses[i]})
		settle(t, s)
	}
	st := settle(t, s)
	close(r.ids)
	var shown []uint32
	for id := range r.ids {
		shown = append(shown, id)
	}
	if want := []uint32{2, 3}; !slices.Equal(shown, want) || st.Frozen != 4 || st.DecodeErrors != 0 {
		t.Fatalf("shown %v, frozen %d, decode errors %d; want %v, 4, 0", shown, st.Frozen, st.DecodeErrors, want)
	}
	if p := r.psnr[2]; p < 27 {
		t.Fatalf("frame 2, decoded after two decode-only frames, shown at %.1f dB", p)
	}
}
