// Package packetizer owns vstreamd's wire format and the two ends of the
// frame transport: the Packetizer splits an encoded frame into datagrams
// with Reed-Solomon parity, and the Assembler turns datagrams back into
// verified frames with bounded latency and bounded memory.
//
// # Wire format
//
// Every datagram starts with the same fixed 56-byte header, big-endian,
// followed by the payload. When encryption is on (a later layer), the header
// is the AEAD's associated data and an authentication tag follows the
// payload; that layer reserves room for it through Config.Overhead.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-------------------------------+---------------+---------------+
//	|          magic "VS"           |    version    |     kind      |  0
//	+-------------------------------+---------------+---------------+
//	|                   session id (64, random per start)           |  4
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                 packet number (64, per session)               | 12
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                    frame id (32, wrapping)                    | 20
//	+---------------------------------------------------------------+
//	|                    frame length in bytes                      | 24
//	+---------------------------------------------------------------+
//	|                capture time (64, Unix nanoseconds)            | 28
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                  CRC-32C of the whole frame                   | 36
//	+-------------------------------+-------------------------------+
//	|          block index          |          block count          | 40
//	+-------------------------------+-------------------------------+
//	|   shard index in its block    |   data shards in the block    | 44
//	+-------------------------------+-------------------------------+
//	|  parity shards in the block   |     shard size in bytes       | 48
//	+-------------------------------+-------------------------------+
//	|        send delay: capture to sending, microseconds           | 52
//	+---------------------------------------------------------------+
//	|  payload: one shard (data or parity), or a control message    | 56
//
// The kind byte's high bit says the payload is sealed: encrypted, with an
// authentication tag after it; the next bit is the key phase, which tells a
// receiver which of its two newest traffic keys sealed the datagram (it
// flips at every rekey; see daemon/session); the low six bits are the kind.
//
// Data and parity datagrams fill every field; a shard index below the data
// count is a data shard, the rest are parity. Control datagrams (hello,
// report, bye, feedback, recover, the reserved retransmit request, and the
// session layer's handshake messages) set every frame field, from frame id
// to send delay, to zero; their payload is defined by the control messages
// in this package.
package packetizer

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vstreamd/vstreamd/fec"
)

// The header layout, declared once. Offsets are in bytes from the start of
// the datagram; every other file uses these names.
const (
	Magic   = 0x5653 // "VS"
	Version = 1

	offMagic     = 0  // 2 bytes
	offVersion   = 2  // 1 byte
	offKind      = 3  // 1 byte
	offSession   = 4  // 8 bytes
	offPacket    = 12 // 8 bytes
	offFrame     = 20 // 4 bytes
	offFrameLen  = 24 // 4 bytes
	offCaptured  = 28 // 8 bytes
	offCRC       = 36 // 4 bytes
	offBlock     = 40 // 2 bytes
	offBlocks    = 42 // 2 bytes
	offShard     = 44 // 2 bytes
	offData      = 46 // 2 bytes
	offParity    = 48 // 2 bytes
	offShardSize = 50 // 2 bytes
	offDelay     = 52 // 4 bytes

	kindSealed = 0x80 // in the kind byte: the payload is sealed
	kindPhase  = 0x40 // in the kind byte: the key phase (only when sealed)
	kindMask   = 0x3f

	// HeaderLen is the size of the fixed header.
	HeaderLen = 56

	// MaxDatagram is the largest UDP payload over IPv4.
	MaxDatagram = 65507
	// MinDatagram is the smallest datagram size a sender may be configured
	// with: the IPv4 minimum reassembly size, 576, less IP and UDP headers.
	MinDatagram = 548
	// DefaultDatagram keeps datagrams unfragmented on internet paths.
	DefaultDatagram = 1200
	// MaxShardSize is the largest shard the 16-bit size field can describe.
	MaxShardSize = 1<<16 - 1
)

// Kind is the type of a datagram.
type Kind uint8

// Datagram kinds.
const (
	KindData   Kind = 1 // a data shard of a frame
	KindParity Kind = 2 // a parity shard of a frame
	KindHello  Kind = 3 // hello/keepalive: presence, session, clock samples
	KindReport Kind = 4 // receiver report: loss, jitter, late frames
	KindNack   Kind = 5 // retransmit request: reserved, not sent by this version
	KindBye    Kind = 6 // the sender is stopping
	// KindFeedback is the receiver's frequent report for congestion
	// control: arrival times and loss of the last tens of milliseconds.
	KindFeedback Kind = 7
	KindRecover  Kind = 8 // the receiver needs a keyframe (see Recover)
	// KindHandshakeInit and KindHandshakeResp are the session layer's
	// Noise handshake messages; their payloads are declared in
	// daemon/session/wire.go. They are always sealed and never carry a key
	// phase.
	KindHandshakeInit Kind = 9
	KindHandshakeResp Kind = 10
	kindEnd           Kind = 11
)

func (k Kind) String() string {
	switch k {
	case KindData:
		return "data"
	case KindParity:
		return "parity"
	case KindHello:
		return "hello"
	case KindReport:
		return "report"
	case KindNack:
		return "nack"
	case KindBye:
		return "bye"
	case KindFeedback:
		return "feedback"
	case KindRecover:
		return "recover"
	case KindHandshakeInit:
		return "handshake-init"
	case KindHandshakeResp:
		return "handshake-resp"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsShard reports whether k carries a frame shard.
func (k Kind) IsShard() bool { return k == KindData || k == KindParity }

// Header is a parsed datagram header. The zero value is not a valid header.
type Header struct {
	Kind      Kind
	Sealed    bool   // the payload is encrypted and followed by a tag
	KeyPhase  bool   // which traffic key sealed it (only when Sealed)
	Session   uint64 // the sender's random session id
	Packet    uint64 // the sender's packet number in this session
	Frame     uint32 // frame id, wrapping
	FrameLen  uint32 // frame length in bytes
	Captured  int64  // capture time, Unix nanoseconds
	CRC       uint32 // CRC-32C (Castagnoli) of the frame
	Block     uint16 // block index in the frame
	Blocks    uint16 // blocks in the frame
	Shard     uint16 // shard index in the block
	Data      uint16 // data shards in the block
	Parity    uint16 // parity shards in the block
	ShardSize uint16 // bytes in every shard of the frame
	// SendDelay is the time from capture to the frame's first datagram
	// (encoding and queueing), in microseconds, so a receiver can tell the
	// transport's share of the latency from the whole.
	SendDelay uint32
}

// AppendTo appends the encoded header to b and returns the extended slice.
func (h *Header) AppendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, Magic)
	kind := byte(h.Kind) & kindMask
	if h.Sealed {
		kind |= kindSealed
		if h.KeyPhase {
			kind |= kindPhase
		}
	}
	b = append(b, Version, kind)
	b = binary.BigEndian.AppendUint64(b, h.Session)
	b = binary.BigEndian.AppendUint64(b, h.Packet)
	b = binary.BigEndian.AppendUint32(b, h.Frame)
	b = binary.BigEndian.AppendUint32(b, h.FrameLen)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Captured))
	b = binary.BigEndian.AppendUint32(b, h.CRC)
	b = binary.BigEndian.AppendUint16(b, h.Block)
	b = binary.BigEndian.AppendUint16(b, h.Blocks)
	b = binary.BigEndian.AppendUint16(b, h.Shard)
	b = binary.BigEndian.AppendUint16(b, h.Data)
	b = binary.BigEndian.AppendUint16(b, h.Parity)
	b = binary.BigEndian.AppendUint16(b, h.ShardSize)
	return binary.BigEndian.AppendUint32(b, h.SendDelay)
}

// PutPacket overwrites the packet number of an encoded header in place.
func PutPacket(dgram []byte, packet uint64) {
	binary.BigEndian.PutUint64(dgram[offPacket:offPacket+8], packet)
}

// SetKeyPhase sets or clears the key phase bit of an encoded header in
// place; the session layer calls it just before sealing.
func SetKeyPhase(dgram []byte, phase bool) {
	if phase {
		dgram[offKind] |= kindPhase
	} else {
		dgram[offKind] &^= kindPhase
	}
}

// PacketOf reads the packet number of an encoded header; dgram must hold a
// whole header.
func PacketOf(dgram []byte) uint64 {
	return binary.BigEndian.Uint64(dgram[offPacket : offPacket+8])
}

// ParseHeader decodes and checks the header at the start of b. It never
// panics and never allocates; on failure it returns one of the errors
// below (match them with errors.Is). The payload is b[HeaderLen:].
//
// It checks everything a single datagram can show: magic, version, kind,
// and for shards a geometry that a sender could have produced. Checks that
// need state (frame size limits, agreement with other datagrams of the same
// frame, payload length against the shard size) belong to the Assembler.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrShort
	}
	if binary.BigEndian.Uint16(b[offMagic:]) != Magic {
		return Header{}, ErrMagic
	}
	if b[offVersion] != Version {
		return Header{}, ErrVersion
	}
	h := Header{
		Kind:      Kind(b[offKind] & kindMask),
		Sealed:    b[offKind]&kindSealed != 0,
		KeyPhase:  b[offKind]&kindPhase != 0,
		Session:   binary.BigEndian.Uint64(b[offSession:]),
		Packet:    binary.BigEndian.Uint64(b[offPacket:]),
		Frame:     binary.BigEndian.Uint32(b[offFrame:]),
		FrameLen:  binary.BigEndian.Uint32(b[offFrameLen:]),
		Captured:  int64(binary.BigEndian.Uint64(b[offCaptured:])),
		CRC:       binary.BigEndian.Uint32(b[offCRC:]),
		Block:     binary.BigEndian.Uint16(b[offBlock:]),
		Blocks:    binary.BigEndian.Uint16(b[offBlocks:]),
		Shard:     binary.BigEndian.Uint16(b[offShard:]),
		Data:      binary.BigEndian.Uint16(b[offData:]),
		Parity:    binary.BigEndian.Uint16(b[offParity:]),
		ShardSize: binary.BigEndian.Uint16(b[offShardSize:]),
		SendDelay: binary.BigEndian.Uint32(b[offDelay:]),
	}
	if h.Kind == 0 || h.Kind >= kindEnd || h.KeyPhase && !h.Sealed {
		return Header{}, ErrKind
	}
	if !h.Kind.IsShard() {
		if h.Frame|h.FrameLen|h.CRC != 0 || h.Captured != 0 ||
			h.Block|h.Blocks|h.Shard|h.Data|h.Parity|h.ShardSize != 0 || h.SendDelay != 0 {
			return Header{}, ErrGeometry
		}
		return h, nil
	}
	if err := h.checkShard(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// checkShard checks a shard header's geometry against what fec.Plan can
// produce, without allocating.
func (h *Header) checkShard() error {
	k, m, s := int(h.Data), int(h.Parity), int(h.Shard)
	if fec.CheckBlock(k, m) != nil || s >= k+m || (s < k) != (h.Kind == KindData) || h.Block >= h.Blocks {
		return ErrGeometry
	}
	l, err := fec.Received(int(h.FrameLen), int(h.ShardSize), int(h.Blocks))
	if err != nil {
		return ErrGeometry
	}
	if _, want := l.Block(int(h.Block)); want != k {
		return ErrGeometry
	}
	return nil
}

// Reason names why a datagram was rejected; status shows a count per reason.
type Reason uint8

// Rejection reasons.
const (
	ReasonShort        Reason = iota // shorter than a header
	ReasonMagic                      // not a vstreamd datagram
	ReasonVersion                    // another protocol version
	ReasonKind                       // unknown or unexpected kind
	ReasonGeometry                   // header fields no sender produces
	ReasonTooLarge                   // frame larger than this receiver accepts
	ReasonPayload                    // payload length differs from the shard size
	ReasonInconsistent               // disagrees with earlier datagrams of its frame
	ReasonStaleSession               // from a session the peer already replaced
	ReasonFrameJump                  // frame id implausibly far ahead
	ReasonBudget                     // no buffer space left for its frame
	NumReasons
)

func (r Reason) String() string {
	switch r {
	case ReasonShort:
		return "short"
	case ReasonMagic:
		return "magic"
	case ReasonVersion:
		return "version"
	case ReasonKind:
		return "kind"
	case ReasonGeometry:
		return "geometry"
	case ReasonTooLarge:
		return "too-large"
	case ReasonPayload:
		return "payload"
	case ReasonInconsistent:
		return "inconsistent"
	case ReasonStaleSession:
		return "stale-session"
	case ReasonFrameJump:
		return "frame-jump"
	case ReasonBudget:
		return "budget"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Error is a rejected datagram. The package's sentinel errors are *Error
// values; compare with errors.Is.
type Error struct {
	Reason Reason
	msg    string
}

func (e *Error) Error() string { return e.msg }

// Sentinel errors, one per Reason.
var (
	ErrShort        = &Error{ReasonShort, "packetizer: datagram shorter than the header"}
	ErrMagic        = &Error{ReasonMagic, "packetizer: bad magic: not a vstreamd datagram"}
	ErrVersion      = &Error{ReasonVersion, "packetizer: unsupported protocol version"}
	ErrKind         = &Error{ReasonKind, "packetizer: unknown or unexpected datagram kind"}
	ErrGeometry     = &Error{ReasonGeometry, "packetizer: header fields describe no valid shard"}
	ErrTooLarge     = &Error{ReasonTooLarge, "packetizer: frame larger than the configured maximum"}
	ErrPayload      = &Error{ReasonPayload, "packetizer: payload length differs from the shard size"}
	ErrInconsistent = &Error{ReasonInconsistent, "packetizer: datagram disagrees with earlier datagrams of its frame"}
	ErrStaleSession = &Error{ReasonStaleSession, "packetizer: datagram from a replaced session"}
	ErrFrameJump    = &Error{ReasonFrameJump, "packetizer: frame id too far ahead"}
	ErrBudget       = &Error{ReasonBudget, "packetizer: reassembly buffer budget exhausted"}
)

// ReasonOf returns the rejection reason carried by err, and false if err is
// not a rejection from this package.
func ReasonOf(err error) (Reason, bool) {
	if e, ok := err.(*Error); ok { // the common, allocation-free case
		return e.Reason, true
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason, true
	}
	return 0, false
}
