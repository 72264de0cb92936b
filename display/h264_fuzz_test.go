package display

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// FuzzH264Decode feeds the H.264 decoder arbitrary access units, seeded with
// real encoder output (an IDR, inter frames, a refresh wave start). One
// decoder takes every input, as a sink's does, so state carried between
// inputs is fuzzed too. Whatever arrives: no crash, and either a picture
// within the limits or ErrH264.
func FuzzH264Decode(f *testing.F) {
	c := encodeClip(f, 320, 180, 32, 500_000)
	for _, au := range c.au[:3] {
		f.Add(au)
	}
	f.Add(c.au[30]) // a refresh wave start: SPS, PPS, recovery point SEI
	d, err := newH264Decoder()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(d.close)
	f.Fuzz(func(t *testing.T, au []byte) {
		img, err := d.decode(au)
		if err != nil {
			if !errors.Is(err, ErrH264) {
				t.Fatalf("error %v is not ErrH264", err)
			}
			return
		}
		defer img.Close()
		if img.Cols() > MaxWidth || img.Rows() > MaxHeight || img.Cols()*img.Rows() > MaxPixels || img.Channels() != 3 {
			t.Fatalf("picture %dx%d with %d channels", img.Cols(), img.Rows(), img.Channels())
		}
	})
}

// TestH264DecoderMemory runs thousands of damaged access units (real ones
// with random bytes changed, cut short, or spliced) through decoders, and
// opens and closes decoders, checking that memory stays flat. Like
// TestNoMemoryGrowth it measures in a child with one malloc arena; the
// limit is the same 5 MB.
func TestH264DecoderMemory(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("-race: the race detector's own memory grows with use; the memory check runs without it")
	}
	if !testutil.InChild() {
		testutil.RunInChild(t, "TestH264DecoderMemory", "MALLOC_ARENA_MAX=1")
		return
	}
	c := encodeClip(t, 320, 180, 40, 500_000)
	rng := rand.New(rand.NewPCG(1, 2))
	work := func(rounds int) (pictures, errs int) {
		for range rounds {
			d, err := newH264Decoder()
			if err != nil {
				t.Fatal(err)
			}
			for _, au := range c.au {
				b := append([]byte(nil), au...)
				switch rng.IntN(4) {
				case 0: // intact
				case 1:
					for range 1 + rng.IntN(8) {
						b[rng.IntN(len(b))] = byte(rng.Uint32())
					}
				case 2:
					b = b[:rng.IntN(len(b))]
				case 3:
					b = append(b[:rng.IntN(len(b))], c.au[rng.IntN(len(c.au))]...)
				}
				img, err := d.decode(b)
				if err != nil {
					errs++
					continue
				}
				pictures++
				img.Close()
			}
			d.close()
		}
		return pictures, errs
	}
	work(10) // warm up
	before := testutil.RSS(t)
	pictures, errs := work(60)
	after := testutil.RSS(t)
	growth := after - before
	t.Logf("RSS before %.1f MB, after %d decoders, %d pictures and %d rejected access units %.1f MB (growth %+.1f MB)",
		float64(before)/1e6, 60, pictures, errs, float64(after)/1e6, float64(growth)/1e6)
	if errs == 0 || pictures == 0 {
		t.Fatalf("%d pictures and %d errors: the workload did not exercise both paths", pictures, errs)
	}
	if growth > 5<<20 {
		t.Errorf("RSS grew by %.1f MB: something is not released", float64(growth)/1e6)
	}
}
