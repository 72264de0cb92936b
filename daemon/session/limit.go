package session

import (
	"net/netip"
	"time"
)

// Budget for handshake messages, which cost hashing, an AEAD and, for a
// valid Init or a Resp, X25519 operations. Every source address (address
// and port) has its own token bucket in a small table, so a flood from some
// addresses spends only their own buckets; the peer's current address has
// a bucket of its own that the table never evicts, and which an Init spends
// only once it has authenticated it (see onInit). Sources not in the table
// also share one global bucket, which bounds the whole cost of a flood from
// many (forged) addresses.
const (
	sourceRate  = 5  // handshake messages a second from one source
	sourceBurst = 10 // and in a burst
	globalRate  = 200
	globalBurst = 200
	sources     = 64 // table entries
)

type bucket struct {
	tokens float64
	at     time.Time
}

// take refills the bucket at rate up to burst and takes a token if there
// is one.
func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if b.at.IsZero() {
		b.tokens = burst
	} else if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type source struct {
	addr netip.AddrPort
	b    bucket
}

// limiter is the per-source budget. Not safe for concurrent use (the
// session's lock guards it). The zero value is ready.
type limiter struct {
	peer   bucket // the peer's current address
	global bucket
	table  [sources]source
}

// allow reports whether a handshake message from from may be processed.
func (l *limiter) allow(from netip.AddrPort, fromPeer bool, now time.Time) bool {
	if fromPeer {
		return l.peer.take(now, sourceRate, sourceBurst)
	}
	oldest := 0
	for i := range l.table {
		e := &l.table[i]
		if e.addr == from {
			return e.b.take(now, sourceRate, sourceBurst)
		}
		if e.b.at.Before(l.table[oldest].b.at) {
			oldest = i
		}
	}
	// A new source: it must also fit the global budget, so that fresh
	// (forged) addresses cannot buy work without bound by evicting others.
	if !l.global.take(now, globalRate, globalBurst) {
		return false
	}
	e := &l.table[oldest]
	*e = source{addr: from}
	return e.b.take(now, sourceRate, sourceBurst)
}
