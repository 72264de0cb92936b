package session

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math"
	"slices"
	"time"

	"github.com/flynn/noise"
	"github.com/vstreamd/vstreamd/daemon/replay"
	"github.com/vstreamd/vstreamd/packetizer"
)

// The cipher suite: X25519, AES-256-GCM, SHA-256. AES-GCM because on
// CPUs with AES instructions (amd64 servers and desktops, arm64) it seals a
// 1128-byte datagram in 70-80% of the CPU time ChaCha20-Poly1305 takes
// (BenchmarkAEADSideBySide); ChaCha20-Poly1305 would be the choice for
// CPUs without them.
var suite = noise.NewCipherSuite(noise.DH25519, noise.CipherAESGCM, noise.HashSHA256)

const (
	// Overhead is what sealing adds to a datagram: the AEAD tag.
	Overhead = tagLen
	// Algorithm names the protocol for people.
	Algorithm = "Noise_NNpsk0_25519_AESGCM_SHA256"
	nonceLen  = 12
)

// keySet is one handshake's traffic keys, one per direction, and the
// replay window of the receiving one. Everything but the window is fixed
// once made; the window belongs to the receive path (the session's lock).
type keySet struct {
	epoch uint64 // handshakes this endpoint completed, this one included
	phase bool   // the key phase bit datagrams sealed with it carry
	peer  uint64 // the peer's session id, authenticated by the handshake
	// floor is the packet number of the peer's handshake message: every
	// datagram it seals with these keys has a higher one.
	floor   uint64
	tx, rx  cipher.AEAD
	created time.Time
	window  replay.Filter
}

// newKeySet makes a key set from the CipherStates a finished handshake
// returns. The AEAD is the cipher suite's (AES-256-GCM) under the suite's
// key, built here so that a seal needs no allocation for its nonce; the
// nonce layout is the suite's: 4 zero bytes, then the 64-bit counter
// big-endian, which here is the datagram's packet number.
func newKeySet(tx, rx *noise.CipherState, peer, floor uint64, phase bool, now time.Time) (*keySet, error) {
	t, err := aeadFor(tx.UnsafeKey())
	if err != nil {
		return nil, err
	}
	r, err := aeadFor(rx.UnsafeKey())
	if err != nil {
		return nil, err
	}
	return &keySet{tx: t, rx: r, peer: peer, floor: floor, phase: phase, created: now}, nil
}

func aeadFor(k [32]byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func putNonce(n *[nonceLen]byte, pn uint64) []byte {
	binary.BigEndian.PutUint64(n[nonceLen-8:], pn)
	return n[:]
}

// Sealer seals outgoing datagrams with the current transmit keys. Each
// goroutine that sends needs its own (it holds nonce scratch): it is not
// safe for concurrent use. Seal allocates nothing when dg has room for the
// tag.
type Sealer struct {
	s     *Session
	nonce [nonceLen]byte
}

// NewSealer returns a Sealer for one sending goroutine.
func (s *Session) NewSealer() *Sealer { return &Sealer{s: s} }

// Seal seals a datagram (header and payload, as the packetizer wrote it)
// in place: it sets the header's key phase, encrypts the payload and
// appends the tag, authenticating the header with it. The nonce is the
// header's packet number. It returns false when there are no keys yet (no
// handshake finished): the datagram cannot be sent. With encryption off it
// returns dg unchanged.
func (z *Sealer) Seal(dg []byte) ([]byte, bool) {
	if len(dg) < packetizer.HeaderLen {
		return nil, false
	}
	return z.seal(dg[:packetizer.HeaderLen], dg[packetizer.HeaderLen:])
}

// SealTo is Seal for a datagram whose payload is elsewhere (a piece of the
// frame): hdr is the header, at the start of the buffer the datagram is
// sent from, and the payload is encrypted from where it is into that buffer
// after the header, in one pass, rather than copied there first and then
// encrypted in place. payload must not overlap hdr's buffer. It allocates
// nothing when hdr has room after it for the payload and the tag. With
// encryption off the payload is copied after the header.
func (z *Sealer) SealTo(hdr, payload []byte) ([]byte, bool) {
	if len(hdr) != packetizer.HeaderLen {
		return nil, false
	}
	return z.seal(hdr, payload)
}

// seal seals hdr (packetizer.HeaderLen bytes) and payload, which is either
// right after hdr in its buffer (in place) or elsewhere.
func (z *Sealer) seal(hdr, payload []byte) ([]byte, bool) {
	const h = packetizer.HeaderLen
	inPlace := len(payload) > 0 && cap(hdr) > h && &hdr[:h+1][h] == &payload[0]
	if !z.s.on {
		if inPlace {
			return hdr[:h+len(payload)], true
		}
		return append(hdr, payload...), true
	}
	ks := z.s.tx.Load()
	if ks == nil {
		return nil, false
	}
	pn := packetizer.PacketOf(hdr)
	if pn == math.MaxUint64 {
		return nil, false // never reached; a nonce must not be used twice
	}
	packetizer.SetKeyPhase(hdr, ks.phase)
	if inPlace {
		dg := slices.Grow(hdr[:h+len(payload)], Overhead)
		out := ks.tx.Seal(dg[h:h], putNonce(&z.nonce, pn), dg[h:], dg[:h])
		return dg[:h+len(out)], true
	}
	dg := slices.Grow(hdr, len(payload)+Overhead)
	out := ks.tx.Seal(dg[h:h], putNonce(&z.nonce, pn), payload, dg[:h])
	return dg[:h+len(out)], true
}
