package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// jpegFiles writes n frames of the pattern at 640x360, encoded by OpenCV,
// into a new directory as frame-000001.jpg, ..., and returns it and the
// files' bytes in order.
func jpegFiles(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	src, err := capture.Open(capture.Config{Kind: media.SourcePattern, Width: 640, Height: 360, FPS: capture.MaxFPS, Quality: 60}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := filepath.Join(t.TempDir(), "jpegs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files [][]byte
	for i := range n {
		f, err := src.Next(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("frame-%06d.jpg", i+1)), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f.Data)
	}
	return dir, files
}

// writeReplayConfig writes an endpoint's config: sending the JPEG files in
// jpegs (sink none), or receiving into sink (source none); encrypted.
func writeReplayConfig(t *testing.T, dir, name string, port, peer int, jpegs, sink string) (cfg, sock string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "psk")); err != nil {
		var out, errb bytes.Buffer
		if code := run([]string{"genkey", "-o", filepath.Join(dir, "psk")}, &out, &errb); code != exitOK {
			t.Fatalf("genkey: %d %s", code, errb.String())
		}
	}
	source := "none"
	if jpegs != "" {
		source, sink = "jpegs:"+jpegs, "none"
	}
	cfg, sock = filepath.Join(dir, name+".toml"), filepath.Join(dir, name+".sock")
	body := fmt.Sprintf("listen = \"127.0.0.1:%d\"\npeer = \"127.0.0.1:%d\"\n[capture]\nsource = %q\nfps = 30\n[display]\nsink = %q\n[control]\nsocket = %q\n[security]\nkey_file = \"psk\"\n",
		port, peer, source, sink, sock)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, sock
}

// TestJPEGsReplayEndToEnd: A replays JPEG files (source "jpegs:DIR"), B
// records what arrives as a JPEG sequence: the recorded files are the
// sent files, byte for byte, in their order.
func TestJPEGsReplayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	const n = 6
	in, files := jpegFiles(t, n)
	dir := t.TempDir()
	out := filepath.Join(dir, "rec") + "/"
	pa, pb := freeUDPPort(t), freeUDPPort(t)
	cfgA, sockA := writeReplayConfig(t, dir, "a", pa, pb, in, "")
	cfgB, sockB := writeReplayConfig(t, dir, "b", pb, pa, "", "record:"+out)
	a, b := startProc(t, "A", cfgA, sockA), startProc(t, "B", cfgB, sockB)
	testutil.WaitFor(t, "B to record 4 rounds of the files", 20*time.Second, func() bool {
		s, err := b.status(t)
		return err == nil && num(s, "rx", "sink", "shown") >= 4*n
	})
	sa, err := a.status(t)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := sa["tx"].(map[string]any)["source"].(map[string]any)
	if src["kind"] != "jpegs" || num(sa, "tx", "source", "width") != 640 || num(sa, "tx", "source", "height") != 360 || src["codec"] != "jpeg" || src["note"] != capture.JPEGsNote {
		t.Errorf("A's source status %v: want kind jpegs, 640x360 (the files', not the configured 1280x720), JPEG, the note", src)
	}
	b.stopWithin(t, 2*time.Second) // the recording is complete once B has stopped
	a.stopWithin(t, 2*time.Second)

	recorded, err := filepath.Glob(filepath.Join(out, "frame-*.jpg"))
	if err != nil || len(recorded) < 4*n {
		t.Fatalf("recorded %d files (%v), want at least %d", len(recorded), err, 4*n)
	}
	index := func(data []byte) int {
		for i, f := range files {
			if bytes.Equal(data, f) {
				return i
			}
		}
		return -1
	}
	run, longest, prev := 0, 0, -1
	for _, path := range recorded { // Glob sorts: the order written
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		i := index(data)
		if i < 0 {
			t.Fatalf("%s (%d bytes) is none of the files sent", filepath.Base(path), len(data))
		}
		if prev >= 0 && i == (prev+1)%n {
			run++
		} else {
			run = 0
		}
		longest, prev = max(longest, run), i
	}
	// Frames lost on a busy machine break the order; a whole round in order
	// shows it is kept.
	if longest < n {
		t.Errorf("the longest run of recorded files in the files' order is %d steps, want at least %d", longest, n)
	}
}

// TestDiscardSinkEndToEnd: B with sink "discard" counts what arrives and
// its bytes, decoding nothing.
func TestDiscardSinkEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	in, files := jpegFiles(t, 3)
	dir := t.TempDir()
	pa, pb := freeUDPPort(t), freeUDPPort(t)
	cfgA, sockA := writeReplayConfig(t, dir, "a", pa, pb, in, "")
	cfgB, sockB := writeReplayConfig(t, dir, "b", pb, pa, "", "discard")
	startProc(t, "A", cfgA, sockA)
	b := startProc(t, "B", cfgB, sockB)
	var s map[string]any
	testutil.WaitFor(t, "B to discard 30 frames", 20*time.Second, func() bool {
		var err error
		s, err = b.status(t)
		return err == nil && num(s, "rx", "sink", "shown") >= 30
	})
	sink, _ := s["rx"].(map[string]any)["sink"].(map[string]any)
	shown, got := num(s, "rx", "sink", "shown"), num(s, "rx", "sink", "bytes")
	lo, hi := len(files[0]), len(files[0])
	for _, f := range files {
		lo, hi = min(lo, len(f)), max(hi, len(f))
	}
	if sink["kind"] != "discard" || num(s, "rx", "sink", "decode_errors") != 0 || got < shown*float64(lo) || got > shown*float64(hi) {
		t.Errorf("B's sink %v: want kind discard, no decode errors, bytes between %v and %v for %v frames", sink, shown*float64(lo), shown*float64(hi), shown)
	}
	b.stopWithin(t, 2*time.Second)
}
