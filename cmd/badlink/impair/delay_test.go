package impair

import (
	"math"
	"testing"
	"time"
)

// delayRun feeds n datagrams arriving every gap through a Link with p and
// returns each one's release time (all copies are kept: p has no loss, dup
// or cap) and how many the Link flagged as reordered.
func delayRun(t *testing.T, p Params, n int, gap time.Duration) (release []time.Duration, flagged int) {
	t.Helper()
	l, err := NewLink(p, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	release = make([]time.Duration, n)
	for i := range n {
		v := l.Decide(time.Duration(i)*gap, 1200)
		if v.Lost || v.Copies != 1 || v.Copy[0].Dropped {
			t.Fatalf("datagram %d: verdict %+v, want one copy sent", i, v)
		}
		release[i] = v.Copy[0].Release
		if v.Copy[0].Reordered {
			flagged++
		}
	}
	return release, flagged
}

// overtakes counts datagrams released before the latest release of the
// datagrams that arrived before them.
func overtakes(release []time.Duration) int {
	n := 0
	var latest time.Duration
	for i, r := range release {
		if i > 0 && r < latest {
			n++
		}
		latest = max(latest, r)
	}
	return n
}

func TestDelayJitterBoundsAndOrder(t *testing.T) {
	const (
		n     = 20_000
		gap   = time.Millisecond // inter-arrival, below the jitter
		delay = 30 * time.Millisecond
		jit   = 10 * time.Millisecond
	)
	for _, reorder := range []bool{false, true} {
		p := Params{Delay: delay, Jitter: jit, Reorder: reorder}
		release, flagged := delayRun(t, p, n, gap)
		var sum float64
		for i, r := range release {
			d := r - time.Duration(i)*gap
			if d < delay-jit || d > delay+jit {
				t.Fatalf("reorder=%v: datagram %d delayed %v, want within [%v, %v]", reorder, i, d, delay-jit, delay+jit)
			}
			sum += d.Seconds()
		}
		over := overtakes(release)
		if over != flagged {
			t.Errorf("reorder=%v: %d datagrams overtook an earlier one, Link flagged %d", reorder, over, flagged)
		}
		mean := time.Duration(sum / n * float64(time.Second))
		if !reorder {
			if over != 0 {
				t.Errorf("reorder=false: %d datagrams overtook an earlier one, want 0", over)
			}
			t.Logf("reorder off: mean delay %v (order kept)", mean)
			continue
		}
		if over == 0 {
			t.Errorf("reorder=true, jitter %v > inter-arrival %v: no datagram overtook another", jit, gap)
		}
		// With reordering the delay is uniform on [delay-jit, delay+jit]:
		// sd jit/sqrt(3), so the mean is within zTol standard errors.
		se := jit.Seconds() / math.Sqrt(3) / math.Sqrt(n)
		if math.Abs(mean.Seconds()-delay.Seconds()) > zTol*se {
			t.Errorf("reorder=true: mean delay %v, want %v within %v", mean, delay, time.Duration(zTol*se*1e9))
		}
		t.Logf("reorder on: mean delay %v, %d of %d datagrams (%.1f%%) overtook an earlier one",
			mean, over, n, 100*float64(over)/n)
	}
}

func TestJitterBelowGapNeverReorders(t *testing.T) {
	// Jitter of 0.4 ms cannot move a datagram past one that arrived 1 ms
	// earlier, even when reordering is allowed.
	p := Params{Delay: 5 * time.Millisecond, Jitter: 400 * time.Microsecond, Reorder: true}
	release, flagged := delayRun(t, p, 5000, time.Millisecond)
	if over := overtakes(release); over != 0 || flagged != 0 {
		t.Errorf("overtakes = %d, flagged = %d, want 0", over, flagged)
	}
}

func TestJitterLargerThanDelayClampsAtZero(t *testing.T) {
	p := Params{Delay: 2 * time.Millisecond, Jitter: 5 * time.Millisecond, Reorder: true}
	release, _ := delayRun(t, p, 5000, 100*time.Microsecond)
	zero := 0
	for i, r := range release {
		d := r - time.Duration(i)*100*time.Microsecond
		if d < 0 || d > 7*time.Millisecond {
			t.Fatalf("datagram %d delayed %v, want within [0, 7ms]", i, d)
		}
		if d == 0 {
			zero++
		}
	}
	if zero == 0 {
		t.Errorf("no datagram was sent at once, want the clamped share of the jitter at delay 0")
	}
}

func TestNoDelayReleasesAtArrival(t *testing.T) {
	release, _ := delayRun(t, Params{}, 100, 10*time.Microsecond)
	for i, r := range release {
		if want := time.Duration(i) * 10 * time.Microsecond; r != want {
			t.Fatalf("datagram %d released at %v, want %v (its arrival)", i, r, want)
		}
	}
}
