package packetizer

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestSplitAllocs: once warmed up, splitting a frame allocates nothing.
func TestSplitAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	p, _ := newPair(t, Config{Parity: 0.25, Overhead: 16}, AssemblerConfig{})
	frames := [][]byte{randomFrame(rng, 100000), randomFrame(rng, 30000), randomFrame(rng, 400000)}
	emit := func([]byte) error { return nil }
	for _, f := range frames {
		if _, err := p.Packetize(f, 1, emit); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() {
		if _, err := p.Packetize(frames[i%len(frames)], 1, emit); err != nil {
			t.Fatal(err)
		}
		i++
	}); n != 0 {
		t.Fatalf("Packetize allocates %v times per frame in steady state, want 0", n)
	}
}

// TestAssembleAllocs: once warmed up, pushing a datagram allocates nothing,
// with or without reconstruction.
func TestAssembleAllocs(t *testing.T) {
	for _, loss := range []float64{0, 0.05} {
		rng := rand.New(rand.NewPCG(63, 64))
		p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{})
		var stream [][]byte
		for range 60 {
			dg, _ := split(t, p, randomFrame(rng, 90000+rng.IntN(20000)), 1)
			for _, d := range dg {
				if rng.Float64() >= loss {
					stream = append(stream, d)
				}
			}
		}
		half := len(stream) / 2
		for _, d := range stream[:half] { // warm up on the first 30 frames
			if _, err := a.Receive(d, epoch); err != nil {
				t.Fatal(err)
			}
		}
		i := half
		n := testing.AllocsPerRun(len(stream)-half-1, func() {
			if _, err := a.Receive(stream[i], epoch); err != nil {
				t.Fatal(err)
			}
			i++
		})
		if n != 0 {
			t.Fatalf("loss %v: Receive allocates %v times per datagram in steady state, want 0", loss, n)
		}
		if loss > 0 && a.Stats().FramesRecovered.Load() == 0 {
			t.Fatalf("loss %v: no frame needed reconstruction; the test did not test it", loss)
		}
	}
}

// TestAccounting runs a long stream through loss, duplication and
// reordering: after a final clean frame, every frame id the sender used is
// counted exactly once across the outcome counters.
func TestAccounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{MaxFrames: 4})
	now := epoch
	const frames = 400
	var window [][]byte
	for i := range frames {
		dg, _ := split(t, p, randomFrame(rng, 1+rng.IntN(60000)), 1)
		if i == frames-1 { // the final frame arrives whole and alone
			for _, d := range window {
				a.Receive(d, now)
			}
			window = window[:0]
			now = now.Add(time.Second)
			feed(a, dg, now)
			break
		}
		lossy := rng.Float64() < 0.3
		for _, d := range dg {
			switch r := rng.Float64(); {
			case lossy && r < 0.3:
				continue // lost
			case r < 0.02:
				window = append(window, d, d) // duplicated
			default:
				window = append(window, d)
			}
		}
		rng.Shuffle(len(window), func(x, y int) { window[x], window[y] = window[y], window[x] })
		// Deliver most of the window; the rest is carried over (reordering
		// across frames).
		keep := rng.IntN(len(window)/4 + 1)
		for _, d := range window[keep:] {
			a.Receive(d, now)
		}
		window = append(window[:0], window[:keep]...)
		now = now.Add(33 * time.Millisecond)
	}
	s := a.Stats()
	if got := outcomes(s); got != frames {
		t.Fatalf("outcomes: delivered %d + late %d + incomplete %d + corrupt %d + lost %d = %d, want %d",
			s.FramesDelivered.Load(), s.FramesLate.Load(), s.FramesIncomplete.Load(), s.FramesCorrupt.Load(), s.FramesLost.Load(), got, frames)
	}
	if s.FramesCorrupt.Load() != 0 {
		t.Fatalf("%d corrupt frames", s.FramesCorrupt.Load())
	}
	t.Logf("delivered %d (recovered %d), late %d, incomplete %d, lost %d; duplicates %d, excess %d, late datagrams %d",
		s.FramesDelivered.Load(), s.FramesRecovered.Load(), s.FramesLate.Load(), s.FramesIncomplete.Load(), s.FramesLost.Load(),
		s.Duplicates.Load(), s.Excess.Load(), s.LateDatagrams.Load())
}

func TestFrameJump(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	p, a := newPair(t, Config{Parity: 0}, AssemblerConfig{MaxAhead: 100})
	dg, _ := sendFrames(t, p, rng, 1, 5000)
	feed(a, dg[0][:1], epoch) // frame 0 open
	p.next = 500
	far, _ := sendFrames(t, p, rng, 1, 5000)
	if _, err := a.Receive(far[0][0], epoch); err != ErrFrameJump {
		t.Fatalf("frame 500 while frame 0 is open, MaxAhead 100: %v, want ErrFrameJump", err)
	}
	// Idle past ResyncAfter with nothing open: the stream is followed again.
	got := feed(a, far[0], epoch.Add(2*time.Second))
	if len(got.frames) != 1 {
		t.Fatalf("after idling, frame 500 not delivered: %v", got.errs)
	}
}
