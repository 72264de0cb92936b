package impair

import "time"

// bottleneck is a FIFO link of fixed bit rate with a queue in front that
// drops at the tail when full, like the slowest hop of a real path.
//
// It needs no buffer of its own: with a single FIFO server the departure
// time of every accepted datagram is known when it arrives, so the model
// only remembers when the link becomes idle (busyUntil). The backlog at time
// t, expressed as time to drain, is busyUntil - t; it includes the datagram
// being serialised. A datagram is accepted if the link is idle or if the
// backlog plus its own transmission time fits in the queue; it departs
// (store and forward: when its last bit has left) at
// max(t, busyUntil) + size/rate.
type bottleneck struct {
	rate      int64         // bits per second; 0 disables the cap
	queue     time.Duration // queue size as time to drain at rate
	busyUntil time.Duration
}

func newBottleneck(rate int64, q Queue) bottleneck {
	if rate <= 0 {
		return bottleneck{}
	}
	return bottleneck{rate: rate, queue: q.drain(rate)}
}

// txTime is the serialisation time of size bytes, rounded up so that the
// output never exceeds the rate.
func (b *bottleneck) txTime(size int) time.Duration {
	bits := int64(size) * 8 * int64(time.Second)
	return time.Duration((bits + b.rate - 1) / b.rate)
}

// offer passes a datagram of size bytes arriving at now through the
// bottleneck and returns its departure time, or ok = false if the queue is
// full and it is dropped.
func (b *bottleneck) offer(now time.Duration, size int) (depart time.Duration, ok bool) {
	if b.rate == 0 {
		return now, true
	}
	tx := b.txTime(size)
	backlog := b.busyUntil - now
	if backlog <= 0 {
		b.busyUntil = now + tx
		return b.busyUntil, true
	}
	if backlog+tx > b.queue {
		return 0, false
	}
	b.busyUntil += tx
	return b.busyUntil, true
}

// setRate changes the rate at now. What is queued stays queued, in bytes,
// and drains at the new rate; the queue keeps its size q.
func (b *bottleneck) setRate(now time.Duration, rate int64, q Queue) {
	if b.rate == 0 || rate <= 0 {
		return
	}
	if backlog := b.busyUntil - now; backlog > 0 {
		bits := float64(backlog) * float64(b.rate) / float64(time.Second)
		b.busyUntil = now + time.Duration(bits*float64(time.Second)/float64(rate))
	}
	b.rate, b.queue = rate, q.drain(rate)
}
