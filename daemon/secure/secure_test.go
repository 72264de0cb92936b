package secure

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(t testing.TB) Key {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyText(t *testing.T) {
	k := testKey(t)
	back, err := ParseKey("  " + k.String() + "\n")
	if err != nil || back != k {
		t.Fatalf("ParseKey(String()) = %v, %v", back, err)
	}
	k2 := testKey(t)
	if k2 == k {
		t.Fatal("two generated keys are equal")
	}
	for _, bad := range []string{"", "not base64!", k.String()[:40], k.String() + "AAAA"} {
		if _, err := ParseKey(bad); !errors.Is(err, ErrKeyFormat) {
			t.Errorf("ParseKey(%q) = %v, want ErrKeyFormat", bad, err)
		}
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	k := testKey(t)
	path := filepath.Join(dir, "psk")
	if err := os.WriteFile(path, []byte(k.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadKeyFile(path); err != nil || got != k {
		t.Fatalf("LoadKeyFile = %v, %v", got, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadKeyFile(path)
	if !errors.Is(err, ErrKeyFileMode) || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("world-readable key file: %v; want ErrKeyFileMode with the fix", err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path); !errors.Is(err, ErrKeyFileMode) {
		t.Fatalf("group-readable key file: %v; want ErrKeyFileMode", err)
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "vstreamd genkey") {
		t.Fatalf("missing key file: %v; want a hint to run genkey", err)
	}
	if _, err := LoadKeyFile(dir); err == nil {
		t.Fatal("a directory as key file was accepted")
	}
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(garbage); !errors.Is(err, ErrKeyFormat) {
		t.Fatalf("garbage key file: %v; want ErrKeyFormat", err)
	}
}

func sealed(t testing.TB, c *Cipher, hdr, payload string, pn uint64) []byte {
	d := make([]byte, 0, len(hdr)+len(payload)+Overhead)
	d = append(append(d, hdr...), payload...)
	return c.Seal(d, len(hdr), pn)
}

func TestSealOpen(t *testing.T) {
	psk := testKey(t)
	a2b, _ := DataCipher(psk, 1, 2)
	d := sealed(t, a2b, "HEADER", "the payload", 7)
	if len(d) != len("HEADER")+len("the payload")+Overhead || bytes.Contains(d, []byte("payload")) {
		t.Fatalf("sealed datagram %q: wrong length or plaintext visible", d)
	}
	rx, _ := DataCipher(psk, 1, 2)
	out, err := rx.Open(append([]byte(nil), d...), 6, 7)
	if err != nil || string(out) != "HEADERthe payload" {
		t.Fatalf("Open = %q, %v", out, err)
	}
	// Anything else fails: another key, direction, session, packet number,
	// a flipped bit anywhere (header included), a truncation.
	other := testKey(t)
	wrong := []struct {
		name string
		c    func() *Cipher
		pn   uint64
		mut  func(b []byte) []byte
	}{
		{"other psk", func() *Cipher { c, _ := DataCipher(other, 1, 2); return c }, 7, nil},
		{"reverse direction", func() *Cipher { c, _ := DataCipher(psk, 2, 1); return c }, 7, nil},
		{"other session", func() *Cipher { c, _ := DataCipher(psk, 1, 3); return c }, 7, nil},
		{"hello key", func() *Cipher { c, _ := HelloCipher(psk, 1); return c }, 7, nil},
		{"packet number", func() *Cipher { return rx }, 8, nil},
		{"truncated", func() *Cipher { return rx }, 7, func(b []byte) []byte { return b[:len(b)-1] }},
		{"too short", func() *Cipher { return rx }, 7, func(b []byte) []byte { return b[:10] }},
	}
	for i := range d {
		for bit := range 8 {
			wrong = append(wrong, struct {
				name string
				c    func() *Cipher
				pn   uint64
				mut  func(b []byte) []byte
			}{"bit flip", func() *Cipher { return rx }, 7, func(b []byte) []byte { b[i] ^= 1 << bit; return b }})
		}
	}
	for _, w := range wrong {
		b := append([]byte(nil), d...)
		if w.mut != nil {
			b = w.mut(b)
		}
		if _, err := w.c().Open(b, 6, w.pn); !errors.Is(err, ErrAuth) {
			t.Fatalf("%s: Open = %v, want ErrAuth", w.name, err)
		}
	}
}

func TestSealAllocs(t *testing.T) {
	c, _ := DataCipher(testKey(t), 1, 2)
	buf := make([]byte, 1200)
	pn := uint64(0)
	if n := testing.AllocsPerRun(200, func() {
		pn++
		d := c.Seal(buf[:1184], 56, pn)
		if _, err := c.Open(d, 56, pn); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Seal+Open allocate %v times, want 0", n)
	}
}

func BenchmarkSeal(b *testing.B) {
	c, _ := DataCipher(testKey(b), 1, 2)
	buf := make([]byte, 1200)
	b.SetBytes(1184 - 56)
	b.ReportAllocs()
	pn := uint64(0)
	for b.Loop() {
		pn++
		c.Seal(buf[:1184], 56, pn)
	}
}

func BenchmarkOpen(b *testing.B) {
	c, _ := DataCipher(testKey(b), 1, 2)
	d := c.Seal(make([]byte, 1184, 1200), 56, 1)
	work := make([]byte, len(d))
	b.SetBytes(int64(len(d) - 56 - Overhead))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, d)
		if _, err := c.Open(work, 56, 1); err != nil {
			b.Fatal(err)
		}
	}
}
