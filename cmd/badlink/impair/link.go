package impair

import (
	"math/rand/v2"
	"time"

	"github.com/vstreamd/vstreamd/fec/lossmodel"
)

// Copy is the fate of one copy of a datagram that was not lost.
type Copy struct {
	// Dropped is true if the bottleneck queue was full (tail drop).
	Dropped bool
	// Release is when to send the copy, on the caller's clock. Zero when
	// Dropped.
	Release time.Duration
	// Reordered is true if the copy leaves before one that entered the
	// delay line before it.
	Reordered bool
}

// Verdict is what a Link decided for one datagram.
type Verdict struct {
	// Lost is true if the loss model dropped the datagram; Copies is 0.
	Lost bool
	// Copies is 1, or 2 when the datagram was duplicated.
	Copies int
	// Copy holds the fate of each copy in Copy[:Copies].
	Copy [2]Copy
}

// Streams of the per-model generators within one (seed, stream) pair.
const (
	rngLoss = iota + 1
	rngDup
	rngJitter
)

// Link applies the impairments of one direction to a sequence of datagrams.
// It is not safe for concurrent use; a relay owns one Link per direction
// and calls it from that direction's reader.
type Link struct {
	params Params
	loss   lossmodel.Channel
	dupRNG *rand.Rand
	neck   bottleneck
	delay  delayLine
	step   int // next of params.Steps
}

// NewLink returns a Link for p whose random draws are determined by seed
// and stream (use a different stream per direction). It returns the error
// of p.Validate.
func NewLink(p Params, seed, stream uint64) (*Link, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	gen := func(model uint64) *rand.Rand {
		return rand.New(rand.NewPCG(seed, stream<<8|model))
	}
	return &Link{
		params: p,
		loss:   lossmodel.NewChannel(p.lossModel(), gen(rngLoss)),
		dupRNG: gen(rngDup),
		neck:   newBottleneck(p.Rate, p.Queue),
		delay:  newDelayLine(p, gen(rngJitter)),
	}, nil
}

// Params returns the impairments l applies.
func (l *Link) Params() Params { return l.params }

// Decide returns the fate of a datagram of size bytes arriving at now.
// Arrival times must not decrease from one call to the next. It does not
// allocate.
func (l *Link) Decide(now time.Duration, size int) Verdict {
	var v Verdict
	if l.loss.Lost() {
		v.Lost = true
		return v
	}
	for l.step < MaxRateSteps && l.params.Steps[l.step].Rate > 0 && now >= l.params.Steps[l.step].At {
		l.neck.setRate(now, l.params.Steps[l.step].Rate, l.params.Queue)
		l.step++
	}
	v.Copies = 1
	if l.params.Dup > 0 && l.dupRNG.Float64() < l.params.Dup {
		v.Copies = 2
	}
	for i := range v.Copies {
		depart, ok := l.neck.offer(now, size)
		if !ok {
			v.Copy[i].Dropped = true
			continue
		}
		v.Copy[i].Release, v.Copy[i].Reordered = l.delay.release(depart)
	}
	return v
}
