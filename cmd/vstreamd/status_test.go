package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/control"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/daemon/session"
)

// serveStatus answers status requests on a socket with st, and returns a
// function that stops answering.
func serveStatus(t *testing.T, st *daemon.Status) (string, func()) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := control.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = control.Serve(ctx, ln, func(context.Context, control.Request) (any, error) { return st, nil })
		close(done)
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return sock, stop
}

func sampleStatus() *daemon.Status {
	st := &daemon.Status{Version: "test", State: daemon.StateStreaming, Peer: "192.0.2.10:5600", PeerAddr: "192.0.2.10:5600",
		Listen: "0.0.0.0:5600", Session: "00112233aabbccdd", PeerSession: "8899aabb00112233", Encryption: "on (Noise_NNpsk0_25519_AESGCM_SHA256, pre-shared key, forward secret)",
		Handshake:     &session.Status{KeyEpoch: 3, LastRekeySeconds: 45, RekeyAfterSecond: 120, Handshakes: 3},
		LatencyMethod: "exact", UptimeSeconds: 75}
	st.TX = daemon.TXStatus{Enabled: true, Sending: true, Frames: 100, FPS: 30, BitrateBps: 25e6, Parity: 0.25, Quality: 80}
	st.RX = daemon.RXStatus{Enabled: true, FrameCounts: daemon.FrameCounts{FramesDelivered: 98, FramesRecovered: 7, FramesLate: 1, FramesIncomplete: 1},
		LossRatio: 0.05, FPS: 29.5, BitrateBps: 24e6, Invalid: map[string]uint64{"auth": 3, "replay": 2},
		LatencyMs:    daemon.Percentiles{P50: 1.5, P95: 2.5, P99: 3.5, Samples: 98},
		Realtime:     sched.RealtimeStatus{Priority: 1, Raised: true, Lowered: 2, OnThread: true, Switches: 3},
		RealtimeMode: "auto", CPU: sched.ContentionStatus{Contended: true, Pressure: ptr(0.192)}, ReadsLate: 12}
	return st
}

func TestStatusHuman(t *testing.T) {
	sock, _ := serveStatus(t, sampleStatus())
	var out, errb bytes.Buffer
	if code := run([]string{"status", "-socket", sock}, &out, &errb); code != exitOK {
		t.Fatalf("status: exit %d, %s", code, errb.String())
	}
	for _, want := range []string{"streaming (up 1m15s)", "peer:       192.0.2.10:5600", "security:   on (Noise_NNpsk0", "keys #3, 45s old (renewed every 2m0s); handshakes done: 3",
		"sending:    streaming", "30.0 fps, 25.0 Mb/s, parity 0.25, quality 80", "receiving:  29.5 fps, 24.0 Mb/s, packet loss 5.0%",
		"frames delivered 98, recovered by FEC 7, late 1, incomplete 1", "latency p50 1.50 ms, p95 2.50 ms, p99 3.50 ms",
		"invalid by reason: auth 3, replay 2", "rx wait:    on its own thread, real-time priority 1: the CPU is contended (tasks waited for a CPU 19.2% of the last second) and reads were late (12 by 1 ms or more so far) (lowered 2 times for a flood, moved 3 times)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out.String())
		}
	}
	st := sampleStatus()
	st.Encryption, st.TX.Enabled, st.RX.Enabled = "off", false, false
	st.RX.Realtime = sched.RealtimeStatus{Priority: 1, Refused: "sched_setattr SCHED_FIFO 1: operation not permitted"}
	sock2, _ := serveStatus(t, st)
	out.Reset()
	run([]string{"status", "-socket", sock2}, &out, &errb)
	for _, want := range []string{"UNENCRYPTED", `sending:    no (source = "none")`, `receiving:  no (sink = "none")`,
		"rx wait:    in Go's poller, normal priority: the kernel refused real-time priority: sched_setattr SCHED_FIFO 1: operation not permitted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out.String())
		}
	}
	st = sampleStatus()
	st.RX.Realtime = sched.RealtimeStatus{Priority: 1, Switches: 1}
	st.RX.CPU = sched.ContentionStatus{Pressure: ptr(0.012)}
	sock3, _ := serveStatus(t, st)
	out.Reset()
	run([]string{"status", "-socket", sock3}, &out, &errb)
	if want := `rx wait:    in Go's poller: the CPU is calm (tasks waited for a CPU 1.2% of the last second; 12 reads late by 1 ms or more so far); on its own real-time thread (priority 1) while it is contended and reads are late (realtime_mode = "auto"; moved 1 times)`; !strings.Contains(out.String(), want) {
		t.Errorf("status output lacks %q:\n%s", want, out.String())
	}
	st.RX.CPU = sched.ContentionStatus{Contended: true, Pressure: ptr(0.104)}
	sock4, _ := serveStatus(t, st)
	out.Reset()
	run([]string{"status", "-socket", sock4}, &out, &errb)
	if want := `rx wait:    in Go's poller: the CPU is contended, but reads are on time (tasks waited for a CPU 10.4% of the last second; 12 reads late by 1 ms or more so far)`; !strings.Contains(out.String(), want) {
		t.Errorf("status output lacks %q:\n%s", want, out.String())
	}
}

func ptr[T any](v T) *T { return &v }

// lineCounter counts the JSON lines written to it.
type lineCounter struct{ n atomic.Int64 }

func (l *lineCounter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(line), &v) == nil && v["state"] == "streaming" {
			l.n.Add(1)
		}
	}
	return len(p), nil
}

func TestStatusWatch(t *testing.T) {
	sock, stop := serveStatus(t, sampleStatus())
	var lines lineCounter
	var errb bytes.Buffer
	code := make(chan int, 1)
	go func() { code <- showStatus(context.Background(), sock, true, true, 20*time.Millisecond, &lines, &errb) }()
	deadline := time.Now().Add(5 * time.Second)
	for lines.n.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("watch printed %d status lines in 5 s", lines.n.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop() // the daemon goes away: watch ends saying so
	select {
	case c := <-code:
		if c != exitNotRunning || !strings.Contains(errb.String(), "no vstreamd is running") {
			t.Errorf("watch after the daemon stopped: exit %d, %q", c, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not end when the daemon went away")
	}
}
