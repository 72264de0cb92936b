package main

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/media"
)

func TestPerTen(t *testing.T) {
	m := measurement{cpu: 600 * time.Millisecond, wall: 10 * time.Second, mediaMb: 20}
	// 6% of a core for 20 Mb/s: 3% per 10 Mb/s.
	if got := m.perTen(); math.Abs(got-3) > 1e-9 {
		t.Errorf("perTen = %v, want 3", got)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{[]float64{0.5}, 0.5}, {[]float64{0.48, 0.45, 0.51}, 0.48}, {[]float64{0.4, 0.3, 0.5, 0.2}, 0.35}} {
		if got := median(tc.in); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestConfigs: the two daemons' config files are valid, and say what the
// comparison needs: encrypted, fixed parity, the jpegs source on one side
// and the discard sink on the other.
func TestConfigs(t *testing.T) {
	dir := t.TempDir()
	v := &vstreamdSide{dir: dir, jpegs: filepath.Join(dir, "jpegs"), key: filepath.Join(dir, "psk")}
	if err := os.Mkdir(v.jpegs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v.jpegs, "frame-000001.jpg"), []byte("\xff\xd8\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := settings{fps: 30, parity: 0.25}
	pa, pb := netip.MustParseAddrPort("127.0.0.1:5600"), netip.MustParseAddrPort("127.0.0.1:5601")
	a, err := config.Parse([]byte(v.configText(s, "a", pa, pb, true)), filepath.Join(dir, "a.toml"))
	if err != nil {
		t.Fatalf("sender's config: %v", err)
	}
	b, err := config.Parse([]byte(v.configText(s, "b", pb, pa, false)), filepath.Join(dir, "b.toml"))
	if err != nil {
		t.Fatalf("receiver's config: %v", err)
	}
	for _, c := range []*config.Config{a, b} {
		if !c.Security.Encryption || c.Security.KeyFile != v.key || c.Transport.Adaptive || c.Transport.Parity != 0.25 || !c.Listen.Addr().IsLoopback() {
			t.Errorf("%s: encryption %v (key %s), adaptive %v, parity %v, listen %v; want encrypted with %s, fixed parity 0.25, loopback",
				c.File, c.Security.Encryption, c.Security.KeyFile, c.Transport.Adaptive, c.Transport.Parity, c.Listen, v.key)
		}
	}
	if a.Capture.Kind != media.SourceJPEGs || a.Capture.Path != v.jpegs || a.Display.Kind != media.SinkNone ||
		b.Capture.Kind != media.SourceNone || b.Display.Kind != media.SinkDiscard {
		t.Errorf("sender %v %v -> %v, receiver %v -> %v; want jpegs:DIR -> none, none -> discard",
			a.Capture.Kind, a.Capture.Path, a.Display.Kind, b.Capture.Kind, b.Display.Kind)
	}
}
