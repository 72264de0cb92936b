package session

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Reason names why the session layer refused a datagram. It is the one
// vocabulary of these rejections: status shows a count per reason under
// its String name.
type Reason uint8

// Rejection reasons.
const (
	// ReasonAuth: authentication failed (another key, or tampered).
	ReasonAuth Reason = iota
	// ReasonReplay: a packet number already seen or too old, a handshake
	// whose timestamp is not newer than the newest accepted, or a response
	// to a handshake already finished.
	ReasonReplay
	// ReasonUnencrypted: plain text while this endpoint encrypts.
	ReasonUnencrypted
	// ReasonEncrypted: sealed while this endpoint does not encrypt.
	ReasonEncrypted
	// ReasonUnknownSession: no key for its session and key phase (before a
	// handshake, after a restart, or keys long retired), or a response to
	// no handshake of ours.
	ReasonUnknownSession
	// ReasonRateLimited: a handshake message over its source's budget.
	ReasonRateLimited
	// ReasonReflected: carries this endpoint's own session id or ephemeral
	// key: its own datagram sent back to it.
	ReasonReflected
	// ReasonHandshake: a handshake message of the wrong length, or whose
	// authenticated content is malformed.
	ReasonHandshake
	NumReasons
)

func (r Reason) String() string {
	switch r {
	case ReasonAuth:
		return "auth"
	case ReasonReplay:
		return "replay"
	case ReasonUnencrypted:
		return "unencrypted"
	case ReasonEncrypted:
		return "encrypted"
	case ReasonUnknownSession:
		return "unknown-session"
	case ReasonRateLimited:
		return "rate-limited"
	case ReasonReflected:
		return "reflected"
	case ReasonHandshake:
		return "handshake"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// counters are the session layer's figures; atomics, so status reads them
// without the lock.
type counters struct {
	refused    [NumReasons]atomic.Uint64
	moves      atomic.Uint64 // the peer was followed to a new address
	handshakes atomic.Uint64 // completed: keys installed and confirmed
	initiated  atomic.Uint64 // Init messages sent
	responded  atomic.Uint64 // Resp messages sent
	rekeyedAt  atomic.Int64  // Unix ns of the current keys' confirmation
	epoch      atomic.Uint64 // the current keys' epoch
	// Unix ns of the last authentication failure and encryption mismatch
	// from the peer's address, for diagnosis.
	lastAuthFail, lastMismatch atomic.Int64
}

func (c *counters) refuse(r Reason) { c.refused[r].Add(1) }

func (c *counters) refuseFromPeer(r Reason, fromPeer bool, now time.Time) {
	c.refused[r].Add(1)
	if !fromPeer {
		return
	}
	switch r {
	case ReasonAuth:
		c.lastAuthFail.Store(now.UnixNano())
	case ReasonEncrypted, ReasonUnencrypted:
		c.lastMismatch.Store(now.UnixNano())
	}
}
