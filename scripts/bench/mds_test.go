package main

import (
	"math"
	"testing"

	"github.com/vstreamd/vstreamd/fec"
)

// A Gilbert-Elliott chain with mean burst 1/(1-p) forgets its state at
// every step, so it is the i.i.d. channel: the bound over the frame's real
// layout must agree, for one block and for several interleaved ones
// (package lossmodel tests the bounds themselves).
func TestGilbertMemorylessIsIID(t *testing.T) {
	const maxShard = 1144
	for _, tc := range []struct {
		frameLen int
		ratio    float64
		p        float64
	}{
		{100_000, 0.25, 0.05},
		{100_000, 0, 0.01},
		{230_000, 0.25, 0.10}, // two blocks
		{400_000, 0.5, 0.20},  // three blocks
		{5_000, 0.25, 0.30},
	} {
		iid, ok1 := mdsBound(lossModel{Loss: tc.p}, tc.frameLen, maxShard, tc.ratio)
		ge, ok2 := mdsBound(lossModel{Loss: tc.p, Burst: 1 / (1 - tc.p)}, tc.frameLen, maxShard, tc.ratio)
		if !ok1 || !ok2 {
			t.Errorf("%+v: no bound (i.i.d. %v, GE %v)", tc, ok1, ok2)
			continue
		}
		if math.Abs(iid-ge) > 1e-9 {
			t.Errorf("%+v: i.i.d. bound %.10f, memoryless Gilbert-Elliott %.10f", tc, iid, ge)
		}
	}
}

func TestMeanFrameBytes(t *testing.T) {
	// Two frames of 10 data + 3 parity shards of 1000 bytes each.
	got, err := meanFrameBytes(2, 26, 6, 26*(1000+56), 56)
	if err != nil || got != 10000 {
		t.Errorf("meanFrameBytes = %v, %v; want 10000", got, err)
	}
	if _, err := meanFrameBytes(0, 0, 0, 0, 56); err == nil {
		t.Error("meanFrameBytes with no frames: no error")
	}
}

func TestMDSBoundClean(t *testing.T) {
	if b, ok := mdsBound(lossModel{}, 100_000, 1144, fec.DefaultRatio); !ok || b != 1 {
		t.Errorf("mdsBound without loss = %v, %v; want 1, true", b, ok)
	}
}
