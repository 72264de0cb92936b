package main

import (
	"fmt"
	"math"

	"github.com/vstreamd/vstreamd/fec"
)

// lossModel is the datagram loss a condition applies, as the relay draws
// it: independent with probability Loss when Burst is 0, else the simple
// Gilbert-Elliott chain with average loss Loss and mean burst length Burst
// (a datagram is lost exactly when the chain is in Bad; then the chain
// steps; it starts from its stationary distribution). See
// cmd/badlink/impair/loss.go.
type lossModel struct {
	Loss  float64
	Burst float64
}

// maxDPStates bounds the Gilbert-Elliott dynamic program; frames that would
// need more states get no bound.
const maxDPStates = 1 << 21

// mdsBound returns the probability that a frame of frameLen bytes, split
// into shards of at most maxShard bytes at parity ratio, survives the loss
// model, given that Reed-Solomon is MDS: a block of k data and m parity
// shards is recovered exactly when it lost at most m of its k+m datagrams.
// ok is false when the bound cannot be computed.
func mdsBound(lm lossModel, frameLen, maxShard int, ratio float64) (bound float64, ok bool) {
	l, err := fec.Plan(frameLen, maxShard, ratio)
	if err != nil {
		return 0, false
	}
	if lm.Loss <= 0 {
		return 1, true
	}
	blocks := make([]blockShape, l.Blocks)
	for b := range blocks {
		_, k := l.Block(b)
		blocks[b] = blockShape{k: k, m: fec.ParityShards(k, ratio)}
	}
	if lm.Burst == 0 {
		bound = 1
		for _, bl := range blocks {
			bound *= binomialCDF(bl.k+bl.m, bl.m, lm.Loss)
		}
		return bound, true
	}
	return gilbertBound(lm, blocks, sendOrder(blocks))
}

type blockShape struct{ k, m int }

// sendOrder returns the block of each datagram of a frame in the order the
// packetizer sends them: data shards round-robin over the blocks, then
// parity shards the same way (see packetizer.Packetizer).
func sendOrder(blocks []blockShape) []int {
	var order []int
	for _, count := range []func(blockShape) int{
		func(b blockShape) int { return b.k },
		func(b blockShape) int { return b.m },
	} {
		most := 0
		for _, b := range blocks {
			most = max(most, count(b))
		}
		for s := range most {
			for i, b := range blocks {
				if s < count(b) {
					order = append(order, i)
				}
			}
		}
	}
	return order
}

// binomialCDF returns P(X <= m) for X ~ Binomial(n, p).
func binomialCDF(n, m int, p float64) float64 {
	if m >= n || p <= 0 {
		return 1
	}
	if p >= 1 {
		return 0
	}
	// Sum the terms in log space: C(n,i) p^i (1-p)^(n-i).
	lp, lq := math.Log(p), math.Log1p(-p)
	sum := 0.0
	for i := 0; i <= m; i++ {
		sum += math.Exp(logChoose(n, i) + float64(i)*lp + float64(n-i)*lq)
	}
	return min(sum, 1)
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// gilbertBound computes the survival probability exactly by dynamic
// programming over the chain's state and each block's loss count, along
// the send order. A state whose block lost more than its parity is dropped:
// that frame is lost whatever follows.
func gilbertBound(lm lossModel, blocks []blockShape, order []int) (float64, bool) {
	// Mixed radix: count of block b is digit b with radix m_b+1.
	stride := make([]int, len(blocks))
	n := 1
	for b, bl := range blocks {
		stride[b] = n
		n *= bl.m + 1
		if 2*n > maxDPStates {
			return 0, false
		}
	}
	r := 1 / lm.Burst                         // P(Bad->Good)
	q := lm.Loss / (lm.Burst * (1 - lm.Loss)) // P(Good->Bad)
	if !(q >= 0 && q <= 1 && r > 0 && r <= 1) {
		return 0, false
	}
	good, bad := make([]float64, n), make([]float64, n)
	nextGood, nextBad := make([]float64, n), make([]float64, n)
	good[0], bad[0] = 1-lm.Loss, lm.Loss // stationary start
	for _, b := range order {
		clear(nextGood)
		clear(nextBad)
		for s := range n {
			// In Good the datagram arrives; in Bad it is lost and
			// counts against its block. Then the chain steps.
			if g := good[s]; g > 0 {
				nextGood[s] += g * (1 - q)
				nextBad[s] += g * q
			}
			if x := bad[s]; x > 0 {
				if (s/stride[b])%(blocks[b].m+1) == blocks[b].m {
					continue // one loss too many for block b
				}
				t := s + stride[b]
				nextGood[t] += x * r
				nextBad[t] += x * (1 - r)
			}
		}
		good, nextGood = nextGood, good
		bad, nextBad = nextBad, bad
	}
	sum := 0.0
	for s := range n {
		sum += good[s] + bad[s]
	}
	return min(sum, 1), true
}

// meanFrameBytes estimates the mean encoded frame size from the sender's
// counters over a window: every shard of a frame has the same size, so the
// shard payload bytes (datagram bytes less headers) split between data and
// parity in proportion to the datagram counts. The estimate is high by less
// than one byte of padding per data shard.
func meanFrameBytes(frames, datagrams, parity, bytes uint64, headerLen int) (float64, error) {
	if frames == 0 || datagrams == 0 || parity >= datagrams || bytes < datagrams*uint64(headerLen) {
		return 0, fmt.Errorf("no frames sent (frames %d, datagrams %d, parity %d, bytes %d)", frames, datagrams, parity, bytes)
	}
	payload := float64(bytes - datagrams*uint64(headerLen))
	return payload * float64(datagrams-parity) / float64(datagrams) / float64(frames), nil
}
