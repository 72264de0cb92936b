package daemon

import (
	"testing"
	"time"
)

// TestPacer checks that pacing holds the sender back to the rate: sending
// well over the burst at 40 Mb/s takes at least the time the bytes beyond
// the burst need at that rate. (A lower bound only: how much longer a busy
// machine takes is not this test's business.)
func TestPacer(t *testing.T) {
	var p pacer
	p.setRate(40)
	const datagram, count = 1200, 1000 // 1.2 MB: 240 ms at 40 Mb/s
	start := time.Now()
	for range count {
		p.wait(datagram)
	}
	elapsed := time.Since(start)
	least := time.Duration(float64(datagram*count-paceBurst) / (40e6 / 8) * float64(time.Second))
	// The last sleep may be up to a millisecond's worth short.
	if elapsed < least-2*time.Millisecond {
		t.Fatalf("sent %d bytes in %v at 40 Mb/s; pacing should take at least %v", datagram*count, elapsed, least)
	}
	// Off: no waiting at all.
	var off pacer
	start = time.Now()
	for range count {
		off.wait(datagram)
	}
	if d := time.Since(start); d > least/2 {
		t.Fatalf("an unpaced sender took %v for %d datagrams", d, count)
	}
	if n := testing.AllocsPerRun(100, func() { p.wait(100) }); n != 0 {
		t.Fatalf("wait allocates %v times", n)
	}
}

// TestPacerWaitIsBounded: a rate set absurdly low holds the sender for at
// most maxPaceWait per datagram, so the send loop (and its shutdown) never
// stalls.
func TestPacerWaitIsBounded(t *testing.T) {
	var p pacer
	p.setRateBps(1000) // 125 bytes a second
	var longest time.Duration
	for range 50 {
		longest = max(longest, p.hold(1200))
	}
	if longest > maxPaceWait || longest < maxPaceWait/2 {
		t.Errorf("longest hold at 1 kb/s: %v, want about %v and at most that", longest, maxPaceWait)
	}
}
