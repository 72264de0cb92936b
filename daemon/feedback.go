package daemon

import (
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// feedbackEvery is how often, at most, a receiving endpoint sends feedback
// for the sender's congestion controller: a few frames' worth, often
// enough to react within a round trip or two. Feedback goes out at the
// receive loop's first turn after feedbackEvery, which the peer's next
// datagrams bring (at 30 fps every second frame: 66 ms); the loop wakes
// for it by itself only after feedbackLatest without one. A wake-up of
// its own would cost both endpoints a thread wake-up 20 times a second
// (docs/benchmarks.md). Each feedback carries its own interval.
const (
	feedbackEvery  = 50 * time.Millisecond
	feedbackLatest = 90 * time.Millisecond
)

// feedbackState is what the receive loop gathers between two feedbacks. It
// is owned by the receive loop; it allocates nothing.
type feedbackState struct {
	last      time.Time // when the previous feedback went out
	highest   uint64    // highest packet number at the previous feedback
	received  uint32
	runs      uint32
	bytes     uint32
	frames    FrameCounts // assembler totals at the previous feedback
	lastFrame uint32      // frame of the newest shard datagram
	haveLast  bool
	shards    uint32  // shard datagrams in the interval, for sampling
	tail      float64 // missing packet numbers late in their frames
	lastShard int     // shard and datagrams of the newest shard datagram's frame
	lastTotal int
	tailSeen  uint32 // datagrams received in the second half of their frame
	msg       packetizer.Feedback
	arrived   [packetizer.MaxArrivals]time.Time // arrival of msg.Arrivals[i]
	buf       []byte
}

// reset forgets everything: a new peer session.
func (f *feedbackState) reset() {
	buf := f.buf
	*f = feedbackState{buf: buf}
}

// onDatagram counts one datagram of the peer's session (any kind) that
// arrived at now; highest is the peer's highest packet number before it.
func (f *feedbackState) onDatagram(h *packetizer.Header, size int, highest uint64, now time.Time) {
	f.received++
	f.bytes += uint32(size)
	gap := highest != 0 && h.Packet > highest+1
	if gap {
		f.runs++
	}
	if !h.Kind.IsShard() {
		return
	}
	// Loss late in frames (the second half of their datagrams) against
	// loss early: a router queue that a frame's burst overflows drops
	// late, random loss anywhere. Each missing datagram counts by its own
	// position: before this one in its frame, after the last one received
	// of the frame before, or (frames lost whole) as this frame's layout
	// would place them.
	total := int(h.Data) + int(h.Parity)
	if 2*int(h.Shard) >= total {
		f.tailSeen++
	}
	if gap {
		g := float64(min(h.Packet-highest-1, 1<<20))
		s := float64(h.Shard)
		head := g
		if f.haveLast && h.Frame != f.lastFrame {
			head = min(g, s)
			prev := min(g-head, float64(f.lastTotal-1-f.lastShard)) // the end of the frame before
			f.tail += lateIn(float64(f.lastShard)+1, prev, f.lastTotal)
			whole := g - head - prev
			f.tail += whole * lateShare(total)
		}
		f.tail += lateIn(s-head, head, total)
	}
	// Sampled: the first datagram of every frame and every sampleEvery-th
	// datagram. The first of a frame left the sender after a pause, so it
	// shows the standing queue rather than the frame's own burst.
	if !f.haveLast || h.Frame != f.lastFrame || f.shards%sampleEvery == 0 {
		f.sample(h.Packet, now)
	}
	f.lastFrame, f.lastShard, f.lastTotal, f.haveLast = h.Frame, int(h.Shard), total, true
	f.shards++
}

// lateIn is how many of n positions from first on, in a frame of total
// datagrams, are late: in its second half (2*position >= total).
func lateIn(first, n float64, total int) float64 {
	half := float64((total + 1) / 2)
	return max(0, first+n-max(first, half))
}

// lateShare is the share of late positions in a frame of total datagrams.
func lateShare(total int) float64 {
	if total <= 0 {
		return 0
	}
	return lateIn(0, float64(total), total) / float64(total)
}

// sampleEvery is how often a datagram's arrival is sampled besides the
// first of each frame.
const sampleEvery = 4

// sample keeps the arrival of a datagram; when full, the oldest sample
// gives way.
func (f *feedbackState) sample(pkt uint64, at time.Time) {
	m := &f.msg
	if m.N == packetizer.MaxArrivals {
		copy(m.Arrivals[:], m.Arrivals[1:])
		copy(f.arrived[:], f.arrived[1:])
		m.N--
	}
	m.Arrivals[m.N].Packet, f.arrived[m.N] = pkt, at
	m.N++
}

// build encodes the feedback for the interval ending at now and starts the
// next interval. highest is the peer's highest packet number; totals are
// the assembler's frame outcomes so far. The result is valid until the
// next call.
func (f *feedbackState) build(now time.Time, highest uint64, totals FrameCounts) []byte {
	m := &f.msg
	for i := range m.Arrivals[:m.N] {
		m.Arrivals[i].Age = max(0, now.Sub(f.arrived[i]))
	}
	expected := uint64(0)
	if f.highest != 0 && highest > f.highest {
		expected = highest - f.highest
	} else if f.highest == 0 {
		expected = uint64(f.received)
	}
	m.Sent = now.UnixNano()
	m.Highest = highest
	m.Received = f.received
	m.Expected = uint32(min(expected, 1<<32-1))
	m.Runs = f.runs
	m.TailLost = min(uint32(f.tail+0.5), m.Expected-min(m.Received, m.Expected))
	m.TailSeen = min(f.tailSeen, m.Received)
	m.Bytes = f.bytes
	m.Interval = now.Sub(f.last)
	if f.last.IsZero() {
		m.Interval = feedbackEvery
	}
	d := func(a, b uint64) uint16 { return uint16(min(a-b, 1<<16-1)) }
	m.Delivered = d(totals.FramesDelivered, f.frames.FramesDelivered)
	m.Dropped = d(totals.FramesLate+totals.FramesIncomplete, f.frames.FramesLate+f.frames.FramesIncomplete)
	m.Lost = d(totals.FramesLost, f.frames.FramesLost)
	if uint32(m.N) > m.Received {
		m.N = int(m.Received)
	}
	f.buf = m.AppendTo(f.buf[:0])
	f.last, f.highest, f.frames = now, highest, totals
	f.received, f.runs, f.bytes, f.shards, f.tail, f.tailSeen = 0, 0, 0, 0, 0, 0
	m.N = 0
	return f.buf
}

// sendTimes remembers when recent datagrams left, by packet number, so
// that feedback can be turned into one-way delays. The send loop records;
// the receive loop looks up. Each slot is a packet number and a time,
// written time first and read packet-time-packet, so a reader never pairs
// a packet with another's time.
type sendTimes struct {
	pkt [sendTimeSlots]atomic.Uint64
	at  [sendTimeSlots]atomic.Int64
}

// sendTimeSlots covers about a second at 40 Mb/s of 1200-byte datagrams.
const sendTimeSlots = 4096

func (s *sendTimes) record(pkt uint64, at int64) {
	i := pkt % sendTimeSlots
	s.at[i].Store(at)
	s.pkt[i].Store(pkt)
}

func (s *sendTimes) lookup(pkt uint64) (int64, bool) {
	i := pkt % sendTimeSlots
	if s.pkt[i].Load() != pkt {
		return 0, false
	}
	at := s.at[i].Load()
	if s.pkt[i].Load() != pkt {
		return 0, false
	}
	return at, true
}
