package daemon_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/sdnotify"
)

// TestReloadResolverHangs reloads to a peer whose name the resolver does
// not answer for: while the lookup hangs, the daemon keeps pinging the
// systemd watchdog and answers status; once the lookup answers, the reload
// takes the new peer.
func TestReloadResolverHangs(t *testing.T) {
	ln := fakeSystemd(t, 200*time.Millisecond) // pings every 100 ms
	pa, pb, pc := freePort(t), freePort(t), freePort(t)
	entered, release := make(chan struct{}), make(chan struct{})
	resolve := func(ctx context.Context, c *config.Config) (netip.AddrPort, error) {
		if c.Peer != "slow.invalid:1" {
			return c.ResolvePeer(ctx)
		}
		close(entered)
		select { // hangs until the test lets it answer, whatever ctx says
		case <-release:
		case <-time.After(10 * time.Second):
		}
		return pc, nil
	}
	d, err := daemon.New(daemon.Options{Config: testConfig(t, pa, pb), Sink: fake.NewSink(),
		Notifier: sdnotify.New(), Resolver: resolve})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	// Wait for READY=1.
	buf := make([]byte, 4096)
	read := func(deadline time.Time) (string, bool) {
		_ = ln.SetReadDeadline(deadline)
		n, err := ln.Read(buf)
		return string(buf[:n]), err == nil
	}
	for {
		m, ok := read(time.Now().Add(5 * time.Second))
		if !ok {
			t.Fatal("no READY=1 within 5 s")
		}
		if m == "READY=1" {
			break
		}
	}

	next := testConfig(t, pa, pb)
	next.Peer = "slow.invalid:1"
	reloaded := make(chan error, 1)
	go func() { reloaded <- d.Reload(context.Background(), next) }()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the reload never asked the resolver")
	}
	// While the lookup hangs: watchdog pings keep coming, and status
	// answers (the status line needs the daemon's lock).
	pings := 0
	deadline := time.Now().Add(5 * time.Second)
	for pings < 5 {
		m, ok := read(deadline)
		if !ok {
			t.Fatalf("%d watchdog pings in 5 s while the resolver hung; want one every 100 ms", pings)
		}
		if strings.HasPrefix(m, "WATCHDOG=1") {
			pings++
		}
	}
	if st := d.Status(); st.Peer != pb.String() {
		t.Errorf("status during the lookup names peer %q, want the old %v", st.Peer, pb)
	}
	close(release)
	select {
	case err := <-reloaded:
		if err != nil {
			t.Fatalf("Reload: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Reload still running 5 s after the resolver answered")
	}
	if st := d.Status(); st.PeerAddr != pc.String() {
		t.Errorf("after the reload the peer is %q, want %v", st.PeerAddr, pc)
	}
}
