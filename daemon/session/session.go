// Package session owns vstreamd's session layer: the Noise handshake that
// makes fresh traffic keys from ephemeral keys and the pre-shared key,
// rekeying, sealing and opening datagrams, replay windows, the decision to
// follow the peer to a new address, the budget for unauthenticated work,
// and the one set of reasons for refusing a datagram. It knows nothing of
// the daemon: the daemon gives it datagrams to open and to seal, a function
// to send handshake messages with, and reads its figures for status.
//
// # Protocol
//
// The handshake is Noise NNpsk0 (X25519, AES-256-GCM, SHA-256) through
// github.com/flynn/noise: the initiator sends its ephemeral key and a
// payload sealed under a key mixed from the pre-shared key; the responder
// answers with its own ephemeral key, and both derive a traffic key per
// direction from the Diffie-Hellman of the two ephemerals and the
// pre-shared key. The ephemeral private keys live only in memory during the
// handshake, so the pre-shared key and a recording of a call do not give
// its traffic keys (forward secrecy). Message layouts are in wire.go.
//
// The Init payload carries a TAI64N timestamp, and a responder refuses an
// Init not newer than the newest it accepted. After a restart it has no
// newest timestamp, and a recorded Init gets a response; but the keys it
// makes are only used once a datagram sealed with them arrives, which only
// the holder of the initiator's ephemeral private key can make. So a
// replayed Init never changes the call, its keys or the peer's address.
//
// The responder installs the new keys as "next" and keeps sealing with the
// current ones until the first datagram sealed with the next ones arrives
// (key confirmation); the initiator switches at once, since the response
// proves the responder has them. The previous keys keep opening datagrams
// for a short overlap, so no datagram in flight is lost to a rekey. The
// key phase bit in each datagram's header says which of the two it used.
//
// Either endpoint initiates: at start, when it has no keys, and when its
// keys are RekeyAfter old. When both initiate at once, the one with the
// lower session id answers and drops its own.
//
// Nonces are the datagrams' packet numbers, which increase for as long as
// the daemon runs; keys are per handshake, so a (key, nonce) pair never
// repeats.
//
// With encryption off there is no handshake; the package still refuses
// reflected datagrams and replayed packet numbers.
package session

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/replay"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Timing of the handshake.
const (
	// DefaultRekeyAfter is how old keys get before a new handshake; the
	// same as WireGuard's.
	DefaultRekeyAfter = 2 * time.Minute
	// retryAfter is how long an Init waits for its response before a new
	// one is sent.
	retryAfter = time.Second
	// maxOverlap bounds how long the previous keys open datagrams after a
	// rekey.
	maxOverlap = 10 * time.Second
	// confirmWithin is how long next keys wait for the initiator's first
	// datagram sealed with them.
	confirmWithin = 5 * time.Second
	// silentAfter: when nothing has opened for this long although there
	// are keys (the peer lost its keys, or the two ended up with different
	// ones after a long outage), a handshake is started, every retryAfter.
	silentAfter = 5 * time.Second
	// recentIndices is how many finished handshakes' indices are kept to
	// recognise a replayed response.
	recentIndices = 8
)

// Config is what New needs.
type Config struct {
	Encrypted bool
	PSK       Key
	Self      uint64         // this endpoint's session id
	Packets   *atomic.Uint64 // packet numbers, shared with the packetizer
	// Send writes a handshake datagram to an address. It is called from
	// Open and Tick, with the session's lock held: it must not call back
	// into the Session. Required when Encrypted.
	Send   func(dg []byte, to netip.AddrPort)
	Logger *slog.Logger
	// RekeyAfter: 0 means DefaultRekeyAfter. Keys are refused at 1.5 times
	// this age (a peer that cannot rekey is gone).
	RekeyAfter time.Duration
	Rand       io.Reader // ephemeral keys and indices; nil: crypto/rand
}

// Session is one endpoint's session layer. Its methods are safe for
// concurrent use; a Sealer is not.
type Session struct {
	on                               bool
	cfg                              Config
	log                              *slog.Logger
	rekeyAfter, rejectAfter, overlap time.Duration
	tx                               atomic.Pointer[keySet]
	ctlMu                            sync.Mutex
	ctl                              *Sealer // for SealControl
	c                                counters
	mu                               sync.Mutex // guards everything below
	cur, next, prev                  *keySet
	prevUntil                        time.Time
	lastOpen                         time.Time // a datagram last opened
	init                             *initiation
	newest                           tai64n // of the Inits accepted
	lastSent                         tai64n // of our own Inits and Resps
	recent                           [recentIndices]uint32
	nRecent                          int
	limit                            limiter
	nonce                            [nonceLen]byte
	scratch                          []byte         // a copy of a datagram two keys may open
	plain                            [2]plainWindow // encryption off
	epochs                           uint64
}

// plainWindow is a replay window for one peer session, without keys.
type plainWindow struct {
	session uint64
	used    time.Time
	window  replay.Filter
}

// New makes a Session.
func New(cfg Config) (*Session, error) {
	if cfg.Packets == nil {
		return nil, errors.New("session: no packet counter")
	}
	if cfg.Encrypted && cfg.Send == nil {
		return nil, errors.New("session: no Send function")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Session{on: cfg.Encrypted, cfg: cfg, log: cfg.Logger, rekeyAfter: cfg.RekeyAfter}
	if s.rekeyAfter <= 0 {
		s.rekeyAfter = DefaultRekeyAfter
	}
	s.rejectAfter = s.rekeyAfter * 3 / 2
	s.overlap = min(maxOverlap, s.rekeyAfter/2)
	s.ctl = s.NewSealer()
	return s, nil
}

// Encrypted reports whether the session seals datagrams.
func (s *Session) Encrypted() bool { return s.on }

// Ready reports whether datagrams can be sealed: a handshake has finished
// (always true with encryption off).
func (s *Session) Ready() bool { return !s.on || s.tx.Load() != nil }

// SealControl seals a control datagram (hello, report, bye...), like a
// Sealer; safe for concurrent use.
func (s *Session) SealControl(dg []byte) ([]byte, bool) {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	return s.ctl.Seal(dg)
}

// Result is what Open decided about a datagram.
type Result struct {
	// Datagram is the opened datagram (header and plain payload, without
	// the tag) when Deliver is set. When Placed is set too, its payload
	// is still the ciphertext: the plain payload is in OpenInto's into.
	Datagram []byte
	// Placed: the plain payload was written to OpenInto's into.
	Placed bool
	// Deliver: the datagram is authentic and fresh; the daemon processes
	// it. Otherwise it was refused (and counted) or was a handshake
	// message the session consumed.
	Deliver bool
	// Roam: the datagram is authenticated, fresh and the newest of the
	// peer's current keys, and came from another address than the peer's:
	// follow the peer there.
	Roam bool
	// Finished: this endpoint just finished a handshake as initiator; send
	// the peer a datagram soon, which confirms the new keys to it.
	Finished bool
}

// Open authenticates, decrypts and checks one received datagram, whose
// parsed header is h, in place. from is its source address and peer the
// peer's current address. It never allocates for a data datagram.
func (s *Session) Open(h *packetizer.Header, dg []byte, from, peer netip.AddrPort, now time.Time) Result {
	return s.OpenInto(h, dg, nil, from, peer, now)
}

// OpenInto is Open, decrypting the payload into into instead of in place
// when into has exactly the payload's size, the datagram is sealed and
// one key set can open it (Result.Placed): the receiver passes the slot
// the payload goes to (packetizer.Assembler.Slot) and saves a copy. into's
// bytes are undefined when the datagram is refused.
func (s *Session) OpenInto(h *packetizer.Header, dg, into []byte, from, peer netip.AddrPort, now time.Time) Result {
	fromPeer := from.Addr().Unmap() == peer.Addr().Unmap() && from.Port() == peer.Port()
	if len(dg) < packetizer.HeaderLen { // not what ParseHeader passed
		s.c.refuse(ReasonAuth)
		return Result{}
	}
	if h.Session == s.cfg.Self {
		s.c.refuse(ReasonReflected)
		return Result{}
	}
	if h.Sealed != s.on {
		r := ReasonUnencrypted
		if h.Sealed {
			r = ReasonEncrypted
		}
		s.c.refuseFromPeer(r, fromPeer, now)
		return Result{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.on {
		return s.openPlain(h, dg, now)
	}
	payload := dg[packetizer.HeaderLen:]
	switch h.Kind {
	case packetizer.KindHandshakeInit:
		if h.KeyPhase {
			s.c.refuse(ReasonHandshake)
			return Result{}
		}
		s.onInit(h, payload, from, peer, fromPeer, now)
		return Result{}
	case packetizer.KindHandshakeResp:
		if h.KeyPhase {
			s.c.refuse(ReasonHandshake)
			return Result{}
		}
		return Result{Finished: s.onResp(payload, from, fromPeer, now)}
	}
	return s.openData(h, dg, into, fromPeer, now)
}

// openData opens a datagram sealed with traffic keys.
func (s *Session) openData(h *packetizer.Header, dg, into []byte, fromPeer bool, now time.Time) Result {
	const hl = packetizer.HeaderLen
	if len(dg) < hl+Overhead {
		s.c.refuseFromPeer(ReasonAuth, fromPeer, now)
		return Result{}
	}
	pn := h.Packet
	// The keys for the datagram's session and key phase. Normally one of
	// current, next and previous matches (a handshake flips the phase);
	// after crossed handshakes two may, and then each is tried on a copy.
	// A packet number at or below the floors of all the session's keys
	// was sealed before any of them existed: a recording.
	var match [3]*keySet
	n := 0
	known, older := false, true
	for _, k := range [...]*keySet{s.cur, s.next, s.prevIfLive(now)} {
		if k == nil || k.peer != h.Session {
			continue
		}
		known = true
		older = older && pn <= k.floor
		if k.phase == h.KeyPhase && pn > k.floor {
			match[n] = k
			n++
		}
	}
	switch {
	case known && older:
		s.c.refuse(ReasonReplay)
		return Result{}
	case n == 0:
		s.c.refuse(ReasonUnknownSession)
		return Result{}
	}
	var ks *keySet
	body := dg[hl:]
	out := body[:0] // in place
	if n == 1 && len(into) == len(body)-Overhead {
		out = into[:0]
	}
	if n > 1 {
		if s.scratch == nil {
			s.scratch = make([]byte, packetizer.MaxDatagram)
		}
		copy(s.scratch, body)
	}
	replayed := false
	for i, k := range match[:n] {
		if !k.window.Check(pn) {
			replayed = true
			continue
		}
		if i > 0 {
			copy(body, s.scratch[:len(body)])
		}
		if _, err := k.rx.Open(out, putNonce(&s.nonce, pn), body, dg[:hl]); err == nil {
			ks = k
			break
		}
	}
	if ks == nil {
		r := ReasonAuth
		if replayed { // seen under one key: the other's failure is no news
			r = ReasonReplay
		}
		s.c.refuseFromPeer(r, fromPeer, now)
		return Result{}
	}
	last, any := ks.window.Last()
	ks.window.Accept(pn)
	s.lastOpen = now
	if ks == s.next {
		s.confirm(now)
	}
	r := Result{Datagram: dg[:len(dg)-Overhead], Deliver: true, Placed: n == 1 && len(into) == len(body)-Overhead}
	if ks == s.cur && (!any || pn > last) && !fromPeer {
		r.Roam = true
		s.c.moves.Add(1)
	}
	return r
}

func (s *Session) prevIfLive(now time.Time) *keySet {
	if s.prev != nil && now.Before(s.prevUntil) {
		return s.prev
	}
	return nil
}

// confirm makes the next keys current: a datagram sealed with them proved
// the initiator has them.
func (s *Session) confirm(now time.Time) {
	s.promote(s.next, now)
	s.next = nil
}

// promote makes ks the current keys, keeping the current ones as previous
// for the overlap.
func (s *Session) promote(ks *keySet, now time.Time) {
	s.epochs++
	ks.epoch = s.epochs
	if s.cur != nil {
		s.prev, s.prevUntil = s.cur, now.Add(s.overlap)
	}
	s.cur, s.lastOpen = ks, now
	s.tx.Store(ks)
	s.c.handshakes.Add(1)
	s.c.epoch.Store(ks.epoch)
	s.c.rekeyedAt.Store(now.UnixNano())
}

// openPlain is the receive path with encryption off: no keys, but replays
// of a packet number of the same sender session are refused.
func (s *Session) openPlain(h *packetizer.Header, dg []byte, now time.Time) Result {
	w := &s.plain[0]
	if w.session != h.Session || w.used.IsZero() {
		if o := &s.plain[1]; o.session == h.Session && !o.used.IsZero() {
			w = o
		} else {
			if s.plain[1].used.Before(w.used) {
				w = &s.plain[1]
			}
			*w = plainWindow{session: h.Session}
		}
	}
	w.used = now
	if !w.window.Accept(h.Packet) {
		s.c.refuse(ReasonReplay)
		return Result{}
	}
	return Result{Datagram: dg, Deliver: true}
}

// Tick does the session's timed work: it starts a handshake when there are
// no keys (retrying every second) or the keys are RekeyAfter old, and
// retires keys past their time. peer is where Inits go. The daemon calls
// it a few times a second.
func (s *Session) Tick(now time.Time, peer netip.AddrPort) {
	if !s.on {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prev != nil && !now.Before(s.prevUntil) {
		s.prev = nil
	}
	if s.cur != nil && now.Sub(s.cur.created) >= s.rejectAfter {
		s.log.Info("keys expired: the peer did not rekey", "age", now.Sub(s.cur.created).Round(time.Second))
		s.cur = nil
		s.tx.Store(nil)
	}
	if s.next != nil && now.Sub(s.next.created) >= confirmWithin {
		s.next = nil // the initiator never used them: a lost or replayed Init
	}
	if s.init != nil && now.Sub(s.init.sent) < retryAfter {
		return
	}
	s.init = nil
	// Without keys, initiate; but when answering the peer's Init, give its
	// confirmation a moment first. With keys, rekey when they are old, or
	// when nothing opens with them any more.
	if s.cur == nil && (s.next == nil || now.Sub(s.next.created) >= retryAfter) ||
		s.cur != nil && s.next == nil && now.Sub(s.cur.created) >= s.rekeyAfter ||
		s.cur != nil && now.Sub(s.lastOpen) >= silentAfter {
		s.initiate(now, peer)
	}
}
