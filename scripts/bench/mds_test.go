package main

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vstreamd/vstreamd/fec"
)

func TestBinomialCDF(t *testing.T) {
	tests := []struct {
		n, m int
		p    float64
		want float64
	}{
		{10, 0, 0.1, math.Pow(0.9, 10)},
		{2, 1, 0.5, 0.75},
		{3, 3, 0.7, 1},
		{5, 2, 0, 1},
		{5, 2, 1, 0},
		{4, 1, 0.2, math.Pow(0.8, 4) + 4*0.2*math.Pow(0.8, 3)},
	}
	for _, tt := range tests {
		if got := binomialCDF(tt.n, tt.m, tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("binomialCDF(%d, %d, %g) = %.12f, want %.12f", tt.n, tt.m, tt.p, got, tt.want)
		}
	}
}

func TestSendOrder(t *testing.T) {
	got := sendOrder([]blockShape{{k: 3, m: 2}, {k: 2, m: 1}})
	want := []int{0, 1, 0, 1, 0, 0, 1, 0}
	if len(got) != len(want) {
		t.Fatalf("sendOrder = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sendOrder = %v, want %v", got, want)
		}
	}
}

// A Gilbert-Elliott chain with mean burst 1/(1-p) forgets its state at
// every step, so it is the i.i.d. channel: the dynamic program must agree
// with the closed form, for one block and for several interleaved ones.
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

// The dynamic program must match a simulation of the relay's chain.
func TestGilbertBoundSimulated(t *testing.T) {
	lm := lossModel{Loss: 0.1, Burst: 4}
	blocks := []blockShape{{k: 12, m: 3}, {k: 11, m: 3}}
	order := sendOrder(blocks)
	want, ok := gilbertBound(lm, blocks, order)
	if !ok {
		t.Fatal("no bound")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const trials = 200_000
	survived := 0
	for range trials {
		bad := rng.Float64() < lm.Loss
		lost := make([]int, len(blocks))
		for _, b := range order {
			if bad {
				lost[b]++
			}
			if bad {
				bad = rng.Float64() >= 1/lm.Burst
			} else {
				bad = rng.Float64() < lm.Loss/(lm.Burst*(1-lm.Loss))
			}
		}
		ok := true
		for b, n := range lost {
			ok = ok && n <= blocks[b].m
		}
		if ok {
			survived++
		}
	}
	got := float64(survived) / trials
	if tol := 4 * math.Sqrt(want*(1-want)/trials); math.Abs(got-want) > tol {
		t.Errorf("simulated %.4f, dynamic program %.4f, tolerance %.4f", got, want, tol)
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
