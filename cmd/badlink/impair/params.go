// Package impair models what a bad network does to a stream of datagrams in
// one direction: i.i.d. or Gilbert-Elliott burst loss, duplication, a
// bandwidth cap with a bounded tail-drop queue, and a fixed delay with
// jitter that may or may not reorder.
//
// The models hold no sockets and read no clock: the caller passes each
// datagram's arrival time on its own monotonic clock (a time.Duration since
// any fixed epoch) and gets back a Verdict saying whether the datagram is
// lost and, for each copy, whether the bottleneck queue dropped it or when
// it is to be sent. That keeps them deterministic and testable with an
// injected clock.
//
// Every random decision comes from a PRNG seeded from (seed, stream), with a
// separate generator per model, drawn in datagram order. The same seed and
// the same sequence of datagrams therefore give the same decisions, and the
// loss pattern does not change when, say, the jitter setting does.
// Queue drops at the rate cap depend on arrival times, so they are
// reproducible only when the arrival times are.
//
// Order of stages for each datagram:
//
//	loss -> duplication -> rate cap (FIFO bottleneck, tail drop) -> delay + jitter -> out
package impair

import (
	"errors"
	"fmt"
	"time"

	"github.com/vstreamd/vstreamd/fec/lossmodel"
)

// Limits on the delay settings; beyond them the relay's in-flight limit would
// be meaningless and time arithmetic would risk overflow.
const (
	MaxDelay = 10 * time.Second
)

// Params are the impairments of one direction. The zero value is a perfect
// link: no loss, no delay, no cap.
type Params struct {
	// Loss is the average loss ratio in [0, 1].
	Loss float64
	// Burst is the mean loss burst length in datagrams. 0 means losses are
	// independent (i.i.d.); a value >= 1 selects the Gilbert-Elliott model
	// with that mean burst length at average loss Loss.
	Burst float64
	// Delay is added to every datagram after the rate cap.
	Delay time.Duration
	// Jitter spreads the delay uniformly over [Delay-Jitter, Delay+Jitter]
	// (clamped at 0).
	Jitter time.Duration
	// Reorder lets a jittered datagram overtake earlier ones. Without it a
	// datagram never leaves before the one that arrived before it, which
	// can lengthen its delay up to that datagram's release time.
	Reorder bool
	// Dup is the probability in [0, 1] that a datagram that was not lost
	// is sent twice. The copy crosses the rate cap and gets its own jitter.
	Dup float64
	// Rate caps the bandwidth in bits per second; 0 means no cap.
	Rate int64
	// Queue bounds the bottleneck queue in front of the rate cap. Zero
	// means DefaultQueue. It is ignored without Rate.
	Queue Queue
	// Steps change Rate during the run: at each step's time (on the
	// caller's clock, from its start) the cap becomes the step's rate, the
	// queue keeping its size in bytes. They need a Rate to start from and
	// must be in time order; the first step with Rate 0 ends the list.
	Steps [MaxRateSteps]RateStep
}

// MaxRateSteps is how many rate changes a run can have.
const MaxRateSteps = 8

// RateStep is one change of the rate cap.
type RateStep struct {
	At   time.Duration
	Rate int64 // bits per second, > 0
}

// Queue is the size of the bottleneck queue, either in bytes or as the time
// it takes to drain at the capped rate. At most one field is set.
type Queue struct {
	Bytes int64
	Time  time.Duration
}

// DefaultQueueBytes is the bottleneck queue when Params.Queue is zero.
const DefaultQueueBytes = 64 * 1000

// OrDefault returns q, or a DefaultQueueBytes queue when q is zero.
func (q Queue) OrDefault() Queue {
	if q.IsZero() {
		return Queue{Bytes: DefaultQueueBytes}
	}
	return q
}

// IsZero reports whether no queue size was given.
func (q Queue) IsZero() bool { return q.Bytes == 0 && q.Time == 0 }

// String formats q the way ParseQueue reads it.
func (q Queue) String() string {
	if q.Time != 0 {
		return q.Time.String()
	}
	return formatBytes(q.Bytes)
}

// drain returns how long the queue takes to drain at rate bits per second.
func (q Queue) drain(rate int64) time.Duration {
	q = q.OrDefault()
	if q.Time != 0 {
		return q.Time
	}
	return time.Duration(float64(q.Bytes) * 8 * float64(time.Second) / float64(rate))
}

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid impairment")

// Validate checks that p describes a link the models can produce. Its
// messages name the setting (loss, burst, ...) and the accepted range.
func (p Params) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	if err := p.lossModel().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case !(p.Dup >= 0 && p.Dup <= 1):
		return bad("dup %g: must be between 0 and 1", p.Dup)
	case p.Delay < 0 || p.Delay > MaxDelay:
		return bad("delay %v: must be between 0 and %v", p.Delay, MaxDelay)
	case p.Jitter < 0 || p.Jitter > MaxDelay:
		return bad("jitter %v: must be between 0 and %v", p.Jitter, MaxDelay)
	case p.Rate < 0:
		return bad("rate %d: must not be negative", p.Rate)
	case p.Queue.Bytes < 0 || p.Queue.Time < 0:
		return bad("queue %v: must not be negative", p.Queue)
	case p.Queue.Bytes != 0 && p.Queue.Time != 0:
		return bad("queue: give bytes or time, not both")
	case p.Queue.Time > MaxDelay:
		return bad("queue %v: must be at most %v", p.Queue.Time, MaxDelay)
	}
	for i, st := range p.Steps {
		switch {
		case st.Rate == 0:
			continue
		case i > 0 && p.Steps[i-1].Rate == 0:
			return bad("rate step %d follows an empty one", i+1)
		case p.Rate == 0:
			return bad("rate steps need a rate to start from")
		case st.Rate < 0:
			return bad("rate step %d: rate %d: must be positive", i+1, st.Rate)
		case st.At < 0 || i > 0 && st.At <= p.Steps[i-1].At:
			return bad("rate step %d at %v: steps must be in increasing time order", i+1, st.At)
		case p.Queue.drain(st.Rate) > MaxDelay:
			return bad("rate step %d: queue %v at %s drains in %v, more than %v", i+1, p.Queue, FormatRate(st.Rate), p.Queue.drain(st.Rate), MaxDelay)
		}
	}
	if p.Rate > 0 && p.Queue.drain(p.Rate) > MaxDelay {
		return bad("queue %v at rate %s: drains in %v, more than %v",
			p.Queue, FormatRate(p.Rate), p.Queue.drain(p.Rate), MaxDelay)
	}
	return nil
}

// lossModel is the loss part of p (see package lossmodel for the chain).
func (p Params) lossModel() lossmodel.Model {
	return lossmodel.Model{Loss: p.Loss, Burst: p.Burst}
}

// String summarises p in the flag syntax, e.g.
// "loss 0.05 burst 4 delay 30ms jitter 10ms reorder rate 8mbit queue 64KB".
func (p Params) String() string {
	var b []byte
	add := func(format string, args ...any) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = fmt.Appendf(b, format, args...)
	}
	if p.Loss > 0 {
		add("loss %g", p.Loss)
		if p.Burst > 0 {
			add("burst %g", p.Burst)
		}
	}
	if p.Delay > 0 {
		add("delay %v", p.Delay)
	}
	if p.Jitter > 0 {
		add("jitter %v", p.Jitter)
		if p.Reorder {
			add("reorder")
		}
	}
	if p.Dup > 0 {
		add("dup %g", p.Dup)
	}
	if p.Rate > 0 {
		add("rate %s queue %v", FormatRate(p.Rate), p.Queue.OrDefault())
		for _, st := range p.Steps {
			if st.Rate > 0 {
				add("at %v rate %s", st.At, FormatRate(st.Rate))
			}
		}
	}
	if len(b) == 0 {
		return "clean"
	}
	return string(b)
}
