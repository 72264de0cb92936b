// Package fec owns vstreamd's forward error correction: the shard geometry of
// a frame (how many shards of what size, grouped in which Reed-Solomon
// blocks), the parity policy (how many parity shards a block gets), and the
// erasure code itself, built on github.com/klauspost/reedsolomon.
//
// # The code
//
// Every block is a shortened, punctured piece of one systematic Cauchy
// Reed-Solomon code over GF(2^8): data shard i and parity shard p of any
// block are related through the coefficient 1/(x_p + y_i) with y_i = i and
// x_p = 255 - p. The two sets never meet as long as k + m <= 256, and every
// square submatrix of a Cauchy matrix is invertible, so every block geometry
// with at most [MaxShards] shards is MDS: any k of its k+m shards give back
// the k data shards. Because a coefficient does not depend on the geometry,
// one [Coder] serves every frame size without a per-geometry cache, and it
// allocates nothing per frame.
//
// The arithmetic on shards runs in SIMD kernels: this package's own
// dot-product kernels for AVX-512 GFNI (fec/gfni_amd64.s) and AVX2
// (fec/avx2_amd64.s, and fec/avx2x4_amd64.s for four or two outputs at
// once), else the library's multiply-add kernels. The only
// pure-Go arithmetic is the inversion of the small e-by-e matrix that maps
// the e received parity shards back to the e lost data shards. Build with
// -tags nogfni to measure the AVX2 kernel on a CPU that has GFNI, and with
// -tags purego for the library's kernels only.
//
// # Measured against the library used directly
//
// fec/bench_test.go runs the Coder and klauspost/reedsolomon v1.14.2 side by
// side in every iteration (so the load of other processes falls on both),
// the library with one encoder per block geometry built from the same
// generator rows (WithCustomMatrix) and cached, on one goroutine like the
// Coder. Frames as the packetizer splits them (1144-byte shards, parity
// 0.25); a reconstruction loses 5% of each block's data shards, a fresh
// pattern every frame. Library time over Coder time, three runs of 1000
// frames each on a shared 2-core AMD EPYC with AVX2 but no GFNI (so the
// default build and -tags nogfni both run the AVX2 kernels here; the GFNI
// kernels are unmeasured against each other):
//
//	                    30 KB        100 KB       400 KB
//	encode              1.55-1.61    1.82-1.90    1.68-1.82
//	encode, nogfni      1.69-1.72    2.06-2.09    1.77-1.86
//	reconstruct         2.7-4.7      7.2-7.9      9.0-10.1
//	reconstruct, nogfni 2.9-6.8      7.8-10.1     8.8-14.0
//
// (2026-12-01, after the two-column and two-output kernels below; the
// reconstruct, nogfni row is from before them, which they do not touch.
// The 30 KB encode ratio was 1.87-2.09 in an earlier run; side by side the
// same day, the kernels before these measured 1.30-1.39 and these
// 1.52-1.63, 6.2-8.2 against 5.4-6.3 us a frame.)
// Encoding uses a four-output AVX2 kernel (fec/avx2x4_amd64.s: each data
// shard is loaded and split into nibbles once for four parity shards, two
// 32-byte columns at a time so that each table is loaded once for both),
// and a two-output one for two parity shards left over (a 100 KB frame's
// 22). With the one-output kernel alone encoding measured 0.77-1.74: the
// library, whose generated kernels compute several parity shards per pass,
// was within 15% or faster at 100 and 400 KB. Two columns at a time made a
// 100 KB frame's encoding about 15% faster (medians of 8 runs, 88.6 against
// 104.8 us), the two-output kernel its last two parity shards 1.5-1.6
// times faster than two one-output passes (BenchmarkTwoOutputs). The library also allocates on
// every call (encode: 2-4 allocations, 1-5 KB a frame; reconstruct: 44-1500
// allocations, 6-455 KB a frame, with or without its inversion cache),
// which the zero-allocation steady state (TestCoderAllocs, the packetizer's
// allocation tests) rules out. So the Coder keeps its own kernels for both.
// Reproduce with
//
//	go test ./fec -run '^$' -bench 'Encode|Reconstruct' -benchtime 1000x -count 3
//	go test ./fec -run '^$' -bench 'Encode|Reconstruct' -benchtime 1000x -count 3 -tags nogfni
package fec

import (
	"errors"
	"fmt"
	"math"
)

const (
	// MaxShards is the largest number of shards (data plus parity) in one
	// block: the size of GF(2^8).
	MaxShards = 256
	// MaxRatio is the largest parity ratio a sender may use. It also bounds
	// what a receiver accepts: a block with more than ParityShards(k,
	// MaxRatio) parity shards is malformed.
	MaxRatio = 2.0
	// MaxBlocks is the largest number of blocks one frame may be split into.
	MaxBlocks = 4096
	// DefaultRatio is the parity ratio used when none is configured.
	DefaultRatio = 0.25
)

// Errors returned by the layout functions.
var (
	// ErrGeometry reports shard geometry that no sender produces.
	ErrGeometry = errors.New("fec: invalid shard geometry")
	// ErrTooManyBlocks reports a frame that would need more than MaxBlocks
	// blocks at the given shard size.
	ErrTooManyBlocks = errors.New("fec: frame needs too many blocks")
	// ErrRatio reports a parity ratio outside [0, MaxRatio].
	ErrRatio = errors.New("fec: parity ratio out of range")
)

// ParityShards is the parity policy: the number of parity shards for a block
// of k data shards at parity ratio r, ceil(k*r), at least one whenever r > 0,
// and never more than MaxShards-k.
func ParityShards(k int, ratio float64) int {
	return min(parityFor(k, ratio), MaxShards-k)
}

// parityFor is the policy before the cap: ceil(k*r), at least 1 when r > 0.
// The small epsilon keeps ratios such as 0.1 from rounding a whole shard up
// (0.1*30 is 3.0000000000000004 in floating point).
func parityFor(k int, ratio float64) int {
	if ratio <= 0 || k <= 0 {
		return 0
	}
	return max(int(math.Ceil(float64(k)*ratio-1e-9)), 1)
}

// MaxDataShards is the largest k for which a block of k data shards and its
// full parity, ceil(k*ratio) shards, fits in MaxShards.
func MaxDataShards(ratio float64) int {
	k := MaxShards - 1
	for k > 1 && k+parityFor(k, ratio) > MaxShards {
		k--
	}
	return k
}

// CheckRatio returns ErrRatio (wrapped) when r is outside [0, MaxRatio].
func CheckRatio(r float64) error {
	if math.IsNaN(r) || r < 0 || r > MaxRatio {
		return fmt.Errorf("%w: %v, want 0 to %v", ErrRatio, r, MaxRatio)
	}
	return nil
}

// Layout is the shard geometry of one frame. All shards of a frame have the
// same size; the last data shard is padded with zeros. Data shards are
// numbered 0..Data-1 across the frame and spread over Blocks blocks as
// evenly as possible (see Block).
type Layout struct {
	FrameLen  int // frame length in bytes
	ShardSize int // bytes in every shard
	Data      int // data shards in the frame
	Blocks    int // Reed-Solomon blocks
}

// Plan returns the layout a sender uses for a frame of frameLen bytes when a
// shard may carry at most maxShard bytes and blocks get parity at ratio.
// The shard count is the smallest that fits, and the shard size the smallest
// that carries the frame in that many shards, so padding is under one byte
// per shard.
func Plan(frameLen, maxShard int, ratio float64) (Layout, error) {
	if frameLen < 1 || maxShard < 1 {
		return Layout{}, fmt.Errorf("%w: frame of %d bytes in shards of at most %d", ErrGeometry, frameLen, maxShard)
	}
	if err := CheckRatio(ratio); err != nil {
		return Layout{}, err
	}
	n := ceilDiv(frameLen, maxShard)
	blocks := ceilDiv(n, MaxDataShards(ratio))
	if blocks > MaxBlocks {
		return Layout{}, fmt.Errorf("%w: %d bytes in %d-byte shards need %d blocks, at most %d", ErrTooManyBlocks, frameLen, maxShard, blocks, MaxBlocks)
	}
	return Layout{FrameLen: frameLen, ShardSize: ceilDiv(frameLen, n), Data: n, Blocks: blocks}, nil
}

// Received rebuilds a sender's layout from what a datagram header says and
// checks that a sender could have produced it. It does not check the parity
// count of a block; see CheckBlock.
func Received(frameLen, shardSize, blocks int) (Layout, error) {
	if frameLen < 1 || shardSize < 1 {
		return Layout{}, fmt.Errorf("%w: frame %d bytes, shard %d bytes", ErrGeometry, frameLen, shardSize)
	}
	n := ceilDiv(frameLen, shardSize)
	if shardSize != ceilDiv(frameLen, n) {
		return Layout{}, fmt.Errorf("%w: frame %d bytes in %d shards of %d bytes", ErrGeometry, frameLen, n, shardSize)
	}
	if blocks < 1 || blocks > MaxBlocks || blocks > n {
		return Layout{}, fmt.Errorf("%w: %d blocks for %d data shards", ErrGeometry, blocks, n)
	}
	l := Layout{FrameLen: frameLen, ShardSize: shardSize, Data: n, Blocks: blocks}
	if _, k := l.Block(0); k >= MaxShards {
		return Layout{}, fmt.Errorf("%w: %d data shards in a block", ErrGeometry, k)
	}
	return l, nil
}

// Block returns the first data shard (frame-wide index) and the number of
// data shards of block b: the first Data%Blocks blocks get one more.
func (l Layout) Block(b int) (first, k int) {
	base, extra := l.Data/l.Blocks, l.Data%l.Blocks
	first = b*base + min(b, extra)
	k = base
	if b < extra {
		k++
	}
	return first, k
}

// CheckBlock reports whether a block of k data and m parity shards is one a
// sender could produce.
func CheckBlock(k, m int) error {
	if k < 1 || k >= MaxShards || m < 0 || k+m > MaxShards || m > ParityShards(k, MaxRatio) {
		return fmt.Errorf("%w: block of %d data and %d parity shards", ErrGeometry, k, m)
	}
	return nil
}

// Padded is the length of the frame's data region in shards: Data*ShardSize.
func (l Layout) Padded() int { return l.Data * l.ShardSize }

func ceilDiv(a, b int) int { return (a + b - 1) / b }
