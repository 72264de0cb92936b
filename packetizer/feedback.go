package packetizer

import (
	"encoding/binary"
	"time"
)

// Feedback (KindFeedback) is what a receiving endpoint tells the sender
// every few tens of milliseconds so that the sender's congestion controller
// can steer: how many datagrams arrived and how many the packet numbers say
// were sent, in how many runs the missing ones were lost, how many bytes
// arrived, what became of the frames, and when some datagrams arrived, so
// that the sender can pair each with the moment it sent it and follow the
// one-way delay. All integers are big-endian; counts are for the interval
// since the previous feedback, except that loss is judged late: received,
// expected, runs, tail lost and tail seen are about the packet numbers not
// judged before that a higher one overtook a while before (the receiver's
// reorder window, 40 ms), so that a datagram that comes out of order is
// not counted lost.
//
//	 0  sent        8  receiver's wall clock when sending, Unix ns
//	 8  highest     8  highest packet number received so far
//	16  received    4  of the numbers judged, those received (a receiver
//	                   before loss was judged late counted what arrived in
//	                   the interval, which could exceed expected: the
//	                   sender takes at most expected)
//	20  expected    4  packet numbers judged
//	24  runs        4  runs of missing packet numbers (loss bursts)
//	28  bytes       4  datagram bytes received
//	32  interval    4  interval length, microseconds
//	36  delivered   2  frames delivered
//	38  dropped     2  frames dropped as late or incomplete
//	40  lost        2  frames never seen
//	42  samples     2  arrival samples that follow, 0..MaxArrivals
//	44  tail lost   4  of the missing packet numbers, those in gaps that
//	                   end in the second half of a frame's datagrams or
//	                   span the end of a frame: a router queue a frame's
//	                   burst overflows drops there, random loss anywhere
//	48  tail seen   4  datagrams received in the second half of their frame,
//	                   so the sender can compare the two halves' loss rates
//	52  samples x 12:
//	     0  packet  8  packet number of a datagram received
//	     8  age     4  microseconds from its arrival to "sent"
const (
	// FeedbackLen is the length of a feedback payload without samples.
	FeedbackLen = 52
	// ArrivalLen is the length of one arrival sample.
	ArrivalLen = 12
	// MaxArrivals is the most arrival samples one feedback carries.
	MaxArrivals = 32
	// MaxFeedbackLen is the length of a feedback payload with MaxArrivals
	// samples.
	MaxFeedbackLen = FeedbackLen + MaxArrivals*ArrivalLen

	fbSent      = 0
	fbHighest   = 8
	fbReceived  = 16
	fbExpected  = 20
	fbRuns      = 24
	fbBytes     = 28
	fbInterval  = 32
	fbDelivered = 36
	fbDropped   = 38
	fbLost      = 40
	fbSamples   = 42
	fbTail      = 44
	fbTailSeen  = 48

	arrPacket = 0
	arrAge    = 8
)

// Arrival is one datagram's arrival time at the receiver: the packet
// number, and how long before the feedback was sent it arrived.
type Arrival struct {
	Packet uint64
	Age    time.Duration // microsecond resolution on the wire
}

// Feedback is the payload of a KindFeedback datagram.
type Feedback struct {
	Sent      int64 // Unix ns, receiver's clock
	Highest   uint64
	Received  uint32
	Expected  uint32
	Runs      uint32
	Bytes     uint32
	Interval  time.Duration // microsecond resolution on the wire
	Delivered uint16
	Dropped   uint16
	Lost      uint16
	TailLost  uint32
	TailSeen  uint32
	N         int // arrival samples used in Arrivals
	Arrivals  [MaxArrivals]Arrival
}

// Samples returns the arrival samples.
func (m *Feedback) Samples() []Arrival { return m.Arrivals[:m.N] }

// AppendTo appends the encoded feedback to b. Values that do not fit their
// fields are saturated; N is clamped to MaxArrivals.
func (m *Feedback) AppendTo(b []byte) []byte {
	n := max(0, min(m.N, MaxArrivals))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Sent))
	b = binary.BigEndian.AppendUint64(b, m.Highest)
	for _, v := range [...]uint32{m.Received, m.Expected, m.Runs, m.Bytes, micros32(m.Interval)} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	for _, v := range [...]uint16{m.Delivered, m.Dropped, m.Lost, uint16(n)} {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	b = binary.BigEndian.AppendUint32(b, m.TailLost)
	b = binary.BigEndian.AppendUint32(b, m.TailSeen)
	for _, a := range m.Arrivals[:n] {
		b = binary.BigEndian.AppendUint64(b, a.Packet)
		b = binary.BigEndian.AppendUint32(b, micros32(a.Age))
	}
	return b
}

// micros32 is d in microseconds, saturated to 0..2^32-1.
func micros32(d time.Duration) uint32 {
	return uint32(min(max(d.Microseconds(), 0), 1<<32-1))
}

// ParseFeedback decodes a feedback payload into m. It checks the length
// against the sample count; the values themselves are the receiver's word,
// which the sender clamps before use. It does not allocate.
func ParseFeedback(p []byte, m *Feedback) error {
	if len(p) < FeedbackLen {
		return ErrControl
	}
	n := int(binary.BigEndian.Uint16(p[fbSamples:]))
	if n > MaxArrivals || len(p) != FeedbackLen+n*ArrivalLen {
		return ErrControl
	}
	u32 := func(off int) uint32 { return binary.BigEndian.Uint32(p[off:]) }
	u16 := func(off int) uint16 { return binary.BigEndian.Uint16(p[off:]) }
	*m = Feedback{
		Sent:      int64(binary.BigEndian.Uint64(p[fbSent:])),
		Highest:   binary.BigEndian.Uint64(p[fbHighest:]),
		Received:  u32(fbReceived),
		Expected:  u32(fbExpected),
		Runs:      u32(fbRuns),
		Bytes:     u32(fbBytes),
		Interval:  time.Duration(u32(fbInterval)) * time.Microsecond,
		Delivered: u16(fbDelivered),
		Dropped:   u16(fbDropped),
		Lost:      u16(fbLost),
		TailLost:  u32(fbTail),
		TailSeen:  u32(fbTailSeen),
		N:         n,
	}
	for i := range n {
		s := p[FeedbackLen+i*ArrivalLen:]
		m.Arrivals[i] = Arrival{
			Packet: binary.BigEndian.Uint64(s[arrPacket:]),
			Age:    time.Duration(binary.BigEndian.Uint32(s[arrAge:])) * time.Microsecond,
		}
	}
	return nil
}
