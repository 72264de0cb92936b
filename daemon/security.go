package daemon

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/replay"
	"github.com/vstreamd/vstreamd/daemon/secure"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Limits of the session layer.
const (
	// deriveRate and deriveBurst bound how often a datagram from an unknown
	// session may cost a key derivation (an allocation and some
	// microseconds): a restarted peer needs one.
	deriveRate  = 10 // per second
	deriveBurst = 10
	candidates  = 4  // hello keys of sessions not (yet) adopted
	retiredMax  = 16 // replaced peer sessions, refused outright
)

// secState is the session layer: keys, replay windows and the rules for
// following a peer to a new session or a new address. With encryption off
// it only counts datagrams of the wrong kind.
type secState struct {
	on  bool
	psk secure.Key

	ctlMu   sync.Mutex     // guards helloTx: control messages come from several goroutines
	helloTx *secure.Cipher // seals our hellos and byes

	dataTx atomic.Pointer[secure.Cipher] // seals to the peer's current session; nil until known

	// Owned by the receive loop.
	peer          uint64 // the adopted peer session
	havePeer      bool
	helloRx       *secure.Cipher
	dataRx        *secure.Cipher
	window        replay.Filter // the adopted session's packet numbers
	cand          [candidates]candidate
	nextCand      int
	retired       [retiredMax]uint64
	nRetired      int
	lastHelloSent int64 // newest authenticated hello's send time, any session
	tokens        float64
	tokensAt      time.Time

	counts secCounts
}

type candidate struct {
	session uint64
	c       *secure.Cipher
	window  replay.Filter
}

// secCounts are the session layer's rejections, by reason, and the times of
// the last ones that came from the peer's address, for diagnosis.
type secCounts struct {
	auth, replayed, unencrypted, encrypted, unknownSession, rateLimited, stale atomic.Uint64
	moved                                                                      atomic.Uint64
	lastAuthFail, lastMismatch                                                 atomic.Int64 // Unix ns
}

func (s *secState) init(on bool, psk secure.Key, session uint64) error {
	s.on, s.psk = on, psk
	s.tokens = deriveBurst
	if !on {
		return nil
	}
	c, err := secure.HelloCipher(psk, session)
	if err != nil {
		return err
	}
	s.helloTx = c
	return nil
}

// sealControl seals a control datagram in place: hellos and byes with our
// hello key, the rest with the data key (false when there is none yet).
func (s *secState) sealControl(kind packetizer.Kind, dg []byte) ([]byte, bool) {
	pn := packetizer.PacketOf(dg)
	if kind == packetizer.KindHello || kind == packetizer.KindBye {
		s.ctlMu.Lock()
		defer s.ctlMu.Unlock()
		return s.helloTx.Seal(dg, packetizer.HeaderLen, pn), true
	}
	c := s.dataTx.Load()
	if c == nil {
		return nil, false
	}
	return c.Clone().Seal(dg, packetizer.HeaderLen, pn), true // control rate: a clone is fine
}

// mismatch records a datagram sealed when we expect plain text or the
// reverse.
func (s *secState) mismatch(sealed bool, fromPeer bool, now time.Time) {
	if sealed {
		s.counts.encrypted.Add(1)
	} else {
		s.counts.unencrypted.Add(1)
	}
	if fromPeer {
		s.counts.lastMismatch.Store(now.UnixNano())
	}
}

// open authenticates and decrypts a sealed datagram from the receive loop.
// It returns the datagram without its tag, whether the datagram was the
// newest of its session (for roaming), and whether it adopted a new peer
// session; ok is false when the datagram must be dropped (counted).
func (s *secState) open(d *Daemon, h *packetizer.Header, b []byte, fromPeer bool, now time.Time) (out []byte, newest, adopted, ok bool) {
	pn := h.Packet
	authFail := func() {
		s.counts.auth.Add(1)
		if fromPeer {
			s.counts.lastAuthFail.Store(now.UnixNano())
		}
	}
	if s.havePeer && h.Session == s.peer {
		c := s.dataRx
		if h.Kind == packetizer.KindHello || h.Kind == packetizer.KindBye {
			c = s.helloRx
		}
		if !s.window.Check(pn) {
			s.counts.replayed.Add(1)
			return nil, false, false, false
		}
		last, any := s.window.Last()
		out, err := c.Open(b, packetizer.HeaderLen, pn)
		if err != nil {
			authFail()
			return nil, false, false, false
		}
		s.window.Accept(pn)
		if h.Kind == packetizer.KindHello {
			s.noteHello(out)
		}
		return out, !any || pn > last, false, true
	}
	if s.isRetired(h.Session) {
		s.counts.stale.Add(1)
		return nil, false, false, false
	}
	// Another session: only a fresh hello may make it the peer's.
	if h.Kind != packetizer.KindHello {
		s.counts.unknownSession.Add(1)
		return nil, false, false, false
	}
	cand := s.candidate(h.Session, now)
	if cand == nil {
		s.counts.rateLimited.Add(1)
		return nil, false, false, false
	}
	if !cand.window.Check(pn) {
		s.counts.replayed.Add(1)
		return nil, false, false, false
	}
	out, err := cand.c.Open(b, packetizer.HeaderLen, pn)
	if err != nil {
		authFail()
		return nil, false, false, false
	}
	cand.window.Accept(pn)
	m, err := packetizer.ParseHello(out[packetizer.HeaderLen:])
	if err != nil {
		return out, false, false, true // authenticated but malformed: the caller counts it
	}
	// Fresh: sent after every hello we accepted before (a replay of an old
	// session's hello is older), or, if our peer is not there, echoing our
	// own current session (the peer's clock may have stepped back).
	fresh := m.Sent > s.lastHelloSent || m.Peer == d.session && d.peer.state(now) != StateStreaming
	if !fresh {
		s.counts.stale.Add(1)
		return nil, false, false, false
	}
	if err := s.adopt(d, cand); err != nil {
		d.log.Error("deriving the session keys failed", "err", err)
		return nil, false, false, false
	}
	s.lastHelloSent = max(s.lastHelloSent, m.Sent)
	return out, true, true, true
}

func (s *secState) noteHello(dg []byte) {
	if m, err := packetizer.ParseHello(dg[packetizer.HeaderLen:]); err == nil {
		s.lastHelloSent = max(s.lastHelloSent, m.Sent)
	}
}

// adopt makes cand the peer's session: its hello key and window carry over,
// and the data keys both ways are derived.
func (s *secState) adopt(d *Daemon, cand *candidate) error {
	rx, err := secure.DataCipher(s.psk, cand.session, d.session)
	if err != nil {
		return err
	}
	tx, err := secure.DataCipher(s.psk, d.session, cand.session)
	if err != nil {
		return err
	}
	if s.havePeer {
		copy(s.retired[1:], s.retired[:retiredMax-1])
		s.retired[0] = s.peer
		s.nRetired = min(s.nRetired+1, retiredMax)
	}
	s.peer, s.havePeer = cand.session, true
	s.helloRx, s.dataRx, s.window = cand.c, rx, cand.window
	s.dataTx.Store(tx)
	*cand = candidate{}
	return nil
}

func (s *secState) isRetired(session uint64) bool {
	for _, r := range s.retired[:s.nRetired] {
		if r == session {
			return true
		}
	}
	return false
}

// candidate returns the hello key for a session not adopted, deriving it if
// need be, within the derivation budget; nil when over budget.
func (s *secState) candidate(session uint64, now time.Time) *candidate {
	for i := range s.cand {
		if c := &s.cand[i]; c.c != nil && c.session == session {
			return c
		}
	}
	if !s.tokensAt.IsZero() {
		s.tokens = min(deriveBurst, s.tokens+now.Sub(s.tokensAt).Seconds()*deriveRate)
	}
	s.tokensAt = now
	if s.tokens < 1 {
		return nil
	}
	s.tokens--
	c, err := secure.HelloCipher(s.psk, session)
	if err != nil {
		return nil
	}
	slot := &s.cand[s.nextCand]
	s.nextCand = (s.nextCand + 1) % candidates
	*slot = candidate{session: session, c: c}
	return slot
}

// follow moves the peer to from when an authenticated datagram that is the
// newest of its session arrives from another address (NAT rebinding, a
// laptop changing networks). Nothing unauthenticated gets here.
func (d *Daemon) follow(from netip.AddrPort, now time.Time) {
	cur := d.peerAddr.Load()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if cur != nil && *cur == from {
		return
	}
	d.peerAddr.Store(&from)
	d.peer.setAddr(from)
	d.sec.counts.moved.Add(1)
	d.log.Info("peer moved", "from", cur, "to", from)
}

// callState is the call's state for people: the peer's presence, or, when
// the peer is not heard, why datagrams from its address are refused.
func (d *Daemon) callState(now time.Time) (state, detail string) {
	st := d.peer.state(now)
	if st == StateStreaming {
		return st, ""
	}
	recent := func(ns int64) bool { return ns != 0 && now.Sub(time.Unix(0, ns)) < lostAfter }
	switch {
	case recent(d.sec.counts.lastMismatch.Load()) && d.sec.on:
		return StateEncryptionMismatch, "the peer sends unencrypted datagrams (its [security] encryption is \"off\"): set encryption = \"on\" there, with the same key_file as here"
	case recent(d.sec.counts.lastMismatch.Load()):
		return StateEncryptionMismatch, "the peer sends encrypted datagrams: set [security] encryption = \"on\" here, with the same key_file as the peer's"
	case recent(d.sec.counts.lastAuthFail.Load()):
		return StateAuthFailed, "datagrams from the peer fail authentication: the two endpoints do not have the same key (compare [security] key_file on both)"
	case st == StateWaiting:
		return st, "nothing heard from the peer yet: is it running, and is its peer setting this endpoint's address?"
	}
	return st, "the peer went silent or stopped; waiting for it to come back"
}
