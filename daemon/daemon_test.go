package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/control"
	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// freePort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) netip.AddrPort { return freePortB(t) }

func freePortB(t testing.TB) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func testConfig(t *testing.T, listen, peer netip.AddrPort) *config.Config {
	return benchConfig(t, listen, peer)
}

func benchConfig(t testing.TB, listen, peer netip.AddrPort) *config.Config {
	c := config.Default()
	c.File = "test.toml"
	c.Listen, c.Peer = listen, peer.String()
	c.Control.Socket = filepath.Join(t.TempDir(), "ctl.sock")
	c.Security.Encryption, c.Security.KeyFile = false, ""
	c.Capture.FPS, c.Capture.Quality = 30, 80
	return c
}

func testLogger(t testing.TB, name string) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("endpoint", name)
	}
	return slog.New(slog.DiscardHandler)
}

// endpoint is one running daemon in a test.
type endpoint struct {
	d      *daemon.Daemon
	src    *fake.Source
	sink   *fake.Sink
	cfg    *config.Config
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, name string, cfg *config.Config, src *fake.Source, sink *fake.Sink, mods ...func(*daemon.Options)) *endpoint {
	return startB(t, name, cfg, src, sink, mods...)
}

func startB(t testing.TB, name string, cfg *config.Config, src *fake.Source, sink *fake.Sink, mods ...func(*daemon.Options)) *endpoint {
	t.Helper()
	opt := daemon.Options{Config: cfg, Logger: testLogger(t, name)}
	for _, m := range mods {
		m(&opt)
	}
	if src != nil {
		opt.Source = src
	}
	if sink != nil {
		opt.Sink = sink
	}
	d, err := daemon.New(opt)
	if err != nil {
		t.Fatalf("%s: New: %v", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &endpoint{d: d, src: src, sink: sink, cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- d.Run(ctx) }()
	select {
	case <-d.Ready():
	case err := <-e.done:
		t.Fatalf("%s: Run: %v", name, err)
	}
	t.Cleanup(func() { e.stop(t) })
	return e
}

// stop cancels Run and waits for it; a daemon must stop within a second.
func (e *endpoint) stop(t testing.TB) {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(time.Second):
		t.Errorf("daemon did not stop within a second")
	}
}

// checkFrames verifies a sink's frames: intact, in increasing order.
func checkFrames(t *testing.T, name string, frames []fake.Frame) {
	t.Helper()
	for i, f := range frames {
		if !f.Intact {
			t.Fatalf("%s: frame %d (id %d) arrived corrupt", name, i, f.ID)
		}
		if i > 0 && f.Seq <= frames[i-1].Seq {
			t.Fatalf("%s: frame seq %d after %d: out of order", name, f.Seq, frames[i-1].Seq)
		}
	}
}

func TestTwoWayCall(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	a := start(t, "A", testConfig(t, pa, pb), fake.NewSource(30, 80, 30000), fake.NewSink())
	b := start(t, "B", testConfig(t, pb, pa), fake.NewSource(30, 80, 30000), fake.NewSink())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range []*endpoint{a, b} {
		if err := e.sink.Wait(ctx, 60); err != nil {
			t.Fatalf("fewer than 60 frames in 10 s: %d", len(e.sink.Frames()))
		}
	}
	checkFrames(t, "A", a.sink.Frames())
	checkFrames(t, "B", b.sink.Frames())

	// The control socket answers with the documented keys.
	raw, err := control.Query(ctx, a.cfg.Control.Socket, control.Request{Command: "status"})
	if err != nil {
		t.Fatalf("status query: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"state", "peer", "uptime_seconds", "tx.frames", "tx.packets", "tx.bytes", "tx.fps", "tx.bitrate_bps",
		"rx.frames_delivered", "rx.frames_recovered", "rx.frames_late", "rx.frames_incomplete", "rx.packets", "rx.packets_invalid",
		"rx.loss_ratio", "rx.fps", "rx.bitrate_bps", "rx.latency_ms.p50", "rx.latency_ms.p95", "rx.latency_ms.p99"} {
		if _, ok := lookup(m, key); !ok {
			t.Errorf("status JSON lacks %s", key)
		}
	}
	if st, _ := lookup(m, "state"); st != daemon.StateStreaming {
		t.Errorf("state = %v, want streaming", st)
	}

	// Accounting: what A sent, B delivered or dropped, but for what is in
	// flight. Stop A's source first by stopping A.
	a.stop(t)
	time.Sleep(200 * time.Millisecond)
	as, bs := a.d.Status(), b.d.Status()
	accounted := bs.RX.Accounted()
	if as.TX.Frames < accounted || as.TX.Frames-accounted > 2 {
		t.Errorf("A sent %d frames; B delivered %d + dropped %d = %d (more than 2 unaccounted)",
			as.TX.Frames, bs.RX.FramesDelivered, accounted-bs.RX.FramesDelivered, accounted)
	}
	if bs.RX.FramesCorrupt != 0 || bs.RX.PacketsInvalid != 0 {
		t.Errorf("B: corrupt %d, invalid %d (%v); want 0", bs.RX.FramesCorrupt, bs.RX.PacketsInvalid, bs.RX.Invalid)
	}
	if bs.RX.LatencyMs.Samples == 0 || bs.RX.LatencyMs.P99 <= 0 || bs.RX.LatencyMs.P99 > 100 {
		t.Errorf("B latency %+v: want samples with p99 in (0, 100] ms on loopback", bs.RX.LatencyMs)
	}
	if bs.State != daemon.StatePeerLost {
		t.Errorf("after A said bye, B state = %q, want %q", bs.State, daemon.StatePeerLost)
	}
}

// lookup finds a dotted key in decoded JSON.
func lookup(m map[string]any, key string) (any, bool) {
	var cur any = m
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '.' {
			continue
		}
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[key[start:i]]; !ok {
			return nil, false
		}
		start = i + 1
	}
	return cur, true
}

// oneWay starts a send-only endpoint with src and a receive-only one,
// waits until the receiver got n frames (10 s at most) and checks that
// they arrived intact and in order. It returns both endpoints and the
// frames received.
func oneWay(t *testing.T, src *fake.Source, n int) (a, b *endpoint, frames []fake.Frame) {
	t.Helper()
	pa, pb := freePort(t), freePort(t)
	// The CPU counts as contended (the receive loops on their real-time
	// threads, as checkRealtime expects) whatever this machine's load.
	contended := daemon.Pressure(func(time.Time) (float64, error) { return 0.2, nil })
	a = start(t, "send-only", testConfig(t, pa, pb), src, nil, contended)
	b = start(t, "receive-only", testConfig(t, pb, pa), nil, fake.NewSink(), contended)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.sink.Wait(ctx, n); err != nil {
		t.Fatalf("receive-only endpoint got %d frames, want %d", len(b.sink.Frames()), n)
	}
	frames = b.sink.Frames()
	checkFrames(t, "receive-only", frames)
	return a, b, frames
}

func TestOneWay(t *testing.T) {
	src := fake.NewSource(30, 80, 10000)
	a, b, _ := oneWay(t, src, 30)
	if runtime.GOOS == "linux" {
		// Capture and encoding run below the transport's priority.
		base, err := sched.Nice()
		if got, want := src.Nice(), min(base+sched.BackgroundNice, 19); err != nil || got != want {
			t.Errorf("the source ran at nice %d, want %d (the transport's is %d, %v)", got, want, base, err)
		}
	}
	as, bs := a.d.Status(), b.d.Status()
	checkRealtime(t, bs.RX.Realtime)
	if as.RX.Enabled || bs.TX.Enabled || bs.TX.Frames != 0 || as.RX.FramesDelivered != 0 {
		t.Errorf("one-way call: A rx enabled %v frames %d, B tx enabled %v frames %d", as.RX.Enabled, as.RX.FramesDelivered, bs.TX.Enabled, bs.TX.Frames)
	}
	// Reports come once a second: the sender learns what arrived.
	testutil.WaitFor(t, "a peer report of delivered frames at the sender", 3*time.Second, func() bool {
		r := a.d.Status().TX.PeerReport
		return r != nil && r.FramesDelivered > 0
	})
}

// TestReplaySourceInline: a source that encodes nothing (a replay of
// ready frames) is called by the send loop itself, at the transport's
// priority rather than on a background thread, and its frames arrive.
func TestReplaySourceInline(t *testing.T) {
	src := fake.NewSource(30, 80, 10000)
	src.Kind = media.SourceJPEGs
	oneWay(t, src, 10)
	if runtime.GOOS == "linux" {
		base, err := sched.Nice()
		if got := src.Nice(); err != nil || got != base {
			t.Errorf("the replay ran at nice %d, want the transport's %d (%v)", got, base, err)
		}
	}
}

// TestReadyFramesGoAsTheyAre: a source that hands out frames of its own,
// media prefix included (as a replay does), has them sent as they are,
// encoded or not: they arrive intact and the daemon never writes to them.
func TestReadyFramesGoAsTheyAre(t *testing.T) {
	for _, kind := range []media.SourceKind{media.SourceJPEGs, media.SourcePattern} {
		t.Run(kind.String(), func(t *testing.T) {
			src := fake.NewSource(30, 80, 30000)
			src.Kind, src.Ready = kind, true
			oneWay(t, src, 10)
			if n := src.Overwritten(); n != 0 {
				t.Fatalf("%d frames changed after the source handed them out", n)
			}
		})
	}
}

// TestFramesOutgrowTheBuffer sends frames larger than the send loop's
// frame buffers, encoded and replayed: the source grows the buffer, the
// frame is sent from a copy, and the frames after it go out from the grown
// buffer; all arrive intact.
func TestFramesOutgrowTheBuffer(t *testing.T) {
	for _, kind := range []media.SourceKind{media.SourcePattern, media.SourceJPEGs} {
		t.Run(kind.String(), func(t *testing.T) {
			src := fake.NewSource(30, 80, 400_000)
			src.Kind = kind
			_, _, frames := oneWay(t, src, 10)
			big := 0
			for _, f := range frames {
				if f.Bytes > 256<<10 {
					big++
				}
			}
			if big < 2 {
				t.Fatalf("%d of %d frames larger than the frame buffer (256 KB), want 2 or more", big, len(frames))
			}
		})
	}
}

// TestPeerLostAndBack stops one side, checks the other notices, then starts
// it again with a new session and checks the call resumes.
func TestPeerLostAndBack(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	a := start(t, "A", testConfig(t, pa, pb), fake.NewSource(30, 80, 10000), fake.NewSink())
	b := start(t, "B", testConfig(t, pb, pa), fake.NewSource(30, 80, 10000), fake.NewSink())
	testutil.WaitFor(t, "A streaming", 5*time.Second, func() bool { return a.d.Status().State == daemon.StateStreaming })
	firstSession := a.d.Status().PeerSession
	b.stop(t)
	testutil.WaitFor(t, "A to see the peer lost", 5*time.Second, func() bool { return a.d.Status().State == daemon.StatePeerLost })
	delivered := len(a.sink.Frames())

	b2 := start(t, "B again", testConfig(t, pb, pa), fake.NewSource(30, 80, 10000), fake.NewSink())
	testutil.WaitFor(t, "A streaming again", 5*time.Second, func() bool { return a.d.Status().State == daemon.StateStreaming })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.sink.Wait(ctx, delivered+30); err != nil {
		t.Fatalf("after the peer came back, A got %d new frames", len(a.sink.Frames())-delivered)
	}
	st := a.d.Status()
	if st.PeerSession == firstSession || st.PeerRestarts != 1 {
		t.Errorf("peer session %s (was %s), restarts %d: want a new session and 1 restart", st.PeerSession, firstSession, st.PeerRestarts)
	}
	if err := b2.sink.Wait(ctx, 30); err != nil {
		t.Fatalf("restarted B got %d frames", len(b2.sink.Frames()))
	}
}

// TestPeerSilent: a peer that vanishes without saying bye is declared lost
// after a few seconds of silence.
func TestPeerSilent(t *testing.T) {
	pa := freePort(t)
	fakePeer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer fakePeer.Close()
	pb := fakePeer.LocalAddr().(*net.UDPAddr).AddrPort()
	a := start(t, "A", testConfig(t, pa, pb), nil, fake.NewSink())
	// Echo A's own hello back with a different session: a minimal peer.
	buf := make([]byte, 2048)
	_ = fakePeer.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := fakePeer.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no hello from A: %v", err)
	}
	hello := append([]byte(nil), buf[:n]...)
	hello[4] ^= 0xFF // another session id
	if _, err := fakePeer.WriteToUDPAddrPort(hello, pa); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "A streaming", 3*time.Second, func() bool { return a.d.Status().State == daemon.StateStreaming })
	heard := time.Now()
	testutil.WaitFor(t, "A to see the peer lost", 6*time.Second, func() bool { return a.d.Status().State == daemon.StatePeerLost })
	if silent := time.Since(heard); silent < 2*time.Second {
		t.Errorf("peer declared lost after %v of silence; want a few seconds", silent)
	}
}

func TestForeignDatagramsDropped(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	a := start(t, "A", testConfig(t, pa, pb), nil, fake.NewSink())
	b := start(t, "B", testConfig(t, pb, pa), fake.NewSource(30, 80, 5000), nil)
	_ = b
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	for i := range 1000 {
		if _, err := stranger.WriteToUDPAddrPort([]byte(fmt.Sprintf("VS\x01garbage %d", i)), pa); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.sink.Wait(ctx, 30); err != nil {
		t.Fatal("no frames while a stranger sent garbage")
	}
	testutil.WaitFor(t, "foreign datagrams counted", 3*time.Second, func() bool { return a.d.Status().RX.PacketsForeign == 1000 })
	if st := a.d.Status(); st.RX.PacketsInvalid != 0 {
		t.Errorf("invalid = %d: datagrams from strangers must be dropped before parsing", st.RX.PacketsInvalid)
	}
}

func TestReload(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	src := fake.NewSource(30, 80, 10000)
	cfg := testConfig(t, pa, pb)
	a := start(t, "A", cfg, src, nil)
	b := start(t, "B", testConfig(t, pb, pa), nil, fake.NewSink())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.sink.Wait(ctx, 10); err != nil {
		t.Fatal(err)
	}
	// The reload also turns the adaptation off, so the configured parity
	// and quality apply as written.
	next := *cfg
	next.Capture.Quality, next.Transport.Parity, next.Transport.MaxDelay = 40, 0.5, 50*time.Millisecond
	next.Transport.Adaptive = false
	if err := a.d.Reload(ctx, &next); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if src.Quality() != 40 {
		t.Errorf("source quality %d after reload, want 40", src.Quality())
	}
	st := a.d.Status()
	if st.TX.Parity != 0.5 || st.RX.MaxDelayMs != 50 || st.TX.Quality != 40 {
		t.Errorf("after reload: parity %v, max delay %v ms, quality %d; want 0.5, 50, 40", st.TX.Parity, st.RX.MaxDelayMs, st.TX.Quality)
	}
	// Frames after the reload are smaller (quality 40: half the bytes).
	n := len(b.sink.Frames())
	if err := b.sink.Wait(ctx, n+10); err != nil {
		t.Fatal(err)
	}
	if fr := b.sink.Frames(); fr[len(fr)-1].Bytes != 5000 {
		t.Errorf("frame after reload has %d bytes, want 5000", fr[len(fr)-1].Bytes)
	}
	// A peer that does not resolve: the reload is refused, the old config stays.
	bad := next
	bad.Peer = "no-such-host.invalid:5600"
	if err := a.d.Reload(ctx, &bad); err == nil {
		t.Fatal("Reload with an unresolvable peer succeeded")
	}
	if st := a.d.Status(); st.Peer != next.Peer || st.State != daemon.StateStreaming {
		t.Errorf("after a refused reload: peer %q state %q; want %q streaming", st.Peer, st.State, next.Peer)
	}
}

func TestNewRejects(t *testing.T) {
	cfg := testConfig(t, freePort(t), freePort(t))
	if _, err := daemon.New(daemon.Options{Config: cfg}); err == nil {
		t.Error("New with neither source nor sink succeeded")
	}
	if _, err := daemon.New(daemon.Options{Sink: fake.NewSink()}); err == nil {
		t.Error("New without a config succeeded")
	}
	// A second daemon on the same control socket is refused, the first kept.
	pa, pb := freePort(t), freePort(t)
	a := start(t, "A", testConfig(t, pa, pb), nil, fake.NewSink())
	dup := testConfig(t, freePort(t), pb)
	dup.Control.Socket = a.cfg.Control.Socket
	d, err := daemon.New(daemon.Options{Config: dup, Sink: fake.NewSink()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); !errors.Is(err, control.ErrInUse) {
		t.Errorf("second daemon on a live control socket: %v, want ErrInUse", err)
	}
	if _, err := control.Query(context.Background(), a.cfg.Control.Socket, control.Request{Command: "status"}); err != nil {
		t.Errorf("first daemon's socket broken: %v", err)
	}
}
