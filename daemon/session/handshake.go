package session

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"io"
	"net/netip"
	"time"

	"github.com/flynn/noise"
	"github.com/vstreamd/vstreamd/packetizer"
)

// prologue binds the handshake to this protocol and version.
var prologue = []byte("vstreamd/2 session")

// NoiseConfig is the handshake's Noise configuration, for one role. The
// daemon does not need it; it documents the protocol and lets tests run a
// handshake of their own against recorded messages.
func NoiseConfig(psk Key, initiator bool, random io.Reader) noise.Config {
	return noise.Config{
		CipherSuite:           suite,
		Random:                random,
		Pattern:               noise.HandshakeNN,
		Initiator:             initiator,
		Prologue:              prologue,
		PresharedKey:          psk[:],
		PresharedKeyPlacement: 0,
	}
}

// initiation is our handshake in flight, waiting for its response. The
// Noise state is rebuilt from the ephemeral private key for each response
// that arrives, because a failed read leaves a Noise state unusable, and a
// forged response must not spoil the real one.
type initiation struct {
	index     uint32
	ephemeral [pubLen]byte
	private   [32]byte
	payload   []byte // Init's plain payload
	phase     bool
	sent      time.Time
}

func (s *Session) random() io.Reader {
	if s.cfg.Rand != nil {
		return s.cfg.Rand
	}
	return rand.Reader
}

// header starts a handshake datagram: its header, which carries the
// latest packet number of the sequence, and returns that number too. A
// handshake message takes no number of its own, so receivers see no gap
// in the sequence (which they would count as loss); every datagram sealed
// with the keys it makes has a higher number.
func (s *Session) header(kind packetizer.Kind, n int) ([]byte, uint64) {
	h := packetizer.Header{Kind: kind, Session: s.cfg.Self, Packet: s.cfg.Packets.Load(), Sealed: true}
	return h.AppendTo(make([]byte, 0, packetizer.HeaderLen+n)), h.Packet
}

// stamp returns a timestamp for a handshake message, newer than any sent
// before even if the clock did not move or stepped back.
func (s *Session) stamp(now time.Time) tai64n {
	ts := stamp(now)
	if !ts.after(s.lastSent) {
		ts = s.lastSent
		binary.BigEndian.PutUint32(ts[8:], binary.BigEndian.Uint32(ts[8:])+1)
	}
	s.lastSent = ts
	return ts
}

// initiate sends an Init to peer. Called with the lock held.
func (s *Session) initiate(now time.Time, peer netip.AddrPort) {
	in := &initiation{sent: now}
	if s.cur != nil {
		in.phase = !s.cur.phase
	}
	var idx [4]byte
	if _, err := io.ReadFull(s.random(), idx[:]); err != nil {
		s.log.Error("handshake: no randomness", "err", err)
		return
	}
	in.index = binary.BigEndian.Uint32(idx[:])
	hs, err := noise.NewHandshakeState(NoiseConfig(s.cfg.PSK, true, s.random()))
	if err != nil {
		s.log.Error("handshake", "err", err)
		return
	}
	dg, pn := s.header(packetizer.KindHandshakeInit, InitLen)
	p := initPayload{ts: s.stamp(now), session: s.cfg.Self, packet: pn, index: in.index, phase: in.phase}
	in.payload = p.appendTo(make([]byte, 0, initPlain))
	dg = binary.BigEndian.AppendUint32(dg, in.index)
	dg, _, _, err = hs.WriteMessage(dg, in.payload)
	if err != nil {
		s.log.Error("handshake", "err", err)
		return
	}
	e := hs.LocalEphemeral()
	copy(in.ephemeral[:], e.Public)
	copy(in.private[:], e.Private)
	s.init = in
	s.c.initiated.Add(1)
	s.cfg.Send(dg, peer)
}

// onInit answers a peer's Init. Called with the lock held.
func (s *Session) onInit(h *packetizer.Header, payload []byte, from, peer netip.AddrPort, fromPeer bool, now time.Time) {
	m, err := parseInit(payload)
	if err != nil {
		s.c.refuse(ReasonHandshake)
		return
	}
	if s.init != nil && subtle.ConstantTimeCompare(m.ephemeral(), s.init.ephemeral[:]) == 1 {
		s.c.refuse(ReasonReflected) // our own Init, sent back
		return
	}
	// Checking an Init costs a key derivation and one AEAD; answering it,
	// two X25519 operations. Other sources spend their budget on the
	// check; the peer's address spends its own only on the answer, so
	// forged Inits that claim the peer's address cannot use up its budget.
	if !fromPeer && !s.limit.allow(from, false, now) {
		s.c.refuse(ReasonRateLimited)
		return
	}
	hs, err := noise.NewHandshakeState(NoiseConfig(s.cfg.PSK, false, s.random()))
	if err != nil {
		s.log.Error("handshake", "err", err)
		return
	}
	plain, _, _, err := hs.ReadMessage(nil, m.noise)
	if err != nil {
		s.c.refuseFromPeer(ReasonAuth, fromPeer, now)
		return
	}
	ip, err := parseInitPayload(plain)
	switch {
	case err != nil || ip.session != h.Session || ip.index != m.index:
		s.c.refuse(ReasonHandshake)
		return
	case ip.session == s.cfg.Self:
		s.c.refuse(ReasonReflected)
		return
	case !ip.ts.after(s.newest):
		s.c.refuse(ReasonReplay)
		return
	}
	if fromPeer && !s.limit.allow(from, true, now) {
		s.c.refuse(ReasonRateLimited)
		return
	}
	s.newest = ip.ts
	if s.init != nil {
		if s.cfg.Self > ip.session {
			// Both initiated: the lower session id answers, so the peer
			// answers ours. Send it again if it may have been lost (the
			// peer was not up yet).
			if now.Sub(s.init.sent) > retryAfter/10 {
				s.initiate(now, peer)
			}
			return
		}
		s.init = nil
	}
	dg, pn := s.header(packetizer.KindHandshakeResp, RespLen)
	dg = binary.BigEndian.AppendUint32(dg, m.index)
	rp := respPayload{ts: s.stamp(now), session: s.cfg.Self, packet: pn}
	dg, rx, tx, err := hs.WriteMessage(dg, rp.appendTo(make([]byte, 0, respPlain)))
	if err != nil || rx == nil {
		s.log.Error("handshake: responding", "err", err)
		return
	}
	ks, err := newKeySet(tx, rx, ip.session, ip.packet, ip.phase, now)
	if err != nil {
		s.log.Error("handshake: keys", "err", err)
		return
	}
	s.next, s.prev = ks, nil
	s.c.responded.Add(1)
	s.cfg.Send(dg, from)
}

// onResp finishes our handshake with the peer's response, and reports
// whether it did. Called with the lock held.
func (s *Session) onResp(payload []byte, from netip.AddrPort, fromPeer bool, now time.Time) bool {
	m, err := parseResp(payload)
	if err != nil {
		s.c.refuse(ReasonHandshake)
		return false
	}
	in := s.init
	if in == nil || m.index != in.index {
		r := ReasonUnknownSession
		for _, i := range s.recent[:s.nRecent] {
			if i == m.index {
				r = ReasonReplay
			}
		}
		s.c.refuse(r)
		return false
	}
	if subtle.ConstantTimeCompare(m.ephemeral(), in.ephemeral[:]) == 1 {
		s.c.refuse(ReasonReflected)
		return false
	}
	if !s.limit.allow(from, fromPeer, now) {
		s.c.refuse(ReasonRateLimited)
		return false
	}
	// Rebuild our side of the handshake from the ephemeral key: the same
	// Init, byte for byte.
	hs, err := noise.NewHandshakeState(NoiseConfig(s.cfg.PSK, true, bytes.NewReader(in.private[:])))
	if err == nil {
		_, _, _, err = hs.WriteMessage(nil, in.payload)
	}
	if err != nil {
		s.log.Error("handshake", "err", err)
		return false
	}
	plain, tx, rx, err := hs.ReadMessage(nil, m.noise)
	if err != nil || tx == nil {
		s.c.refuseFromPeer(ReasonAuth, fromPeer, now)
		return false
	}
	rp, err := parseRespPayload(plain)
	if err != nil {
		s.c.refuse(ReasonHandshake)
		return false
	}
	if rp.session == s.cfg.Self {
		s.c.refuse(ReasonReflected)
		return false
	}
	if rp.ts.after(s.newest) {
		s.newest = rp.ts // the peer's Inits recorded before this are stale
	}
	ks, err := newKeySet(tx, rx, rp.session, rp.packet, in.phase, now)
	if err != nil {
		s.log.Error("handshake: keys", "err", err)
		return false
	}
	s.init, s.next = nil, nil
	copy(s.recent[1:], s.recent[:recentIndices-1])
	s.recent[0] = in.index
	s.nRecent = min(s.nRecent+1, recentIndices)
	s.promote(ks, now)
	return true
}
