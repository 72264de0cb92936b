package display

import (
	"math"
	"slices"
	"testing"

	"github.com/vstreamd/vstreamd/capture/capturetest"
	"github.com/vstreamd/vstreamd/packetizer"
)

// TestH264ChainAfterLoss runs a real H.264 stream (1280x720, 3 Mb/s,
// intra refresh every 30 frames) through packetizer.Chain and the decoder
// with frame 12 lost and the keyframe the receiver asks for arriving at
// frame 40. Every picture the chain lets through is exactly the picture a
// decoder that lost nothing makes; the frames it holds back are ones a
// plain decoder, which shows whatever arrives, gets badly wrong, even ten
// frames into the refresh wave that started after the loss
// (TestH264RefreshIsNoRecoveryPoint shows that the wave's end does not
// heal the picture either).
func TestH264ChainAfterLoss(t *testing.T) {
	const n, lostAt, idrAt = 50, 12, 40
	c := encodeClip(t, 1280, 720, n, 3_000_000, idrAt)
	clean, chained, plain := newDecoderT(t), newDecoderT(t), newDecoderT(t)
	var ch packetizer.Chain
	var shown []int
	worstHeld, beforeKey := 1000.0, 0.0
	for i := range n {
		want, err := clean.decode(c.au[i])
		if err != nil {
			t.Fatalf("frame %d does not decode without loss: %v", i, err)
		}
		if i == lostAt {
			want.Close()
			continue
		}
		use, _ := ch.Next(uint32(i), c.media[i])
		if img, err := plain.decode(c.au[i]); err == nil {
			if use == packetizer.UseSkip {
				p := capturetest.PSNR(t, want, img)
				worstHeld = min(worstHeld, p)
				if i == idrAt-1 {
					beforeKey = p
				}
			}
			img.Close()
		}
		if use == packetizer.UseShow {
			img, err := chained.decode(c.au[i])
			if err != nil {
				t.Fatalf("frame %d does not decode: %v", i, err)
			}
			shown = append(shown, i)
			if p := capturetest.PSNR(t, want, img); !math.IsInf(p, 1) {
				t.Errorf("frame %d shown at %.1f dB against the picture without the loss, want identical", i, p)
			}
			img.Close()
		}
		want.Close()
	}
	t.Logf("shown %d frames, each identical to the decode without loss; a plain decoder shows the %d frames held back at down to %.1f dB against it (%.1f dB just before the keyframe, ten frames into the refresh wave that began after the loss)",
		len(shown), n-1-len(shown), worstHeld, beforeKey)
	var want []int
	for i := range n {
		if i < lostAt || i >= idrAt {
			want = append(want, i)
		}
	}
	if !slices.Equal(shown, want) {
		t.Errorf("frames shown %v, want %v", shown, want)
	}
	if worstHeld > 25 {
		t.Errorf("the frames held back decode at %.1f dB at worst with a plain decoder: the loss did not damage the picture, so the test shows nothing", worstHeld)
	}
}

// TestH264RefreshIsNoRecoveryPoint measures why packetizer.Chain does not
// take the end of an intra-refresh wave as a recovery point: a decoder that
// starts at a wave's first frame (as after a loss) is held back by FFmpeg
// until the recovery point the wave's SEI names, and the picture there is
// still far from what a decoder that saw every frame makes. The test fails
// if that changes (a libx264 whose waves heal exactly would let Chain
// recover without a keyframe).
func TestH264RefreshIsNoRecoveryPoint(t *testing.T) {
	c := encodeClip(t, 1280, 720, 61, 3_000_000)
	if !c.media[30].RefreshStart() {
		t.Fatalf("frame 30 is %+v, want the start of a refresh wave", c.media[30])
	}
	clean, late := newDecoderT(t), newDecoderT(t)
	first, firstAt := 0.0, -1
	for i := range len(c.au) {
		want, err := clean.decode(c.au[i])
		if err != nil {
			t.Fatalf("frame %d does not decode: %v", i, err)
		}
		if i >= 30 {
			if img, err := late.decode(c.au[i]); err == nil { // held back until the recovery point
				if firstAt < 0 {
					first, firstAt = capturetest.PSNR(t, want, img), i
				}
				img.Close()
			}
		}
		want.Close()
	}
	t.Logf("decoding from the wave start at 30: first picture at frame %d, %.1f dB against the decode of every frame", firstAt, first)
	if firstAt < 0 || first > 30 {
		t.Fatalf("first picture at frame %d, %.1f dB: the wave end is a clean recovery point now; packetizer.Chain could use MediaRefresh", firstAt, first)
	}
}
