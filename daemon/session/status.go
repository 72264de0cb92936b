package session

import "time"

// Status is the session layer's part of `vstreamd status`.
type Status struct {
	Protocol   string `json:"protocol"`
	Handshakes uint64 `json:"handshakes"` // completed, as initiator or responder
	Initiated  uint64 `json:"initiated"`  // Init messages sent
	Responded  uint64 `json:"responded"`  // Resp messages sent
	KeyEpoch   uint64 `json:"key_epoch"`  // the current keys' handshake number; 0: none
	// LastRekeySeconds is the current keys' age; -1: no keys.
	LastRekeySeconds float64 `json:"last_rekey_seconds"`
	RekeyAfterSecond float64 `json:"rekey_after_seconds"`
}

// Status returns the handshake figures (nil with encryption off).
func (s *Session) Status(now time.Time) *Status {
	if !s.on {
		return nil
	}
	st := &Status{
		Protocol: Algorithm, Handshakes: s.c.handshakes.Load(), Initiated: s.c.initiated.Load(),
		Responded: s.c.responded.Load(), KeyEpoch: s.c.epoch.Load(), LastRekeySeconds: -1,
		RekeyAfterSecond: s.rekeyAfter.Seconds(),
	}
	if at := s.c.rekeyedAt.Load(); at != 0 && s.tx.Load() != nil {
		st.LastRekeySeconds = now.Sub(time.Unix(0, at)).Seconds()
	}
	return st
}

// Refused returns how many datagrams were refused for reason r.
func (s *Session) Refused(r Reason) uint64 { return s.c.refused[r].Load() }

// Moves is how many times the peer was followed to a new address.
func (s *Session) Moves() uint64 { return s.c.moves.Load() }

// LastAuthFail and LastMismatch are when a datagram from the peer's
// address last failed authentication, or came sealed when this endpoint
// does not encrypt or the reverse; zero: never.
func (s *Session) LastAuthFail() time.Time { return unixTime(s.c.lastAuthFail.Load()) }

// LastMismatch: see LastAuthFail.
func (s *Session) LastMismatch() time.Time { return unixTime(s.c.lastMismatch.Load()) }

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
