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
//
// Loss is judged reorderWindow late: a feedback judges the packet numbers
// that a higher one overtook at least reorderWindow before, so a datagram
// that comes up to that much out of order, as on a path that reorders, is
// not counted lost. Counted as it was seen missing, 15-20% of a stream
// through 30 +/- 10 ms of jitter read as loss late in frames, which the
// sender took for an overflowing queue (docs/benchmarks.md).
type feedbackState struct {
	last      time.Time   // when the previous feedback went out
	frames    FrameCounts // assembler totals at the previous feedback
	received  uint32      // datagrams that arrived in the interval
	bytes     uint32
	lastFrame uint32 // frame of the highest shard datagram
	haveLast  bool
	shards    uint32 // shard datagrams in the interval, for sampling
	lastShard int    // shard and datagrams of the highest shard datagram's frame
	lastTotal int

	// Packet numbers after judged, up to the highest, are remembered in a
	// ring: whether each arrived, and how late in its frame it is (or,
	// while missing, is thought to be: see onDatagram).
	started bool
	top     uint64 // the highest number counted
	judged  uint64 // numbers up to this are judged
	marks   [marks]mark
	newest  int       // index of the newest mark, which each new highest moves on
	opened  time.Time // when the newest mark was begun
	seen    [lossSlots / 64]uint64
	late    [lossSlots]uint8 // 0 early .. 255 late in its frame
	j       judgement

	msg     packetizer.Feedback
	arrived [packetizer.MaxArrivals]time.Time // arrival of msg.Arrivals[i]
	buf     []byte
}

// reorderWindow is how long a missing packet number has, after a higher
// one arrived, to come before it is judged lost. Twice the reordering of
// the jitter row (30 +/- 10 ms); TCP's RACK waits a quarter of the round
// trip.
const reorderWindow = 40 * time.Millisecond

// A mark is the highest packet number as of a time: every number below it
// had been overtaken by then. A new one is begun markEvery at most, so
// that the last marks span reorderWindow and more.
type mark struct {
	at      time.Time
	highest uint64
}

const (
	marks     = 16
	markEvery = 5 * time.Millisecond
)

// lossSlots is how many packet numbers past the last judged one a
// feedbackState remembers: at 40 Mb/s of 1200-byte datagrams about a
// second. Numbers that would fall out of it are judged early. Of a gap,
// at most gapSlots numbers are remembered one by one: the rest are lost
// at once, so a datagram costs at most that much work whatever its
// number.
const (
	lossSlots = 4096
	gapSlots  = 256
)

// maxCounted is the highest packet number the loss accounting takes: a
// sender counting from 1 at a million datagrams a second reaches it in
// 146,000 years, and no arithmetic on numbers up to it wraps.
const maxCounted = 1 << 62

// judgement is what the packet numbers judged since the last feedback
// came to.
type judgement struct {
	expected, received uint32
	runs               uint32  // runs of lost numbers begun
	tail               float64 // lost, weighed by how late in their frames
	tailSeen           uint32  // received in the second half of their frames
	lost               bool    // the last number judged was lost
}

// reset forgets everything: a new peer session.
func (f *feedbackState) reset() {
	buf := f.buf
	*f = feedbackState{buf: buf}
}

// onDatagram counts one datagram of the peer's session (any kind) that
// arrived at now.
func (f *feedbackState) onDatagram(h *packetizer.Header, size int, now time.Time) {
	f.received++
	f.bytes += uint32(size)
	p := h.Packet
	if p == 0 || p > maxCounted {
		return // no sender numbers so (they count from 1): not counted
	}
	if !f.started {
		f.started = true
		f.judged, f.top = p-1, p-1 // the numbers before the first are not expected
	}
	highest := f.top
	f.top = max(f.top, p)
	shard := h.Kind.IsShard()
	total := int(h.Data) + int(h.Parity)
	var late uint8
	if shard && 2*int(h.Shard) >= total {
		late = 255
	}
	switch {
	case p <= f.judged:
		// Judged lost already: too far out of order, or a duplicate.
	case p <= highest:
		f.mark(p, true, late) // out of order: no longer missing
	default:
		if p > highest+1 {
			f.missing(h, highest, p, shard, total)
		}
		f.mark(p, true, late)
		if now.Sub(f.opened) >= markEvery {
			f.newest, f.opened = (f.newest+1)%marks, now
		}
		f.marks[f.newest] = mark{at: now, highest: p}
	}
	if !shard {
		return
	}
	// Sampled: the first datagram of every frame and every sampleEvery-th
	// datagram. The first of a frame left the sender after a pause, so it
	// shows the standing queue rather than the frame's own burst.
	if !f.haveLast || h.Frame != f.lastFrame || f.shards%sampleEvery == 0 {
		f.sample(p, now)
	}
	if p > highest {
		f.lastFrame, f.lastShard, f.lastTotal, f.haveLast = h.Frame, int(h.Shard), total, true
	}
	f.shards++
}

// missing marks the numbers between highest and p missing, each with how
// late in its frame it would be. Loss late in frames (the second half of
// their datagrams) against loss early: a router queue that a frame's
// burst overflows drops late, random loss anywhere. Each missing number
// counts by its own position: before p in its frame, after the highest
// one received of the frame before, or (frames lost whole) as p's frame's
// layout would place them.
func (f *feedbackState) missing(h *packetizer.Header, highest, p uint64, shard bool, total int) {
	g := p - highest - 1
	var head, prev uint64 // in p's frame, and at the end of the one before
	if shard {
		head = g
		if f.haveLast && h.Frame != f.lastFrame {
			head = min(g, uint64(h.Shard))
			prev = min(g-head, uint64(max(f.lastTotal-1-f.lastShard, 0)))
		}
	}
	whole := uint8(lateShare(total)*255 + 0.5)
	if !shard {
		whole = 0
	}
	q := highest + 1
	if g > gapSlots {
		// Far more than the ring holds: the oldest are judged at once,
		// lost, as whole frames.
		n := g - gapSlots
		f.judgeTo(q - 1) // everything before the gap
		f.j.expected = uint32(min(uint64(f.j.expected)+n, 1<<32-1))
		if !f.j.lost {
			f.j.runs++
		}
		f.j.tail += float64(n) * float64(whole) / 255
		f.j.lost = true
		q += n
		f.judged = q - 1
	}
	for ; q < p; q++ {
		var w uint8
		switch k := q - highest - 1; {
		case k < prev:
			if 2*(f.lastShard+1+int(k)) >= f.lastTotal {
				w = 255
			}
		case k >= g-head:
			if pos := int(h.Shard) - int(g-k); 2*pos >= total && pos >= 0 {
				w = 255
			}
		default:
			w = whole
		}
		f.mark(q, false, w)
	}
}

// mark records whether number q arrived, and how late in its frame it is;
// a number about to leave the ring is judged first.
func (f *feedbackState) mark(q uint64, arrived bool, late uint8) {
	if q > f.judged+lossSlots {
		f.judgeTo(q - lossSlots)
	}
	i := q % lossSlots
	if arrived {
		f.seen[i/64] |= 1 << (i % 64)
	} else {
		f.seen[i/64] &^= 1 << (i % 64)
	}
	f.late[i] = late
}

// horizon is the highest packet number that was the highest
// reorderWindow or more before now: numbers up to it are judged. Marks
// are begun at least markEvery apart, so the one wanted is among the last
// reorderWindow/markEvery+2.
func (f *feedbackState) horizon(now time.Time) uint64 {
	for k := range marks {
		m := f.marks[(f.newest-k+marks)%marks]
		if m.at.IsZero() {
			break
		}
		if now.Sub(m.at) >= reorderWindow {
			return m.highest
		}
	}
	return f.judged
}

// judgeTo judges the numbers after judged up to x: received, or lost.
// Numbers the ring never held (further back than lossSlots from x) are
// lost.
func (f *feedbackState) judgeTo(x uint64) {
	j := &f.j
	x = min(x, maxCounted)
	if x > f.judged+lossSlots {
		n := x - lossSlots - f.judged
		j.expected = uint32(min(uint64(j.expected)+n, 1<<32-1))
		if !j.lost {
			j.runs++
		}
		j.lost = true
		f.judged += n
	}
	for f.judged < x && j.expected < 1<<32-1 {
		f.judged++
		i := f.judged % lossSlots
		j.expected++
		if f.seen[i/64]&(1<<(i%64)) != 0 {
			j.received++
			if f.late[i] == 255 {
				j.tailSeen++
			}
			j.lost = false
			continue
		}
		if !j.lost {
			j.runs++
		}
		j.lost = true
		j.tail += float64(f.late[i]) / 255
	}
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
// the assembler's frame outcomes so far. The packet numbers judged are
// those up to the highest of the previous feedback. The result is valid
// until the next call.
func (f *feedbackState) build(now time.Time, highest uint64, totals FrameCounts) []byte {
	m := &f.msg
	for i := range m.Arrivals[:m.N] {
		m.Arrivals[i].Age = max(0, now.Sub(f.arrived[i]))
	}
	if f.started {
		f.judgeTo(f.horizon(now))
	}
	j := &f.j
	m.Sent = now.UnixNano()
	m.Highest = highest
	m.Received = j.received
	m.Expected = j.expected
	m.Runs = j.runs
	m.TailLost = min(uint32(j.tail+0.5), j.expected-j.received)
	m.TailSeen = min(j.tailSeen, j.received)
	m.Bytes = f.bytes
	m.Interval = now.Sub(f.last)
	if f.last.IsZero() {
		m.Interval = feedbackEvery
	}
	d := func(a, b uint64) uint16 { return uint16(min(a-b, 1<<16-1)) }
	m.Delivered = d(totals.FramesDelivered, f.frames.FramesDelivered)
	m.Dropped = d(totals.FramesLate+totals.FramesIncomplete, f.frames.FramesLate+f.frames.FramesIncomplete)
	m.Lost = d(totals.FramesLost, f.frames.FramesLost)
	if uint32(m.N) > f.received {
		m.N = int(f.received)
	}
	f.buf = m.AppendTo(f.buf[:0])
	f.last, f.frames = now, totals
	f.received, f.bytes, f.shards = 0, 0, 0
	*j = judgement{lost: j.lost}
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
