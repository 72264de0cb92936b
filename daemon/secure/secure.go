// Package secure owns vstreamd's cryptography: the pre-shared key and its
// file, the per-session keys derived from it, and sealing and opening
// datagrams with AES-256-GCM.
//
// # Keys
//
// Both endpoints of a call hold the same 32-byte pre-shared key. Every
// endpoint picks a random 64-bit session id when it starts, and carries it in
// every datagram's header. From the key and the session ids, HKDF-SHA256
// derives:
//
//   - a hello key per sender session, for hello and bye datagrams, which a
//     sender must be able to send before it knows its peer's session;
//   - a data key per direction, from sender session and receiver session,
//     for everything else.
//
// Nonces are the 64-bit packet numbers of the sender's session, which never
// repeat within a session; a new session (a restart on either side) means
// new keys. A nonce is reused only if an endpoint draws a session id it drew
// before with the same key, about one chance in 2^64 per pair of sessions.
//
// The datagram header is the associated data: it is authenticated, not
// encrypted. The payload is encrypted and followed by a 16-byte tag.
package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

const (
	// KeyLen is the length of a pre-shared key.
	KeyLen = 32
	// Overhead is what sealing adds to a datagram: the GCM tag.
	Overhead = 16
	nonceLen = 12
	// Algorithm names the AEAD for people.
	Algorithm = "AES-256-GCM"
)

// Errors callers branch on.
var (
	// ErrKeyFormat: the key text is not 32 bytes in standard base64.
	ErrKeyFormat = errors.New("not a vstreamd key: want 32 bytes in base64, as `vstreamd genkey` prints")
	// ErrKeyFileMode: the key file can be read by others.
	ErrKeyFileMode = errors.New("key file is readable by group or others")
	// ErrAuth: a datagram failed authentication (wrong key, or tampered).
	ErrAuth = errors.New("datagram failed authentication")
)

// Key is a pre-shared key.
type Key [KeyLen]byte

// GenerateKey returns a new random key.
func GenerateKey() (Key, error) {
	var k Key
	_, err := rand.Read(k[:])
	return k, err
}

// String encodes the key in standard base64, the format of key files.
func (k Key) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// ParseKey decodes a key from its base64 text; surrounding white space is
// ignored.
func ParseKey(text string) (Key, error) {
	var k Key
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(b) != KeyLen {
		return k, ErrKeyFormat
	}
	copy(k[:], b)
	return k, nil
}

// LoadKeyFile reads a key file. It refuses a file that group or others may
// read, saying how to fix it, and a file that is not a regular file.
func LoadKeyFile(path string) (Key, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Key{}, fmt.Errorf("key file %s does not exist; create it on one endpoint with `umask 077; vstreamd genkey > %s` and copy it to the other: %w", path, path, err)
	}
	if err != nil {
		return Key{}, fmt.Errorf("key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Key{}, fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return Key{}, fmt.Errorf("%w: %s has mode %04o; fix it with `chmod 600 %s` (and keep it owned by the user vstreamd runs as)", ErrKeyFileMode, path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("key file: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// Cipher seals and opens datagrams under one derived key. Ciphers from one
// derivation share their AEAD; each has its own nonce scratch, so a Cipher
// is not safe for concurrent use: Clone one per goroutine. Seal and Open
// allocate nothing.
type Cipher struct {
	aead  cipher.AEAD
	nonce [nonceLen]byte
}

// HelloCipher is the key for hello and bye datagrams of the given sender
// session.
func HelloCipher(psk Key, sender uint64) (*Cipher, error) {
	return derive(psk, "vstreamd/1 hello", sender, 0)
}

// DataCipher is the key for every other datagram from session from to
// session to.
func DataCipher(psk Key, from, to uint64) (*Cipher, error) {
	return derive(psk, "vstreamd/1 data", from, to)
}

func derive(psk Key, label string, a, b uint64) (*Cipher, error) {
	var ids [16]byte
	binary.BigEndian.PutUint64(ids[:8], a)
	binary.BigEndian.PutUint64(ids[8:], b)
	key, err := hkdf.Key(sha256.New, psk[:], ids[:], label, 32)
	if err != nil {
		return nil, fmt.Errorf("secure: deriving a key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead}, nil
}

// Clone returns a Cipher with the same key and its own scratch.
func (c *Cipher) Clone() *Cipher { return &Cipher{aead: c.aead} }

func (c *Cipher) setNonce(packet uint64) []byte {
	binary.BigEndian.PutUint64(c.nonce[nonceLen-8:], packet)
	return c.nonce[:]
}

// Seal encrypts dgram[hdr:] in place, authenticating dgram[:hdr] with it,
// and returns dgram extended by Overhead. Give it the capacity for that to
// avoid an allocation. packet is the packet number in the header: the
// nonce.
func (c *Cipher) Seal(dgram []byte, hdr int, packet uint64) []byte {
	dgram = slices.Grow(dgram, Overhead)
	out := c.aead.Seal(dgram[hdr:hdr], c.setNonce(packet), dgram[hdr:], dgram[:hdr])
	return dgram[:hdr+len(out)]
}

// Open authenticates and decrypts dgram[hdr:] in place and returns the
// datagram without its tag. On failure it returns ErrAuth; dgram's payload
// is then garbage.
func (c *Cipher) Open(dgram []byte, hdr int, packet uint64) ([]byte, error) {
	if len(dgram) < hdr+Overhead {
		return nil, ErrAuth
	}
	out, err := c.aead.Open(dgram[hdr:hdr], c.setNonce(packet), dgram[hdr:], dgram[:hdr])
	if err != nil {
		return nil, ErrAuth
	}
	return dgram[:hdr+len(out)], nil
}
