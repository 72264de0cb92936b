package session

import (
	"encoding/binary"
	"errors"
	"time"
)

// The handshake messages, declared once. Each is a datagram: the common
// 56-byte header (packetizer/wire.go: kind KindHandshakeInit or
// KindHandshakeResp, sealed bit set, key phase clear, the sender's session
// id, the latest packet number the sender used (not a new one), every
// frame field zero)
// followed by the payload below. Integers are big-endian.
//
// Init (KindHandshakeInit, 88 bytes after the header), the initiator's
// Noise NNpsk0 message "-> psk, e":
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+---------------------------------------------------------------+
//	|          index (32, random per handshake, in the clear)        |  0
//	+---------------------------------------------------------------+
//	|       initiator's ephemeral X25519 public key (256 bits)       |  4
//	~                                                               ~
//	+---------------------------------------------------------------+
//	|   sealed under the handshake key (which mixes in the PSK):    | 36
//	|     timestamp: TAI64N (64-bit 2^62+seconds, 32-bit ns)  12    |
//	|     initiator's session id                               8    |
//	|     the header's packet number                           8    |
//	|     the index again (so it cannot be altered)            4    |
//	|     flags: bit 0 = key phase of the new keys             1    |
//	|     reserved, zero                                       3    |
//	|   + 16-byte AEAD tag                                          |
//	+---------------------------------------------------------------+
//
// Resp (KindHandshakeResp, 80 bytes after the header), the responder's
// "<- e, ee":
//
//	+---------------------------------------------------------------+
//	|        index: the initiator's, echoed (in the clear)          |  0
//	+---------------------------------------------------------------+
//	|       responder's ephemeral X25519 public key (256 bits)       |  4
//	~                                                               ~
//	+---------------------------------------------------------------+
//	|   sealed under the key from ee and the PSK:                   | 36
//	|     timestamp: TAI64N                                   12    |
//	|     responder's session id                               8    |
//	|     the header's packet number                           8    |
//	|   + 16-byte AEAD tag                                          |
//	+---------------------------------------------------------------+
//
// The packet numbers are authenticated here because every datagram a side
// seals with the new keys has a higher one (one counter numbers all its
// datagrams, and the header carries the latest): a datagram claiming those
// keys with a number at or below it is a recording of older keys. The responder's timestamp tells an
// initiator that has just restarted how new the peer's clock is, so the
// peer's recorded Inits are refused from then on.
//
// The response is shorter than the message it answers, so the handshake
// cannot amplify traffic toward a forged source address.
const (
	indexLen = 4
	pubLen   = 32
	tagLen   = 16 // every AEAD of the cipher suite

	tsLen = 12 // TAI64N

	// Init's sealed payload.
	initTS      = 0
	initSession = 12
	initPacket  = 20
	initIndex   = 28
	initFlags   = 32
	initPlain   = 36

	// Resp's sealed payload.
	respTS      = 0
	respSession = 12
	respPacket  = 20
	respPlain   = 28

	// InitLen and RespLen are the payload lengths after the header.
	InitLen = indexLen + pubLen + initPlain + tagLen // 88
	RespLen = indexLen + pubLen + respPlain + tagLen // 80

	flagPhase = 1 << 0
)

// ErrHandshake is a handshake message of the wrong length, or whose
// decrypted payload is malformed.
var ErrHandshake = errors.New("session: malformed handshake message")

// wireMsg is the clear part of a handshake message: the index, and the
// Noise message (ephemeral key and sealed payload) that follows it.
type wireMsg struct {
	index uint32
	noise []byte // aliases the datagram
}

// parseInit splits an Init payload (after the header).
func parseInit(p []byte) (wireMsg, error) { return parseMsg(p, InitLen) }

// parseResp splits a Resp payload (after the header).
func parseResp(p []byte) (wireMsg, error) { return parseMsg(p, RespLen) }

func parseMsg(p []byte, n int) (wireMsg, error) {
	if len(p) != n {
		return wireMsg{}, ErrHandshake
	}
	return wireMsg{index: binary.BigEndian.Uint32(p), noise: p[indexLen:]}, nil
}

// ephemeral is the sender's ephemeral public key of a parsed message.
func (m wireMsg) ephemeral() []byte { return m.noise[:pubLen] }

// initPayload is Init's decrypted payload.
type initPayload struct {
	ts      tai64n
	session uint64
	packet  uint64
	index   uint32
	phase   bool
}

func (p *initPayload) appendTo(b []byte) []byte {
	b = append(b, p.ts[:]...)
	b = binary.BigEndian.AppendUint64(b, p.session)
	b = binary.BigEndian.AppendUint64(b, p.packet)
	b = binary.BigEndian.AppendUint32(b, p.index)
	var flags byte
	if p.phase {
		flags |= flagPhase
	}
	return append(b, flags, 0, 0, 0)
}

func parseInitPayload(b []byte) (initPayload, error) {
	if len(b) != initPlain || b[initFlags]&^flagPhase != 0 || b[initFlags+1]|b[initFlags+2]|b[initFlags+3] != 0 {
		return initPayload{}, ErrHandshake
	}
	var p initPayload
	copy(p.ts[:], b[initTS:])
	p.session = binary.BigEndian.Uint64(b[initSession:])
	p.packet = binary.BigEndian.Uint64(b[initPacket:])
	p.index = binary.BigEndian.Uint32(b[initIndex:])
	p.phase = b[initFlags]&flagPhase != 0
	return p, nil
}

// respPayload is Resp's decrypted payload.
type respPayload struct {
	ts      tai64n
	session uint64
	packet  uint64
}

func (p *respPayload) appendTo(b []byte) []byte {
	b = append(b, p.ts[:]...)
	b = binary.BigEndian.AppendUint64(b, p.session)
	return binary.BigEndian.AppendUint64(b, p.packet)
}

func parseRespPayload(b []byte) (respPayload, error) {
	if len(b) != respPlain {
		return respPayload{}, ErrHandshake
	}
	var p respPayload
	copy(p.ts[:], b[respTS:])
	p.session = binary.BigEndian.Uint64(b[respSession:])
	p.packet = binary.BigEndian.Uint64(b[respPacket:])
	return p, nil
}

// tai64n is a TAI64N timestamp (as WireGuard sends): big-endian, so newer
// timestamps compare greater byte by byte.
type tai64n [tsLen]byte

func stamp(t time.Time) tai64n {
	var ts tai64n
	binary.BigEndian.PutUint64(ts[:], 1<<62+uint64(t.Unix()))
	binary.BigEndian.PutUint32(ts[8:], uint32(t.Nanosecond()))
	return ts
}

// after reports whether ts is strictly newer than o.
func (ts tai64n) after(o tai64n) bool {
	for i := range ts {
		if ts[i] != o[i] {
			return ts[i] > o[i]
		}
	}
	return false
}
