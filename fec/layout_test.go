package fec

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestParityShards(t *testing.T) {
	tests := []struct {
		k     int
		ratio float64
		want  int
	}{
		{1, 0, 0}, {100, 0, 0}, {1, 0.25, 1}, {4, 0.25, 1}, {5, 0.25, 2}, {87, 0.25, 22},
		{30, 0.1, 3}, {10, 0.5, 5}, {85, 2, 170}, {200, 2, 56}, {255, 0.01, 1},
	}
	for _, tt := range tests {
		if got := ParityShards(tt.k, tt.ratio); got != tt.want {
			t.Errorf("ParityShards(%d, %v) = %d, want %d", tt.k, tt.ratio, got, tt.want)
		}
	}
}

func TestMaxDataShards(t *testing.T) {
	tests := []struct {
		ratio float64
		want  int
	}{{0, 255}, {0.01, 253}, {0.25, 204}, {0.5, 170}, {1, 128}, {2, 85}}
	for _, tt := range tests {
		got := MaxDataShards(tt.ratio)
		if got != tt.want {
			t.Errorf("MaxDataShards(%v) = %d, want %d", tt.ratio, got, tt.want)
		}
		if got+parityFor(got, tt.ratio) > MaxShards || got+1+parityFor(got+1, tt.ratio) <= MaxShards && got < 255 {
			t.Errorf("MaxDataShards(%v) = %d is not the largest k that fits", tt.ratio, got)
		}
	}
}

// TestPlanReceivedAgree checks, over many frame sizes, shard sizes and
// ratios, that what a sender plans is what a receiver rebuilds from the
// header fields, that blocks cover the data shards exactly, and that no
// block exceeds MaxShards with its parity.
func TestPlanReceivedAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	ratios := []float64{0, 0.1, 0.25, 0.5, 1, 2}
	sizes := []int{1, 2, 100, 1147, 1148, 1149, 30000, 100000, 400000, 4 << 20}
	for range 2000 {
		sizes = append(sizes, 1+rng.IntN(1<<20))
	}
	for _, n := range sizes {
		for _, maxShard := range []int{1, 508, 1148, 1420, 8920} {
			for _, r := range ratios {
				l, err := Plan(n, maxShard, r)
				if errors.Is(err, ErrTooManyBlocks) && maxShard == 1 {
					continue
				}
				if err != nil {
					t.Fatalf("Plan(%d, %d, %v): %v", n, maxShard, r, err)
				}
				if l.ShardSize > maxShard || l.Padded() < n || l.Padded()-n >= l.Data {
					t.Fatalf("Plan(%d, %d, %v) = %+v: shard size or padding wrong", n, maxShard, r, l)
				}
				got, err := Received(n, l.ShardSize, l.Blocks)
				if err != nil || got != l {
					t.Fatalf("Received(%d, %d, %d) = %+v, %v; want %+v", n, l.ShardSize, l.Blocks, got, err, l)
				}
				next := 0
				for b := range l.Blocks {
					first, k := l.Block(b)
					m := ParityShards(k, r)
					if first != next || k < 1 || k > MaxDataShards(r) || CheckBlock(k, m) != nil {
						t.Fatalf("Plan(%d, %d, %v) block %d = first %d, %d+%d: not a valid block", n, maxShard, r, b, first, k, m)
					}
					next += k
				}
				if next != l.Data {
					t.Fatalf("Plan(%d, %d, %v): blocks cover %d data shards, want %d", n, maxShard, r, next, l.Data)
				}
			}
		}
	}
}

func TestReceivedRejects(t *testing.T) {
	tests := []struct{ frame, shard, blocks int }{
		{0, 1, 1}, {10, 0, 1}, {-1, 5, 1}, {10, 6, 1}, {10, 4, 0}, {10, 4, 4}, {10, 11, 1},
		{1 << 20, 1, 1}, // 1M data shards in one block
		{1 << 30, 1, MaxBlocks + 1},
	}
	for _, tt := range tests {
		if l, err := Received(tt.frame, tt.shard, tt.blocks); !errors.Is(err, ErrGeometry) {
			t.Errorf("Received(%d, %d, %d) = %+v, %v; want ErrGeometry", tt.frame, tt.shard, tt.blocks, l, err)
		}
	}
}

func TestCheckBlockAndRatio(t *testing.T) {
	for _, tt := range []struct{ k, m int }{{0, 1}, {1, 3}, {200, 57}, {10, -1}, {256, 0}} {
		if err := CheckBlock(tt.k, tt.m); !errors.Is(err, ErrGeometry) {
			t.Errorf("CheckBlock(%d, %d) = %v, want ErrGeometry", tt.k, tt.m, err)
		}
	}
	for _, tt := range []struct{ k, m int }{{1, 0}, {1, 2}, {204, 51}, {85, 170}, {255, 1}} {
		if err := CheckBlock(tt.k, tt.m); err != nil {
			t.Errorf("CheckBlock(%d, %d) = %v, want nil", tt.k, tt.m, err)
		}
	}
	for _, r := range []float64{-0.1, 2.01, 100} {
		if err := CheckRatio(r); !errors.Is(err, ErrRatio) {
			t.Errorf("CheckRatio(%v) = %v, want ErrRatio", r, err)
		}
	}
	if _, err := Plan(100, 10, 3); !errors.Is(err, ErrRatio) {
		t.Errorf("Plan with ratio 3: %v, want ErrRatio", err)
	}
}
