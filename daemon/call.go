package daemon

import (
	"net/netip"
	"time"
)

// follow moves the peer to from: the session layer decided that an
// authenticated datagram, the newest of the peer's current keys, came from
// there (NAT rebinding, a laptop changing networks). Nothing
// unauthenticated gets here.
func (d *Daemon) follow(from netip.AddrPort, now time.Time) {
	cur := d.peerAddr.Load()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if cur != nil && *cur == from {
		return
	}
	d.peerAddr.Store(&from)
	d.peer.setAddr(from)
	d.log.Info("peer moved", "from", cur, "to", from)
}

// callState is the call's state for people: the peer's presence, or, when
// the peer is not heard, why datagrams from its address are refused.
func (d *Daemon) callState(now time.Time) (state, detail string) {
	st := d.peer.state(now)
	if st == StateStreaming {
		return st, ""
	}
	recent := func(t time.Time) bool { return !t.IsZero() && now.Sub(t) < lostAfter }
	on := d.sess.Encrypted()
	switch {
	case recent(d.sess.LastMismatch()) && on:
		return StateEncryptionMismatch, "the peer sends unencrypted datagrams (its [security] encryption is \"off\"): set encryption = \"on\" there, with the same key_file as here"
	case recent(d.sess.LastMismatch()):
		return StateEncryptionMismatch, "the peer sends encrypted datagrams: set [security] encryption = \"on\" here, with the same key_file as the peer's"
	case recent(d.sess.LastAuthFail()):
		return StateAuthFailed, "datagrams from the peer fail authentication: the two endpoints do not have the same key (compare [security] key_file on both)"
	case st == StateWaiting:
		return st, "nothing heard from the peer yet: is it running, and is its peer setting this endpoint's address?"
	}
	return st, "the peer went silent or stopped; waiting for it to come back"
}
