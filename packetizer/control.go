package packetizer

import (
	"encoding/binary"
	"errors"
)

// Control message payloads, declared once like the header. A control
// datagram is a header of kind KindHello, KindReport, KindBye or KindRecover followed by
// the payload below; all integers are big-endian.
//
// Hello (KindHello), 40 bytes, sent a few times a second by each endpoint:
//
//	 0  flags       4  HelloSends | HelloReceives | HelloEncrypted
//	 4  reserved    4  zero
//	 8  sent        8  sender's wall clock at sending, Unix ns
//	16  echo sent   8  "sent" of the last hello received from the peer (0: none)
//	24  echo held   8  ns between receiving that hello and sending this one
//	32  peer        8  session id of the peer that hello came from
//
// Report (KindReport), 88 bytes, sent once a second by a receiving endpoint
// about the stream it receives; all counts are totals for the sender's
// current session:
//
//	 0  delivered   8  frames delivered
//	 8  recovered   8  of which needed parity
//	16  late        8  frames dropped as late
//	24  incomplete  8  frames dropped at their deadline
//	32  lost        8  frames never seen
//	40  corrupt     8  frames failing their CRC
//	48  packets     8  shard datagrams received
//	56  highest     8  highest packet number received
//	64  loss ppm    4  datagram loss over the last seconds, parts per million
//	68  p50 us      4  one-way latency percentiles, microseconds
//	72  p95 us      4
//	76  p99 us      4
//	80  invalid     8  datagrams rejected
//
// Bye (KindBye) has an empty payload.
//
// Recover (KindRecover), 4 bytes, sent by a receiver that cannot show the
// stream until a recovery point (an H.264 IDR) arrives: after a lost, late
// or undecodable frame, or on joining. It repeats the request, a few times
// a second at most, until one arrives:
//
//	0  after       4  frame id: the recovery point must come after this
//	                  frame (the newest frame the receiver has seen)
const (
	HelloLen   = 40
	ReportLen  = 88
	RecoverLen = 4

	helloFlags    = 0
	helloReserved = 4
	helloSent     = 8
	helloEcho     = 16
	helloHeld     = 24
	helloPeer     = 32

	repDelivered  = 0
	repRecovered  = 8
	repLate       = 16
	repIncomplete = 24
	repLost       = 32
	repCorrupt    = 40
	repPackets    = 48
	repHighest    = 56
	repLoss       = 64
	repP50        = 68
	repP95        = 72
	repP99        = 76
	repInvalid    = 80
)

// Hello flags.
const (
	HelloSends     uint32 = 1 << 0 // the endpoint sends video
	HelloReceives  uint32 = 1 << 1 // the endpoint shows video
	HelloEncrypted uint32 = 1 << 2 // the endpoint encrypts
	helloKnown            = HelloSends | HelloReceives | HelloEncrypted
)

// ErrControl reports a control payload of the wrong length or with unknown
// flags or nonzero reserved bytes.
var ErrControl = errors.New("packetizer: malformed control message")

// Hello is the payload of a KindHello datagram.
type Hello struct {
	Flags    uint32
	Sent     int64  // Unix ns
	EchoSent int64  // Unix ns, 0 if no hello was received yet
	EchoHeld int64  // ns
	Peer     uint64 // session the echoed hello came from
}

// AppendTo appends the encoded hello to b.
func (m *Hello) AppendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, m.Flags)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Sent))
	b = binary.BigEndian.AppendUint64(b, uint64(m.EchoSent))
	b = binary.BigEndian.AppendUint64(b, uint64(m.EchoHeld))
	return binary.BigEndian.AppendUint64(b, m.Peer)
}

// ParseHello decodes a hello payload.
func ParseHello(p []byte) (Hello, error) {
	if len(p) != HelloLen {
		return Hello{}, ErrControl
	}
	m := Hello{
		Flags:    binary.BigEndian.Uint32(p[helloFlags:]),
		Sent:     int64(binary.BigEndian.Uint64(p[helloSent:])),
		EchoSent: int64(binary.BigEndian.Uint64(p[helloEcho:])),
		EchoHeld: int64(binary.BigEndian.Uint64(p[helloHeld:])),
		Peer:     binary.BigEndian.Uint64(p[helloPeer:]),
	}
	if m.Flags&^helloKnown != 0 || binary.BigEndian.Uint32(p[helloReserved:]) != 0 || m.EchoHeld < 0 {
		return Hello{}, ErrControl
	}
	return m, nil
}

// Report is the payload of a KindReport datagram.
type Report struct {
	Delivered, Recovered, Late, Incomplete, Lost, Corrupt uint64
	Packets, Highest                                      uint64
	LossPPM                                               uint32
	P50, P95, P99                                         uint32 // microseconds
	Invalid                                               uint64
}

// AppendTo appends the encoded report to b.
func (m *Report) AppendTo(b []byte) []byte {
	for _, v := range [...]uint64{m.Delivered, m.Recovered, m.Late, m.Incomplete, m.Lost, m.Corrupt, m.Packets, m.Highest} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	for _, v := range [...]uint32{m.LossPPM, m.P50, m.P95, m.P99} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return binary.BigEndian.AppendUint64(b, m.Invalid)
}

// ParseReport decodes a report payload.
func ParseReport(p []byte) (Report, error) {
	if len(p) != ReportLen {
		return Report{}, ErrControl
	}
	u64 := func(off int) uint64 { return binary.BigEndian.Uint64(p[off:]) }
	u32 := func(off int) uint32 { return binary.BigEndian.Uint32(p[off:]) }
	m := Report{
		Delivered: u64(repDelivered), Recovered: u64(repRecovered), Late: u64(repLate),
		Incomplete: u64(repIncomplete), Lost: u64(repLost), Corrupt: u64(repCorrupt),
		Packets: u64(repPackets), Highest: u64(repHighest),
		LossPPM: u32(repLoss), P50: u32(repP50), P95: u32(repP95), P99: u32(repP99),
		Invalid: u64(repInvalid),
	}
	if m.LossPPM > 1e6 {
		return Report{}, ErrControl
	}
	return m, nil
}

// Recover is the payload of a KindRecover datagram.
type Recover struct {
	// After is the newest frame id the receiver has seen; a keyframe sent
	// after it answers the request.
	After uint32
}

// AppendTo appends the encoded request to b.
func (m *Recover) AppendTo(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, m.After)
}

// ParseRecover decodes a recover payload.
func ParseRecover(p []byte) (Recover, error) {
	if len(p) != RecoverLen {
		return Recover{}, ErrControl
	}
	return Recover{After: binary.BigEndian.Uint32(p)}, nil
}
