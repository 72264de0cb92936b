package lossmodel

import (
	"errors"
	"fmt"
	"math"
)

// Block is the shape of one Reed-Solomon block: Data data shards and Parity
// parity shards, one datagram each.
type Block struct{ Data, Parity int }

// BlockLoss returns the exact probability that a block of k data and parity
// parity shards, sent as k+parity consecutive datagrams, loses more than
// parity of them and so cannot be recovered. It returns NaN when k+parity
// is over MaxBlockShards or either count is negative, and 0 for k = 0. It
// costs O(k parity) and does not allocate.
func BlockLoss(m Model, k, parity int) float64 {
	if k < 0 || parity < 0 || k+parity > MaxBlockShards {
		return math.NaN()
	}
	if k == 0 || m.Loss <= 0 {
		return 0
	}
	var buf [MaxBlockShards + 1]float64
	x := buf[:parity+1]
	lossesBefore(m, k, x)
	sum := 0.0
	for _, v := range x {
		sum += v
	}
	return clamp01(1 - sum)
}

// MinParity returns the smallest number of parity shards, at most
// maxParity, for which a block of k data shards is lost with probability
// at most target under m (see BlockLoss). ok is false, and parity is
// maxParity, when no count up to maxParity meets the target. maxParity is
// lowered to MaxBlockShards-k. For k < 1 the answer is 0.
//
// It costs O(k parity) (the search doubles its range, so at most twice
// the work of knowing the answer) and does not allocate, so the parity
// policy can call it per frame.
func MinParity(m Model, k int, target float64, maxParity int) (parity int, ok bool) {
	maxParity = min(maxParity, MaxBlockShards-k)
	if k < 1 || m.Loss <= 0 {
		return 0, true
	}
	if maxParity < 0 {
		return 0, false
	}
	var buf [MaxBlockShards + 1]float64
	for span := min(8, maxParity); ; span = min(2*span, maxParity) {
		x := buf[:span+1]
		lossesBefore(m, k, x)
		cdf := 0.0
		for j, v := range x {
			cdf += v
			if 1-cdf <= target {
				return j, true
			}
		}
		if span == maxParity {
			return maxParity, false
		}
	}
}

// lossesBefore sets x[i] to the probability that i datagrams are lost
// before the k-th one arrives (k >= 1), for i < len(x): the distribution of
// G0 + G1 + ... + G(k-1) in the package comment, truncated.
func lossesBefore(m Model, k int, x []float64) {
	q, r := m.chain()
	clear(x)
	x[0] = 1
	convolveBurst(x, 1-m.Loss, m.Loss, r) // G0, from the stationary start
	for range k - 1 {
		convolveBurst(x, 1-q, q, r) // G, from Good after an arrival
	}
}

// convolveBurst replaces x by its convolution with the distribution of the
// losses before the next arrival: none with probability none, else a burst
// (with probability burst) of l >= 1 losses with probability r (1-r)^(l-1).
// The burst part
//
//	s[j] = sum over l >= 1 of burst r (1-r)^(l-1) x[j-l]
//
// satisfies s[j] = (1-r) s[j-1] + burst r x[j-1], one pass over x.
func convolveBurst(x []float64, none, burst, r float64) {
	s, prev := 0.0, 0.0
	for j, v := range x {
		s = (1-r)*s + burst*r*prev
		prev = v
		x[j] = none*v + s
	}
}

// MaxDPStates bounds the dynamic program of FrameDelivery.
const MaxDPStates = 1 << 21

// ErrTooLarge reports a frame whose interleaved blocks would need more than
// MaxDPStates states in FrameDelivery's dynamic program.
var ErrTooLarge = errors.New("lossmodel: frame too large for the exact bound")

// FrameDelivery returns the exact probability that every block of a frame
// is recovered when its datagrams are sent in order (order[i] is the block
// of the i-th datagram; see Interleaved) through m.
//
// Under i.i.d. loss the blocks are independent and it is the product of
// 1-BlockLoss. Under Gilbert-Elliott loss interleaving matters, and it runs
// a dynamic program over the chain's state and every block's loss count,
// along the send order; a state in which some block lost more than its
// parity is dropped, since that frame is lost whatever follows. The states
// number twice the product of (Parity+1) over the blocks; ErrTooLarge
// reports more than MaxDPStates. It allocates.
func FrameDelivery(m Model, blocks []Block, order []int) (float64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	counts := make([]int, len(blocks))
	for _, b := range order {
		if b < 0 || b >= len(blocks) {
			return 0, fmt.Errorf("lossmodel: send order names block %d of %d", b, len(blocks))
		}
		counts[b]++
	}
	for b, bl := range blocks {
		if bl.Data < 0 || bl.Parity < 0 || counts[b] != bl.Data+bl.Parity {
			return 0, fmt.Errorf("lossmodel: block %d has %d+%d shards but %d datagrams in the send order", b, bl.Data, bl.Parity, counts[b])
		}
	}
	if m.Loss <= 0 {
		return 1, nil
	}
	if !m.bursty() {
		p := 1.0
		for _, bl := range blocks {
			if bl.Data+bl.Parity > MaxBlockShards {
				return 0, fmt.Errorf("%w: block of %d shards", ErrTooLarge, bl.Data+bl.Parity)
			}
			p *= 1 - BlockLoss(m, bl.Data, bl.Parity)
		}
		return p, nil
	}
	return chainDelivery(m, blocks, order)
}

func chainDelivery(m Model, blocks []Block, order []int) (float64, error) {
	// Mixed radix: the loss count of block b is digit b with radix
	// Parity_b + 1.
	stride := make([]int, len(blocks))
	n := 1
	for b, bl := range blocks {
		stride[b] = n
		n *= bl.Parity + 1
		if 2*n > MaxDPStates {
			return 0, fmt.Errorf("%w: %d blocks need over %d states", ErrTooLarge, len(blocks), MaxDPStates)
		}
	}
	q, r := m.chain()
	good, bad := make([]float64, n), make([]float64, n)
	nextGood, nextBad := make([]float64, n), make([]float64, n)
	good[0], bad[0] = 1-m.Loss, m.Loss // stationary start
	for _, b := range order {
		clear(nextGood)
		clear(nextBad)
		radix := blocks[b].Parity + 1
		for s := range n {
			// In Good the datagram arrives; in Bad it is lost and
			// counts against its block. Then the chain steps.
			if g := good[s]; g > 0 {
				nextGood[s] += g * (1 - q)
				nextBad[s] += g * q
			}
			if x := bad[s]; x > 0 {
				if (s/stride[b])%radix == radix-1 {
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
	return clamp01(sum), nil
}

// Interleaved returns the block of each datagram of a frame in the order
// the packetizer sends them: data shards round-robin over the blocks, then
// parity shards the same way (packetizer.Packetizer; its tests check that
// the two agree).
func Interleaved(blocks []Block) []int {
	var order []int
	for _, parity := range []bool{false, true} {
		count := func(b Block) int {
			if parity {
				return b.Parity
			}
			return b.Data
		}
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

func clamp01(v float64) float64 { return min(max(v, 0), 1) }
