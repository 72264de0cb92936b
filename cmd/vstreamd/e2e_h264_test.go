package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// writeCodecConfig writes a config for an endpoint listening on port and
// calling peer with the given codec, at 640x360 30 fps, and parity.
func writeCodecConfig(t *testing.T, dir, name string, port, peer int, codec string, parity float64) (cfg, sock string) {
	t.Helper()
	cfg, sock = writeConfig(t, dir, name, port, peer, 80) // the key, and the layout the other tests use
	body := fmt.Sprintf(`listen = "127.0.0.1:%d"
peer = "127.0.0.1:%d"

[capture]
source = "pattern"
width = 640
height = 360
fps = 30
codec = %q
bitrate_mbps = 1

[display]
sink = "null"

[transport]
parity = %g
adaptive = false # parity stays as set (0 loses whole frames)

[control]
socket = %q

[security]
key_file = "psk"
`, port, peer, codec, parity, sock)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, sock
}

// badlinkBin builds cmd/badlink into dir.
func badlinkBin(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "badlink")
	if out, err := exec.Command("go", "build", "-o", bin, "../badlink").CombinedOutput(); err != nil {
		t.Fatalf("go build badlink: %v\n%s", err, out)
	}
	return bin
}

// TestH264LossEndToEnd runs an H.264 call through badlink with 5% loss
// each way, no parity and no adaptation (which would raise the parity), so
// that whole frames are lost: the receivers freeze on the last good
// picture, ask for keyframes, get them, and show again; no frame from a
// broken chain reaches a decoder (the sink counts each one it is given
// against a chain it knows is broken as held).
func TestH264LossEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	dir := t.TempDir()
	relay := badlinkBin(t, dir)
	pa, pb, ra, rb := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)
	cfgA, sockA := writeCodecConfig(t, dir, "a", pa, ra, "h264", 0)
	cfgB, sockB := writeCodecConfig(t, dir, "b", pb, rb, "h264", 0)
	cmd := exec.Command(relay, "-a-listen", fmt.Sprintf("127.0.0.1:%d", ra), "-a", fmt.Sprintf("127.0.0.1:%d", pa),
		"-b-listen", fmt.Sprintf("127.0.0.1:%d", rb), "-b", fmt.Sprintf("127.0.0.1:%d", pb), "-loss", "0.05", "-seed", "7")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	a, b := startProc(t, "A", cfgA, sockA), startProc(t, "B", cfgB, sockB)

	var sa, sb map[string]any
	testutil.WaitFor(t, "both sides to recover from lost frames three times", 30*time.Second, func() bool {
		var errA, errB error
		sa, errA = a.status(t)
		sb, errB = b.status(t)
		return errA == nil && errB == nil && num(sa, "rx", "recoveries") >= 3 && num(sb, "rx", "recoveries") >= 3 &&
			num(sa, "rx", "sink", "shown") >= 60 && num(sb, "rx", "sink", "shown") >= 60
	})
	for _, s := range []map[string]any{sa, sb} {
		rx := func(k ...string) float64 { return num(s, append([]string{"rx"}, k...)...) }
		t.Logf("delivered %v, late %v, lost %v, incomplete %v, frozen %v, recoveries %v (last freeze %v ms), requests %v; sink shown %v, skipped %v, held %v, decode errors %v; peer forced %v keyframes",
			rx("frames_delivered"), rx("frames_late"), rx("frames_lost"), rx("frames_incomplete"), rx("frames_frozen"), rx("recoveries"), rx("last_freeze_ms"),
			rx("recover_requests"), rx("sink", "shown"), rx("sink", "skipped"), rx("sink", "held"), rx("sink", "decode_errors"), num(s, "tx", "keyframes_forced"))
		if s["rx"].(map[string]any)["codec"] != "h264" {
			t.Errorf("rx codec %v, want h264", s["rx"].(map[string]any)["codec"])
		}
		if rx("frames_late")+rx("frames_lost")+rx("frames_incomplete") == 0 || rx("frames_frozen") == 0 || rx("recover_requests") == 0 {
			t.Errorf("no frame lost or frozen, or no recovery asked for: the test did not test recovery")
		}
		if rx("sink", "decode_errors") != 0 || rx("sink", "held") != 0 {
			t.Errorf("decode errors %v, held %v: a frame from a broken chain reached the decoder", rx("sink", "decode_errors"), rx("sink", "held"))
		}
	}
	if num(sa, "tx", "keyframes_forced") == 0 || num(sb, "tx", "keyframes_forced") == 0 {
		t.Errorf("keyframes forced: A %v, B %v; want some on each side", num(sa, "tx", "keyframes_forced"), num(sb, "tx", "keyframes_forced"))
	}
	a.stopWithin(t, time.Second)
	b.stopWithin(t, time.Second)
}

// TestMixedCodecsEndToEnd: a JPEG endpoint and an H.264 endpoint call each
// other; each shows what the other sends.
func TestMixedCodecsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	dir := t.TempDir()
	pa, pb := freeUDPPort(t), freeUDPPort(t)
	cfgA, sockA := writeCodecConfig(t, dir, "a", pa, pb, "jpeg", 0.25)
	cfgB, sockB := writeCodecConfig(t, dir, "b", pb, pa, "h264", 0.25)
	a, b := startProc(t, "A", cfgA, sockA), startProc(t, "B", cfgB, sockB)
	var sa, sb map[string]any
	testutil.WaitFor(t, "both sides to show 45 frames", 20*time.Second, func() bool {
		var errA, errB error
		sa, errA = a.status(t)
		sb, errB = b.status(t)
		return errA == nil && errB == nil && num(sa, "rx", "sink", "shown") >= 45 && num(sb, "rx", "sink", "shown") >= 45
	})
	for _, c := range []struct {
		name       string
		s          map[string]any
		sent, recv string
	}{{"A", sa, "jpeg", "h264"}, {"B", sb, "h264", "jpeg"}} {
		rx := c.s["rx"].(map[string]any)
		src := c.s["tx"].(map[string]any)["source"].(map[string]any)
		if src["codec"] != c.sent || rx["codec"] != c.recv {
			t.Errorf("%s sends %v and receives %v, want %s and %s", c.name, src["codec"], rx["codec"], c.sent, c.recv)
		}
		if e := num(c.s, "rx", "sink", "decode_errors"); e != 0 {
			t.Errorf("%s: %v decode errors", c.name, e)
		}
	}
	a.stopWithin(t, time.Second)
	b.stopWithin(t, time.Second)
}
