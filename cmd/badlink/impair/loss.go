package impair

import "math/rand/v2"

// lossModel decides which datagrams are lost: independently with
// probability p, or in bursts following the Gilbert-Elliott model.
//
// The Gilbert-Elliott variant here is the "simple Gilbert" model: two
// states, Good and Bad; a datagram is lost with probability 0 in Good and 1
// in Bad (netem's "loss gemodel p r" with 1-h = 1 and 1-k = 0). Each
// datagram first takes the loss of the current state, then the chain steps.
// The time spent in Bad is geometric, so with P(Bad->Good) = r the mean
// burst length is L = 1/r; the stationary share of Bad, which is the
// average loss, is p = q/(q+r) with q = P(Good->Bad). Solving for the two
// transition probabilities given p and L:
//
//	P(Bad->Good)  = r = 1/L
//	P(Good->Bad)  = q = p / (L (1 - p))
//
// See G. Hasslinger and O. Hohlfeld, "The Gilbert-Elliott Model for Packet
// Loss in Real Time Services on the Internet", MMB 2008, section 3, and the
// gemodel parameters in tc-netem(8). q <= 1 requires L >= p/(1-p), which
// Params.Validate checks.
type lossModel struct {
	rng   *rand.Rand
	p     float64 // i.i.d. loss probability; unused in burst mode
	gbad  float64 // P(Good->Bad); burst mode when bgood > 0
	bgood float64 // P(Bad->Good)
	bad   bool    // current Gilbert-Elliott state
}

func newLossModel(p, burst float64, rng *rand.Rand) lossModel {
	m := lossModel{rng: rng, p: p}
	if burst >= 1 && p > 0 && p < 1 {
		m.bgood = 1 / burst
		m.gbad = p / (burst * (1 - p))
		// Start from the stationary distribution so that a short run
		// is not biased towards Good.
		m.bad = rng.Float64() < p
	}
	return m
}

// lost reports whether the next datagram is lost.
func (m *lossModel) lost() bool {
	if m.bgood == 0 {
		// i.i.d.; p = 0 and p = 1 still take a draw so that the stream
		// position depends only on the datagram count.
		return m.rng.Float64() < m.p
	}
	lost := m.bad
	u := m.rng.Float64()
	if m.bad {
		m.bad = u >= m.bgood
	} else {
		m.bad = u < m.gbad
	}
	return lost
}
