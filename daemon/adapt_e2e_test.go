package daemon_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
	"github.com/vstreamd/vstreamd/cmd/badlink/relay"
	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// TestAdaptationOverLoopback runs a one-way call on a clean loopback: the
// receiver's feedback reaches the sender, whose status shows the
// adaptation at work, and the frames stay intact. With adaptive = false
// the status says so and the configured parity applies.
func TestAdaptationOverLoopback(t *testing.T) {
	for _, adaptive := range []bool{true, false} {
		pa, pb := freePort(t), freePort(t)
		cfgA, cfgB := testConfig(t, pa, pb), testConfig(t, pb, pa)
		cfgA.Transport.Adaptive, cfgB.Transport.Adaptive = adaptive, adaptive
		a := start(t, "A", cfgA, fake.NewSource(30, 80, 20000), nil)
		b := start(t, "B", cfgB, nil, fake.NewSink())
		if !adaptive {
			if err := b.sink.Wait(t.Context(), 10); err != nil {
				t.Fatal(err)
			}
			st := a.d.Status()
			if st.TX.Adapt != nil || st.TX.Parity != cfgA.Transport.Parity {
				t.Errorf("adaptive = false: status adapt %+v, parity %v; want none and %v", st.TX.Adapt, st.TX.Parity, cfgA.Transport.Parity)
			}
			a.stop(t)
			b.stop(t)
			continue
		}
		testutil.WaitFor(t, "20 feedbacks at the sender", 10*time.Second, func() bool {
			ad := a.d.Status().TX.Adapt
			return ad != nil && ad.FeedbackCount >= 20 && ad.EstimateBps > 0
		})
		// The video keeps flowing under the adaptation's pacing.
		if err := b.sink.Wait(t.Context(), 60); err != nil {
			t.Fatalf("B got %d frames, want 60: %v (A: %+v)", len(b.sink.Frames()), err, a.d.Status().TX.Adapt)
		}
		st := a.d.Status()
		ad := st.TX.Adapt
		if ad.TargetBps <= 0 || ad.PaceBps <= 0 || ad.Width != 1280 || ad.Height != 720 || ad.Parity <= 0 || st.TX.PaceMbps <= 0 {
			t.Errorf("adapt status %+v, pace %v Mb/s: want a target, pacing, the 1280x720 ceiling on a clean link, some parity", ad, st.TX.PaceMbps)
		}
		if st.TX.Parity != ad.Parity {
			t.Errorf("tx parity %v, adapt parity %v: want the same", st.TX.Parity, ad.Parity)
		}
		checkFrames(t, "B", b.sink.Frames())
		a.stop(t)
		b.stop(t)
	}
}

// TestAdaptationThroughReordering runs a one-way call through badlink's
// relay adding 30 +/- 10 ms of delay with reordering, and nothing else: a
// path that reorders but neither loses nor queues. The sender must keep
// its ceiling (1280x720 at 30 fps): out-of-order datagrams are not loss,
// and certainly not a queue overflowing.
func TestAdaptationThroughReordering(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	sideA, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	sideB, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		sideA.Close()
		t.Fatal(err)
	}
	jitter := impair.Params{Delay: 30 * time.Millisecond, Jitter: 10 * time.Millisecond, Reorder: true}
	r, err := relay.New(relay.Config{PeerA: pa, PeerB: pb, A2B: jitter, B2A: jitter, Seed: 7}, sideA, sideB, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v", err)
		}
	})
	cfgA := testConfig(t, pa, sideA.LocalAddr().(*net.UDPAddr).AddrPort())
	cfgB := testConfig(t, pb, sideB.LocalAddr().(*net.UDPAddr).AddrPort())
	a := start(t, "A", cfgA, fake.NewSource(30, 80, 40000), nil)
	b := start(t, "B", cfgB, nil, fake.NewSink())
	// About 5 s of feedback: the old accounting had cut the rate within
	// 2 s, for a queue that "overflowed".
	testutil.WaitFor(t, "100 feedbacks at the sender", 20*time.Second, func() bool {
		ad := a.d.Status().TX.Adapt
		return ad != nil && ad.FeedbackCount >= 100
	})
	ad := a.d.Status().TX.Adapt
	if ad.Width != 1280 || ad.Height != 720 || ad.FPS != 30 || ad.Loss > 0.02 {
		t.Errorf("through reordering: %dx%d at %d fps, loss %.1f%% (rate: %s; level: %s); want the 1280x720 at 30 fps ceiling and no loss",
			ad.Width, ad.Height, ad.FPS, ad.Loss*100, ad.Reason, ad.LevelReason)
	}
	if st := r.Stats().A2B; st.Lost+st.QueueDrops+st.LimitDrops != 0 || st.Reordered == 0 {
		t.Fatalf("relay A to B: %+v; the test needs reordering and no loss", st)
	}
	checkFrames(t, "B", b.sink.Frames())
}
