// Package lossmodel owns the datagram loss model vstreamd reasons about and
// the exact Reed-Solomon (MDS) bound under it: a Channel that draws losses
// (used by the impairment relay and the simulation tests), the exact
// probability that a block of k data and m parity shards is lost, the
// delivery probability of a frame of interleaved blocks (used by the
// benchmark), and the smallest parity count that keeps a block's loss under
// a target (for the parity policy).
//
// # The model
//
// Losses are either independent (i.i.d.) with probability Loss, or follow the
// "simple Gilbert" model, a two-state Markov chain: in state Good a datagram
// arrives, in Bad it is lost (netem's "loss gemodel p r" with 1-h = 1 and
// 1-k = 0). Every datagram takes the loss of the current state, then the
// chain steps; the first datagram's state is drawn from the stationary
// distribution. The time in Bad is geometric, so with r = P(Bad->Good) the
// mean burst length is Burst = 1/r, and the stationary share of Bad, the
// average loss, is Loss = q/(q+r) with q = P(Good->Bad). Given Loss and
// Burst:
//
//	r = P(Bad->Good) = 1/Burst
//	q = P(Good->Bad) = Loss / (Burst (1 - Loss))
//
// q <= 1 requires Burst >= Loss/(1-Loss). See G. Hasslinger and O. Hohlfeld,
// "The Gilbert-Elliott Model for Packet Loss in Real Time Services on the
// Internet", MMB 2008, section 3. With Burst = 1/(1-Loss) the chain forgets
// its state at every step (q = Loss, r = 1-Loss) and is the i.i.d. channel;
// the bounds below treat i.i.d. loss as exactly that chain.
//
// # The bound
//
// Reed-Solomon is MDS: a block of k data and m parity shards is recovered
// exactly when at most m of its k+m datagrams are lost, that is when the
// k-th datagram to arrive is among the first k+m sent. Counting the losses
// before each arrival turns the block's fate into a sum of independent
// counts (a renewal argument): the losses before the first arrival G0 come
// from the stationary start (none with probability 1-Loss, else a burst),
// and the losses between two arrivals G from Good (none with probability
// 1-q, else a burst). A burst has l >= 1 losses with probability
// r (1-r)^(l-1). So
//
//	P(block recovered) = P(G0 + G1 + ... + G(k-1) <= m)
//
// and each convolution with a geometric tail is a first-order recursion, so
// the distribution of the sum up to m costs O(k m) operations and no memory
// beyond m+1 numbers. Under i.i.d. loss this is the binomial
// P(X <= m), X ~ Binomial(k+m, Loss), in negative binomial form.
package lossmodel

import (
	"fmt"
	"math/rand/v2"
)

// MaxBlockShards is the largest block, data plus parity, the bounds handle:
// a Reed-Solomon block over GF(2^8) (fec.MaxShards; a test keeps the two
// equal).
const MaxBlockShards = 256

// Model is a datagram loss process. The zero value loses nothing.
type Model struct {
	// Loss is the average loss ratio in [0, 1].
	Loss float64
	// Burst is the mean loss burst length in datagrams: 0 for independent
	// losses, at least 1 for the Gilbert-Elliott chain.
	Burst float64
}

// Validate checks that m describes a process the chain can produce. Its
// messages name the setting (loss, burst) and the accepted range.
func (m Model) Validate() error {
	switch {
	case !(m.Loss >= 0 && m.Loss <= 1):
		return fmt.Errorf("loss %g: must be between 0 and 1", m.Loss)
	case m.Burst != 0 && !(m.Burst >= 1):
		return fmt.Errorf("burst %g: must be 0 (independent losses) or at least 1 datagram", m.Burst)
	}
	if m.Burst >= 1 && m.Loss > 0 {
		if m.Loss == 1 {
			return fmt.Errorf("burst %g with loss 1: bursts need loss below 1", m.Burst)
		}
		if low := m.Loss / (1 - m.Loss); m.Burst < low {
			return fmt.Errorf("burst %g with loss %g: mean burst must be at least loss/(1-loss) = %.3g",
				m.Burst, m.Loss, low)
		}
	}
	return nil
}

// bursty reports whether m is the Gilbert-Elliott chain rather than i.i.d.
func (m Model) bursty() bool { return m.Burst >= 1 && m.Loss > 0 && m.Loss < 1 }

// chain returns the transition probabilities q = P(Good->Bad) and
// r = P(Bad->Good); i.i.d. loss is the memoryless chain q = Loss,
// r = 1 - Loss.
func (m Model) chain() (q, r float64) {
	if !m.bursty() {
		return m.Loss, 1 - m.Loss
	}
	return m.Loss / (m.Burst * (1 - m.Loss)), 1 / m.Burst
}

// String describes m, e.g. "i.i.d. 5%" or "Gilbert-Elliott 2%, burst 4".
func (m Model) String() string {
	if m.Burst > 0 {
		return fmt.Sprintf("Gilbert-Elliott %g%%, burst %g", m.Loss*100, m.Burst)
	}
	return fmt.Sprintf("i.i.d. %g%%", m.Loss*100)
}

// Channel draws the losses of a Model, datagram by datagram. A Channel is
// not safe for concurrent use.
type Channel struct {
	rng  *rand.Rand
	p    float64 // i.i.d. loss probability; unused when bursty
	q, r float64 // chain transitions when bursty
	ge   bool    // Gilbert-Elliott
	bad  bool    // current state of the chain
}

// NewChannel returns a Channel for m drawing from rng. m must be valid (see
// Model.Validate). The chain starts from its stationary distribution so
// that a short run is not biased towards Good.
func NewChannel(m Model, rng *rand.Rand) Channel {
	c := Channel{rng: rng, p: m.Loss}
	if m.bursty() {
		c.ge = true
		c.q, c.r = m.chain()
		c.bad = rng.Float64() < m.Loss
	}
	return c
}

// Lost reports whether the next datagram is lost. It takes one draw per
// datagram (i.i.d. loss of 0 or 1 too), so the generator's position
// depends only on the datagram count.
func (c *Channel) Lost() bool {
	u := c.rng.Float64()
	if !c.ge {
		return u < c.p
	}
	lost := c.bad
	if c.bad {
		c.bad = u >= c.r
	} else {
		c.bad = u < c.q
	}
	return lost
}
