package packetizer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// channel decides, datagram by datagram, whether the network loses it.
type channel interface {
	lose() bool
	// frameBound is the exact probability that a single-block frame of n
	// consecutive datagrams loses at most m of them.
	frameBound(n, m int) float64
	String() string
}

// iid loses each datagram independently with probability p.
type iid struct {
	p   float64
	rng *rand.Rand
}

func (c *iid) lose() bool     { return c.rng.Float64() < c.p }
func (c *iid) String() string { return fmt.Sprintf("i.i.d. %g%%", c.p*100) }
func (c *iid) frameBound(n, m int) float64 {
	q := 0.0
	for i := 0; i <= m; i++ {
		q += binom(n, i) * math.Pow(c.p, float64(i)) * math.Pow(1-c.p, float64(n-i))
	}
	return q
}

// gilbert is the Gilbert-Elliott channel: a Good state that loses nothing
// and a Bad state that loses everything, with P(Bad->Good) = 1/burst and
// P(Good->Bad) = p/(burst*(1-p)) for average loss p and mean burst length.
type gilbert struct {
	p, burst float64
	bad      bool
	rng      *rand.Rand
}

func (c *gilbert) gb() float64 { return c.p / (c.burst * (1 - c.p)) }
func (c *gilbert) bg() float64 { return 1 / c.burst }
func (c *gilbert) lose() bool {
	if c.bad {
		c.bad = c.rng.Float64() >= c.bg()
	} else {
		c.bad = c.rng.Float64() < c.gb()
	}
	return c.bad
}
func (c *gilbert) String() string {
	return fmt.Sprintf("Gilbert-Elliott %g%%, burst %g", c.p*100, c.burst)
}

// frameBound sums, by dynamic programming over (state, losses), the
// probability of at most m losses in n datagrams from the stationary start.
func (c *gilbert) frameBound(n, m int) float64 {
	good := make([]float64, m+2) // good[j]: in Good with j losses so far
	bad := make([]float64, m+2)
	// The state is drawn for each datagram, starting from the stationary
	// distribution before the first.
	pg, pb := 1-c.p, c.p
	for range n {
		ng, nb := make([]float64, m+2), make([]float64, m+2)
		for j := 0; j <= m; j++ {
			// Good->Good: no loss; Good->Bad: a loss. Likewise from Bad.
			ng[j] += good[j]*(1-c.gb()) + bad[j]*c.bg()
			nb[j+1] += good[j]*c.gb() + bad[j]*(1-c.bg())
		}
		if pg+pb > 0 { // first datagram: from the stationary distribution
			ng[0] = pg*(1-c.gb()) + pb*c.bg()
			nb[1] = pg*c.gb() + pb*(1-c.bg())
			pg, pb = 0, 0
		}
		good, bad = ng, nb
	}
	q := 0.0
	for j := 0; j <= m; j++ {
		q += good[j] + bad[j]
	}
	return q
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// TestSimulation streams frames through lossy channels in process and
// compares the frame delivery ratio with the exact MDS bound. Reed-Solomon
// is MDS, so a frame is recovered exactly when it lost at most its parity
// count; the measured ratio must match the bound within sampling error.
// Run with -v to see the table.
func TestSimulation(t *testing.T) {
	frames := 3000
	if testing.Short() {
		frames = 600
	}
	const frameLen = 100000 // about a 720p JPEG; one block at 1200-byte datagrams
	rows := []struct {
		ratio float64
		ch    func(rng *rand.Rand) channel
	}{
		{0.25, func(r *rand.Rand) channel { return &iid{p: 0.01, rng: r} }},
		{0.25, func(r *rand.Rand) channel { return &iid{p: 0.05, rng: r} }},
		{0.25, func(r *rand.Rand) channel { return &iid{p: 0.10, rng: r} }},
		{0.25, func(r *rand.Rand) channel { return &iid{p: 0.20, rng: r} }},
		{0.25, func(r *rand.Rand) channel { return &gilbert{p: 0.02, burst: 4, rng: r} }},
		{0.5, func(r *rand.Rand) channel { return &iid{p: 0.10, rng: r} }},
		{0, func(r *rand.Rand) channel { return &iid{p: 0.01, rng: r} }},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-28s %6s %5s %9s %9s %9s\n", "channel", "parity", "n+m", "delivered", "MDS bound", "tolerance")
	for i, row := range rows {
		rng := rand.New(rand.NewPCG(71, uint64(i)))
		ch := row.ch(rng)
		p, a := newPair(t, Config{Parity: row.ratio}, AssemblerConfig{})
		frame := randomFrame(rng, frameLen)
		now := epoch
		var n, m, predicted int
		for range frames {
			lost := 0
			var kept [][]byte
			_, err := p.Packetize(frame, 1, func(d []byte) error {
				h, _ := ParseHeader(d)
				n, m = int(h.Data+h.Parity), int(h.Parity)
				if ch.lose() {
					lost++
				} else {
					kept = append(kept, append([]byte(nil), d...))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if lost <= m {
				predicted++
			}
			for _, d := range kept {
				if _, err := a.Receive(d, now); err != nil {
					t.Fatal(err)
				}
			}
			now = now.Add(33 * time.Millisecond)
		}
		s := a.Stats()
		delivered := int(s.FramesDelivered.Load())
		if delivered != predicted {
			t.Errorf("%v: delivered %d frames, but %d lost at most their parity (MDS says exactly those)", ch, delivered, predicted)
		}
		if s.FramesCorrupt.Load() != 0 {
			t.Errorf("%v: %d corrupt frames", ch, s.FramesCorrupt.Load())
		}
		got := float64(delivered) / float64(frames)
		bound := ch.frameBound(n, m)
		tol := 4*math.Sqrt(bound*(1-bound)/float64(frames)) + 1.0/float64(frames)
		fmt.Fprintf(&table, "%-28v %6.2f %5s %8.2f%% %8.2f%% %8.2f%%\n", ch, row.ratio, fmt.Sprintf("%d+%d", n-m, m), got*100, bound*100, tol*100)
		if math.Abs(got-bound) > tol {
			t.Errorf("%v: delivered %.4f, MDS bound %.4f, beyond 4 sigma (%.4f)", ch, got, bound, tol)
		}
	}
	t.Log(table.String())
}

// TestGilbertBound checks the dynamic program against the i.i.d. formula
// (burst 1/(1-p) makes the two channels the same) and against simulation.
func TestGilbertBound(t *testing.T) {
	p := 0.05
	g := &gilbert{p: p, burst: 1 / (1 - p)}
	i := &iid{p: p}
	for _, nm := range [][2]int{{1, 0}, {10, 2}, {110, 22}} {
		if a, b := g.frameBound(nm[0], nm[1]), i.frameBound(nm[0], nm[1]); math.Abs(a-b) > 1e-9 {
			t.Errorf("n=%d m=%d: Gilbert-Elliott with memoryless bursts %.9f, i.i.d. %.9f", nm[0], nm[1], a, b)
		}
	}
	rng := rand.New(rand.NewPCG(73, 74))
	g = &gilbert{p: 0.02, burst: 4, rng: rng}
	const trials, n, m = 200000, 20, 1
	ok := 0
	for range trials {
		lost := 0
		for range n {
			if g.lose() {
				lost++
			}
		}
		if lost <= m {
			ok++
		}
	}
	got, want := float64(ok)/trials, g.frameBound(n, m)
	if tol := 4 * math.Sqrt(want*(1-want)/trials); math.Abs(got-want) > tol {
		t.Errorf("simulated %.4f, dynamic program %.4f, tolerance %.4f", got, want, tol)
	}
}
