package daemon_test

import (
	"testing"
	"time"

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
