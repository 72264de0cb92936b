package session

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KeyLen is the length of a pre-shared key.
const KeyLen = 32

// Errors callers branch on.
var (
	// ErrKeyFormat: the key text is not 32 bytes in standard base64.
	ErrKeyFormat = errors.New("not a vstreamd key: want 32 bytes in base64, as `vstreamd genkey` prints")
	// ErrKeyFileMode: the key file can be read by others.
	ErrKeyFileMode = errors.New("key file is readable by group or others")
)

// Key is the pre-shared key both endpoints of a call hold.
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
