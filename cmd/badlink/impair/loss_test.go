package impair

import (
	"fmt"
	"math"
	"testing"
)

// zTol is how many standard errors a measured ratio may stray from the one
// asked for. The draws are seeded, so a failure is reproducible, and at 4
// standard errors a correct model fails for a given seed with probability
// about 6e-5.
const zTol = 4

// lossRun feeds n datagrams through l and returns how many were lost, and
// the number and total length of the loss bursts (maximal runs of
// consecutive losses).
func lossRun(l *Link, n int) (lost, bursts, burstLen int) {
	run := 0
	for range n {
		if l.Decide(0, 1200).Lost {
			lost++
			run++
			continue
		}
		if run > 0 {
			bursts++
			burstLen += run
			run = 0
		}
	}
	if run > 0 {
		bursts++
		burstLen += run
	}
	return lost, bursts, burstLen
}

func TestIIDLossMatchesRatio(t *testing.T) {
	const n = 200_000
	for _, p := range []float64{0, 0.01, 0.05, 0.2, 0.5, 1} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("p=%g/seed=%d", p, seed), func(t *testing.T) {
				l, err := NewLink(Params{Loss: p}, seed, 1)
				if err != nil {
					t.Fatal(err)
				}
				lost, bursts, burstLen := lossRun(l, n)
				// Binomial: sd of the count is sqrt(n p (1-p)).
				tol := zTol * math.Sqrt(n*p*(1-p))
				if d := math.Abs(float64(lost) - n*p); d > tol {
					t.Errorf("lost %d of %d (%.5f), want %.5f within %.0f datagrams (%d sd)",
						lost, n, float64(lost)/n, p, tol, zTol)
				}
				if p == 0 || p == 1 {
					return
				}
				// Independent losses make geometric runs with mean
				// 1/(1-p) and variance p/(1-p)^2.
				mean := float64(burstLen) / float64(bursts)
				want := 1 / (1 - p)
				se := math.Sqrt(p) / (1 - p) / math.Sqrt(float64(bursts))
				if math.Abs(mean-want) > zTol*se {
					t.Errorf("mean run of losses %.4f, want %.4f within %.4f", mean, want, zTol*se)
				}
				t.Logf("loss %.5f (want %g, tol %.5f), mean run %.3f (want %.3f)",
					float64(lost)/n, p, tol/n, mean, want)
			})
		}
	}
}

func TestGilbertElliottLossAndBurst(t *testing.T) {
	const n = 1_000_000
	tests := []struct{ p, burst float64 }{
		{0.02, 4}, {0.05, 4}, {0.2, 4}, {0.1, 1.5}, {0.3, 10}, {0.5, 2},
	}
	for _, tc := range tests {
		for _, seed := range []uint64{1, 2} {
			t.Run(fmt.Sprintf("p=%g/L=%g/seed=%d", tc.p, tc.burst, seed), func(t *testing.T) {
				l, err := NewLink(Params{Loss: tc.p, Burst: tc.burst}, seed, 1)
				if err != nil {
					t.Fatal(err)
				}
				lost, bursts, burstLen := lossRun(l, n)

				// The loss indicators form a two-state Markov chain
				// whose autocorrelation at lag k is lambda^k, lambda =
				// 1 - P(G->B) - P(B->G); the variance of their mean is
				// the binomial one times (1+lambda)/(1-lambda).
				r := 1 / tc.burst
				q := tc.p / (tc.burst * (1 - tc.p))
				lambda := 1 - q - r
				se := math.Sqrt(tc.p * (1 - tc.p) / n * (1 + lambda) / (1 - lambda))
				got := float64(lost) / n
				if math.Abs(got-tc.p) > zTol*se {
					t.Errorf("average loss %.5f, want %g within %.5f", got, tc.p, zTol*se)
				}

				// Bursts are geometric with success probability r:
				// mean 1/r, sd sqrt(1-r)/r.
				mean := float64(burstLen) / float64(bursts)
				seL := math.Sqrt(1-r) / r / math.Sqrt(float64(bursts))
				if math.Abs(mean-tc.burst) > zTol*seL {
					t.Errorf("mean burst %.4f over %d bursts, want %g within %.4f",
						mean, bursts, tc.burst, zTol*seL)
				}
				t.Logf("average loss %.5f (want %g, tol %.5f), mean burst %.3f over %d bursts (want %g, tol %.3f)",
					got, tc.p, zTol*se, mean, bursts, tc.burst, zTol*seL)
			})
		}
	}
}

// TestGilbertElliottIsBursty guards against a burst model that quietly
// degenerates to independent losses: at the same average loss its bursts
// must be far longer than i.i.d. runs.
func TestGilbertElliottIsBursty(t *testing.T) {
	const n = 200_000
	iid, _ := NewLink(Params{Loss: 0.05}, 1, 1)
	ge, _ := NewLink(Params{Loss: 0.05, Burst: 8}, 1, 1)
	_, b1, l1 := lossRun(iid, n)
	_, b2, l2 := lossRun(ge, n)
	m1, m2 := float64(l1)/float64(b1), float64(l2)/float64(b2)
	if m2 < 4*m1 {
		t.Errorf("mean burst: Gilbert-Elliott %.2f, i.i.d. %.2f; want the first at least 4 times the second", m2, m1)
	}
}

func TestDupRatio(t *testing.T) {
	const n = 200_000
	for _, tc := range []struct{ loss, dup float64 }{
		{0, 0.01}, {0, 0.1}, {0.1, 0.05}, {0, 1}, {0.2, 0},
	} {
		t.Run(fmt.Sprintf("loss=%g/dup=%g", tc.loss, tc.dup), func(t *testing.T) {
			l, err := NewLink(Params{Loss: tc.loss, Dup: tc.dup}, 7, 1)
			if err != nil {
				t.Fatal(err)
			}
			delivered, dups := 0, 0
			for range n {
				v := l.Decide(0, 1200)
				if v.Lost {
					continue
				}
				delivered++
				if v.Copies == 2 {
					dups++
				}
			}
			// Binomial over the datagrams that were not lost.
			nd := float64(delivered)
			tol := zTol * math.Sqrt(nd*tc.dup*(1-tc.dup))
			if d := math.Abs(float64(dups) - nd*tc.dup); d > tol {
				t.Errorf("duplicated %d of %d (%.5f), want %g within %.0f", dups, delivered, float64(dups)/nd, tc.dup, tol)
			}
			t.Logf("duplicated %.5f of delivered (want %g, tol %.5f)", float64(dups)/nd, tc.dup, tol/nd)
		})
	}
}
