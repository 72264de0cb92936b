package lossmodel

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vstreamd/vstreamd/fec"
)

// binomialTail is the oracle for i.i.d. loss: P(X > m) for
// X ~ Binomial(n, p), summed term by term in log space.
func binomialTail(n, m int, p float64) float64 {
	if m >= n || p <= 0 {
		return 0
	}
	if p >= 1 {
		return 1
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	sum := 0.0
	for i := m + 1; i <= n; i++ {
		a, _ := math.Lgamma(float64(n + 1))
		b, _ := math.Lgamma(float64(i + 1))
		c, _ := math.Lgamma(float64(n - i + 1))
		sum += math.Exp(a - b - c + float64(i)*lp + float64(n-i)*lq)
	}
	return sum
}

// forwardLoss is the oracle for the chain: a dynamic program forward over
// the n datagrams of one block and (state, losses so far), from the
// stationary start, returning the mass with more than m losses.
func forwardLoss(md Model, n, m int) float64 {
	q, r := md.chain()
	good := make([]float64, m+1) // in Good before the datagram, j losses so far
	bad := make([]float64, m+1)
	good[0], bad[0] = 1-md.Loss, md.Loss
	over := 0.0
	for range n {
		ng, nb := make([]float64, m+1), make([]float64, m+1)
		for j := 0; j <= m; j++ {
			ng[j] += good[j] * (1 - q)
			nb[j] += good[j] * q
			if j == m {
				over += bad[j]
				continue
			}
			ng[j+1] += bad[j] * r
			nb[j+1] += bad[j] * (1 - r)
		}
		good, bad = ng, nb
	}
	return over
}

var models = []Model{
	{Loss: 0.01}, {Loss: 0.05}, {Loss: 0.2}, {Loss: 0.5},
	{Loss: 0.02, Burst: 4}, {Loss: 0.05, Burst: 1}, {Loss: 0.1, Burst: 2.5},
	{Loss: 0.3, Burst: 10}, {Loss: 0.05, Burst: 1.2},
}

func TestBlockLossOracles(t *testing.T) {
	shapes := [][2]int{{1, 0}, {1, 1}, {5, 0}, {10, 2}, {12, 3}, {88, 22}, {100, 0}, {200, 56}, {128, 128}}
	for _, md := range models {
		for _, s := range shapes {
			k, m := s[0], s[1]
			got := BlockLoss(md, k, m)
			want := forwardLoss(md, k+m, m)
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("BlockLoss(%v, %d, %d) = %.15f, forward dynamic program %.15f", md, k, m, got, want)
			}
			if md.Burst == 0 {
				if b := binomialTail(k+m, m, md.Loss); math.Abs(got-b) > 1e-12 {
					t.Errorf("BlockLoss(%v, %d, %d) = %.15f, binomial %.15f", md, k, m, got, b)
				}
			}
		}
	}
}

// A chain with mean burst 1/(1-p) forgets its state at every step, so it is
// the i.i.d. channel: every bound must agree with the binomial.
func TestMemorylessChainIsIID(t *testing.T) {
	for _, p := range []float64{0.01, 0.1, 0.3} {
		ge := Model{Loss: p, Burst: 1 / (1 - p)}
		for _, s := range [][2]int{{1, 0}, {10, 2}, {88, 22}} {
			if a, b := BlockLoss(ge, s[0], s[1]), binomialTail(s[0]+s[1], s[1], p); math.Abs(a-b) > 1e-12 {
				t.Errorf("p=%g %d+%d: memoryless chain %.12f, binomial %.12f", p, s[0], s[1], a, b)
			}
		}
		blocks := []Block{{12, 3}, {11, 3}, {11, 2}}
		a, err1 := FrameDelivery(ge, blocks, Interleaved(blocks))
		b, err2 := FrameDelivery(Model{Loss: p}, blocks, Interleaved(blocks))
		if err1 != nil || err2 != nil || math.Abs(a-b) > 1e-12 {
			t.Errorf("p=%g: frame delivery memoryless chain %.12f (%v), i.i.d. %.12f (%v)", p, a, err1, b, err2)
		}
	}
}

func TestBlockLossEdges(t *testing.T) {
	tests := []struct {
		md   Model
		k, m int
		want float64
	}{
		{Model{}, 10, 0, 0},
		{Model{Loss: 1}, 10, 5, 1},
		{Model{Loss: 0.3}, 0, 5, 0},
		{Model{Loss: 0.5}, 1, 0, 0.5},
		{Model{Loss: 0.5}, 2, 1, 0.5}, // 2 or 3 of 3 lost: 3/8 + 1/8
	}
	for _, tt := range tests {
		if got := BlockLoss(tt.md, tt.k, tt.m); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("BlockLoss(%v, %d, %d) = %v, want %v", tt.md, tt.k, tt.m, got, tt.want)
		}
	}
	for _, km := range [][2]int{{-1, 0}, {1, -1}, {200, 57}} {
		if got := BlockLoss(Model{Loss: 0.1}, km[0], km[1]); !math.IsNaN(got) {
			t.Errorf("BlockLoss(%d, %d) = %v, want NaN", km[0], km[1], got)
		}
	}
}

func TestMaxBlockShardsIsFEC(t *testing.T) {
	if MaxBlockShards != fec.MaxShards {
		t.Errorf("MaxBlockShards = %d, fec.MaxShards = %d", MaxBlockShards, fec.MaxShards)
	}
}

// MinParity must return the first parity count whose BlockLoss meets the
// target, found here by scanning.
func TestMinParity(t *testing.T) {
	for _, md := range append(models, Model{}, Model{Loss: 1}) {
		for _, k := range []int{1, 4, 20, 88, 200} {
			for _, target := range []float64{0.1, 0.01, 1e-3, 1e-6} {
				limit := fec.ParityShards(k, fec.MaxRatio)
				want, wantOK := limit, false
				for m := 0; m <= min(limit, MaxBlockShards-k); m++ {
					if BlockLoss(md, k, m) <= target {
						want, wantOK = m, true
						break
					}
				}
				if !wantOK {
					want = min(limit, MaxBlockShards-k)
				}
				got, ok := MinParity(md, k, target, limit)
				if got != want || ok != wantOK {
					t.Errorf("MinParity(%v, k=%d, target %g, max %d) = %d, %v; want %d, %v (loss at answer %.3g)",
						md, k, target, limit, got, ok, want, wantOK, BlockLoss(md, k, got))
				}
			}
		}
	}
}

func TestMinParityExamples(t *testing.T) {
	// 88 data shards (a 100 KB frame) at 5% i.i.d. loss: 25% parity (22
	// shards) loses 3.3e-4 of blocks; the policy for 1e-3 needs fewer.
	m, ok := MinParity(Model{Loss: 0.05}, 88, 1e-3, 176)
	if !ok || BlockLoss(Model{Loss: 0.05}, 88, m) > 1e-3 || BlockLoss(Model{Loss: 0.05}, 88, m-1) <= 1e-3 {
		t.Errorf("MinParity(5%%, 88, 1e-3) = %d, %v: loss %.3g, one fewer %.3g", m, ok, BlockLoss(Model{Loss: 0.05}, 88, m), BlockLoss(Model{Loss: 0.05}, 88, m-1))
	}
	// Bursts need more parity than independent losses at the same rate.
	mb, _ := MinParity(Model{Loss: 0.05, Burst: 4}, 88, 1e-3, 176)
	if mb <= m {
		t.Errorf("parity for bursts of 4: %d, for i.i.d.: %d; want more for bursts", mb, m)
	}
	t.Logf("88 data shards, 5%% loss, target 1e-3: i.i.d. %d parity, burst 4: %d", m, mb)
}

func TestMinParityAllocs(t *testing.T) {
	md := Model{Loss: 0.05, Burst: 4}
	var got int
	allocs := testing.AllocsPerRun(100, func() {
		got, _ = MinParity(md, 88, 1e-3, 176)
	})
	if got == 0 {
		t.Fatal("MinParity returned 0 parity for 5% loss; the path under test did not run")
	}
	if allocs != 0 {
		t.Errorf("MinParity: %v allocations per call, want 0", allocs)
	}
	if a := testing.AllocsPerRun(100, func() { _ = BlockLoss(md, 88, 22) }); a != 0 {
		t.Errorf("BlockLoss: %v allocations per call, want 0", a)
	}
}

func TestInterleaved(t *testing.T) {
	got := Interleaved([]Block{{3, 2}, {2, 1}})
	want := []int{0, 1, 0, 1, 0, 0, 1, 0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Interleaved = %v, want %v", got, want)
	}
}

// With one block, the frame's dynamic program is the block's bound.
func TestFrameDeliveryOneBlock(t *testing.T) {
	for _, md := range models {
		b := []Block{{40, 10}}
		got, err := FrameDelivery(md, b, Interleaved(b))
		if want := 1 - BlockLoss(md, 40, 10); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("FrameDelivery(%v, 40+10) = %.12f, %v; want %.12f", md, got, err, want)
		}
	}
}

func TestFrameDeliveryErrors(t *testing.T) {
	b := []Block{{3, 1}}
	if _, err := FrameDelivery(Model{Loss: 0.1, Burst: 2}, b, []int{0, 0, 0}); err == nil {
		t.Error("send order short of the block: no error")
	}
	if _, err := FrameDelivery(Model{Loss: 0.1, Burst: 2}, b, []int{0, 0, 0, 1}); err == nil {
		t.Error("send order naming a missing block: no error")
	}
	if _, err := FrameDelivery(Model{Loss: 2}, b, Interleaved(b)); err == nil {
		t.Error("loss 2: no error")
	}
	many := make([]Block, 8)
	for i := range many {
		many[i] = Block{200, 56}
	}
	if _, err := FrameDelivery(Model{Loss: 0.1, Burst: 2}, many, Interleaved(many)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("8 blocks of 56 parity: error %v, want ErrTooLarge", err)
	}
}

// zTol is how many standard errors a simulated ratio may stray from the
// exact one; the draws are seeded, so a failure is reproducible.
const zTol = 4

// The bounds must match the Channel that the relay and the simulation
// tests draw from: one block, and interleaved blocks.
func TestBoundsMatchChannel(t *testing.T) {
	const trials = 100_000
	tests := []struct {
		md     Model
		blocks []Block
	}{
		{Model{Loss: 0.02, Burst: 4}, []Block{{19, 1}}},
		{Model{Loss: 0.1, Burst: 4}, []Block{{12, 3}, {11, 3}}},
		{Model{Loss: 0.1}, []Block{{12, 3}, {11, 3}}},
		{Model{Loss: 0.2, Burst: 1.5}, []Block{{30, 8}}},
	}
	for i, tc := range tests {
		order := Interleaved(tc.blocks)
		want, err := FrameDelivery(tc.md, tc.blocks, order)
		if err != nil {
			t.Fatal(err)
		}
		ch := NewChannel(tc.md, rand.New(rand.NewPCG(1, uint64(i))))
		lost := make([]int, len(tc.blocks))
		survived := 0
		for range trials {
			clear(lost)
			for _, b := range order {
				if ch.Lost() {
					lost[b]++
				}
			}
			ok := true
			for b, n := range lost {
				ok = ok && n <= tc.blocks[b].Parity
			}
			if ok {
				survived++
			}
		}
		got := float64(survived) / trials
		if tol := zTol * math.Sqrt(want*(1-want)/trials); math.Abs(got-want) > tol {
			t.Errorf("%v %v: simulated %.4f, exact %.4f, tolerance %.4f", tc.md, tc.blocks, got, want, tol)
		}
	}
}

// The Channel's average loss and mean burst are the model's.
func TestChannelLossAndBurst(t *testing.T) {
	const n = 400_000
	for i, md := range []Model{{Loss: 0.05}, {Loss: 0.05, Burst: 4}, {Loss: 0.3, Burst: 10}} {
		ch := NewChannel(md, rand.New(rand.NewPCG(9, uint64(i))))
		lost, bursts, run := 0, 0, 0
		for range n {
			if ch.Lost() {
				lost++
				run++
				continue
			}
			if run > 0 {
				bursts++
				run = 0
			}
		}
		q, r := md.chain()
		lambda := 1 - q - r
		se := math.Sqrt(md.Loss * (1 - md.Loss) / n * (1 + lambda) / (1 - lambda))
		if got := float64(lost) / n; math.Abs(got-md.Loss) > zTol*se {
			t.Errorf("%v: average loss %.5f, want within %.5f", md, got, zTol*se)
		}
		wantBurst := 1 / r
		mean := float64(lost) / float64(bursts)
		seL := math.Sqrt(1-r) / r / math.Sqrt(float64(bursts))
		if math.Abs(mean-wantBurst) > zTol*seL+1.0/float64(bursts) {
			t.Errorf("%v: mean burst %.3f, want %.3f within %.3f", md, mean, wantBurst, zTol*seL)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, md := range []Model{{}, {Loss: 1}, {Loss: 0.5, Burst: 1}, {Loss: 0.2, Burst: 4}, {Loss: 0, Burst: 3}} {
		if err := md.Validate(); err != nil {
			t.Errorf("%+v: %v", md, err)
		}
	}
	for _, md := range []Model{{Loss: -0.1}, {Loss: 1.1}, {Loss: math.NaN()}, {Loss: 0.1, Burst: 0.5},
		{Loss: 1, Burst: 2}, {Loss: 0.8, Burst: 2}} {
		if err := md.Validate(); err == nil {
			t.Errorf("%+v: no error", md)
		}
	}
}

func BenchmarkMinParity(b *testing.B) {
	for _, md := range []Model{{Loss: 0.05}, {Loss: 0.05, Burst: 4}} {
		b.Run(md.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MinParity(md, 88, 1e-3, 176)
			}
		})
	}
}
