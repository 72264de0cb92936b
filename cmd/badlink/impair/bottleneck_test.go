package impair

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

type departure struct {
	arrive, depart time.Duration
	size           int
}

// capRun offers n datagrams of size bytes, one every gap, to a Link with
// only a rate cap and returns the departures and the number of tail drops.
func capRun(t *testing.T, rate int64, q Queue, n, size int, gap time.Duration) (out []departure, drops int) {
	t.Helper()
	l, err := NewLink(Params{Rate: rate, Queue: q}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		now := time.Duration(i) * gap
		v := l.Decide(now, size)
		if v.Copy[0].Dropped {
			drops++
			continue
		}
		out = append(out, departure{now, v.Copy[0].Release, size})
	}
	return out, drops
}

// maxWindowBytes returns the most bytes departing within any window of
// length w (departures are in time order).
func maxWindowBytes(out []departure, w time.Duration) int {
	most, sum, lo := 0, 0, 0
	for _, d := range out {
		sum += d.size
		for out[lo].depart <= d.depart-w {
			sum -= out[lo].size
			lo++
		}
		most = max(most, sum)
	}
	return most
}

func TestRateCapOverloaded(t *testing.T) {
	const (
		rate = 8_000_000 // 8mbit
		size = 1200
		gap  = 600 * time.Microsecond // 16 Mbit/s offered, twice the cap
		n    = 5000                   // 3 s
	)
	for _, q := range []Queue{{Bytes: 64_000}, {Time: 20 * time.Millisecond}} {
		t.Run(q.String(), func(t *testing.T) {
			out, drops := capRun(t, rate, q, n, size, gap)
			qdelay := q.drain(rate)
			var worst time.Duration
			for i, d := range out {
				if i > 0 && d.depart < out[i-1].depart {
					t.Fatalf("departure %d at %v before the previous at %v: the bottleneck is FIFO", i, d.depart, out[i-1].depart)
				}
				// Time in the bottleneck (queue plus own transmission)
				// never exceeds the queue's drain time.
				worst = max(worst, d.depart-d.arrive)
			}
			if worst > qdelay {
				t.Errorf("worst time in bottleneck %v, want at most the queue's drain time %v", worst, qdelay)
			}
			for _, w := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second} {
				// Over a window w the link sends at most rate*w bits,
				// plus the datagram straddling the window's start.
				limit := int(float64(rate)*w.Seconds()/8) + size
				if got := maxWindowBytes(out, w); got > limit {
					t.Errorf("window %v: %d bytes out, cap allows %d", w, got, limit)
				}
			}
			if drops == 0 {
				t.Fatalf("no tail drops while offering twice the cap")
			}
			// Work conserving: once the queue has filled the link never
			// idles, so the long-run output equals the cap.
			first, last := out[0], out[len(out)-1]
			got := float64(size*(len(out)-1)*8) / (last.depart - first.depart).Seconds()
			if math.Abs(got-rate)/rate > 0.001 {
				t.Errorf("long-run output %.0f bit/s, want %d", got, rate)
			}
			if len(out)+drops != n {
				t.Errorf("out %d + drops %d != offered %d", len(out), drops, n)
			}
			t.Logf("queue %v: %d out, %d tail drops (%.1f%%), worst time in bottleneck %v, output %.3f Mbit/s",
				q, len(out), drops, 100*float64(drops)/n, worst, got/1e6)
		})
	}
}

func TestRateCapUnderloaded(t *testing.T) {
	// 4 Mbit/s offered to an 8mbit link: nothing queues, nothing drops,
	// each datagram takes exactly its serialisation time (1.2 ms).
	out, drops := capRun(t, 8_000_000, Queue{}, 2000, 1200, 2400*time.Microsecond)
	if drops != 0 {
		t.Errorf("%d drops below the cap, want 0", drops)
	}
	for i, d := range out {
		if got := d.depart - d.arrive; got != 1200*time.Microsecond {
			t.Fatalf("datagram %d took %v, want 1.2ms", i, got)
		}
	}
}

func TestRateCapBurstFillsQueue(t *testing.T) {
	// A burst of 100 datagrams at one instant: the queue of 12,000 bytes
	// takes ten 1200-byte datagrams, the rest are dropped at the tail.
	for _, tc := range []struct {
		q    Queue
		want int
	}{
		{Queue{Bytes: 12_000}, 10},
		{Queue{Bytes: 11_999}, 9},
		{Queue{Time: 12 * time.Millisecond}, 10}, // 12 ms at 8mbit = 12,000 bytes
		{Queue{Bytes: 0}, DefaultQueueBytes / 1200},
	} {
		t.Run(fmt.Sprint(tc.q), func(t *testing.T) {
			out, drops := capRun(t, 8_000_000, tc.q, 100, 1200, 0)
			if len(out) != tc.want || drops != 100-tc.want {
				t.Errorf("queue %v: %d out, %d dropped, want %d out", tc.q, len(out), drops, tc.want)
			}
		})
	}
}

// TestRateSteps overloads a cap that steps 40 -> 8 -> 40 Mb/s and checks
// the output rate of each phase.
func TestRateSteps(t *testing.T) {
	p := Params{Rate: 40e6, Queue: Queue{Bytes: 64000}}
	p.Steps[0] = RateStep{At: time.Second, Rate: 8e6}
	p.Steps[1] = RateStep{At: 2 * time.Second, Rate: 40e6}
	l, err := NewLink(p, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	const size = 1200
	gap := time.Duration(size * 8 * float64(time.Second) / 60e6) // offered at 60 Mb/s
	var bytes [3]float64
	for now := time.Duration(0); now < 3*time.Second; now += gap {
		v := l.Decide(now, size)
		if v.Copy[0].Dropped {
			continue
		}
		// Count by departure, away from the edges where the queue carries over.
		if d := v.Copy[0].Release; d%time.Second > 100*time.Millisecond && d < 3*time.Second {
			bytes[d/time.Second] += size
		}
	}
	for i, want := range []float64{40e6, 8e6, 40e6} {
		got := bytes[i] * 8 / 0.9
		if math.Abs(got-want) > 0.03*want {
			t.Errorf("phase %d: output %.2f Mb/s, want %.0f", i, got/1e6, want/1e6)
		}
	}
	if s := p.String(); !strings.Contains(s, "at 1s rate 8mbit") {
		t.Errorf("Params.String() = %q, want it to list the steps", s)
	}
	bad := Params{Rate: 10e6}
	bad.Steps[0] = RateStep{At: 2 * time.Second, Rate: 8e6}
	bad.Steps[1] = RateStep{At: time.Second, Rate: 8e6}
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepted steps out of order")
	}
}
