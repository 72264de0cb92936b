package session

import (
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
