package fec

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/klauspost/reedsolomon"
)

// The benchmarks compare the Coder with klauspost/reedsolomon used
// directly: one library encoder per block geometry, built once from the
// same generator rows (WithCustomMatrix) and cached, as a library-only fec
// would. Frames of 30, 100 and 400 KB are split as the packetizer splits
// them (1144-byte shards, the default datagram less its header, parity
// 0.25); a reconstruction loses 5% of each block's data shards (at least
// one), in a pattern that changes every frame so the library's inversion
// cache sees what a receiver sees.
//
//	go test ./fec -run '^$' -bench 'Encode|Reconstruct' -benchmem
//	go test ./fec -run '^$' -bench 'Encode|Reconstruct' -benchmem -tags nogfni
var benchFrames = []int{30 << 10, 100 << 10, 400 << 10}

const benchShard = 1144

type benchBlock struct {
	data, parity [][]byte
	all          [][]byte // data then parity, the library's layout
	k, m         int
}

func benchBlocks(b *testing.B, n int) []benchBlock {
	l, err := Plan(n, benchShard, DefaultRatio)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(91, uint64(n)))
	var out []benchBlock
	for i := range l.Blocks {
		_, k := l.Block(i)
		m := ParityShards(k, DefaultRatio)
		data, parity := randomBlock(rng, k, m, l.ShardSize)
		out = append(out, benchBlock{data: data, parity: parity, all: append(append([][]byte{}, data...), parity...), k: k, m: m})
	}
	return out
}

// libCache is the per-geometry encoder cache a library-only fec would keep.
type libCache struct {
	c    *Coder
	opts []reedsolomon.Option
	enc  map[[2]int]reedsolomon.Encoder
}

func (lc *libCache) get(b *testing.B, k, m int) reedsolomon.Encoder {
	if e, ok := lc.enc[[2]int{k, m}]; ok {
		return e
	}
	rows := make([][]byte, m)
	for p := range rows {
		rows[p] = make([]byte, k)
		for i := range rows[p] {
			rows[p][i] = lc.c.Coefficient(p, i)
		}
	}
	e, err := reedsolomon.New(k, m, append([]reedsolomon.Option{reedsolomon.WithCustomMatrix(rows)}, lc.opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	lc.enc[[2]int{k, m}] = e
	return e
}

// libOptions are the library's kernels matching this build: no GFNI under
// -tags nogfni, so each side runs its AVX2 code; and one goroutine, as the
// Coder uses, so that ns/op is CPU time on both sides (by default the
// library splits large blocks over GOMAXPROCS goroutines).
func libOptions(extra ...reedsolomon.Option) []reedsolomon.Option {
	extra = append(extra, reedsolomon.WithMaxGoroutines(1))
	if noGFNI {
		extra = append(extra, reedsolomon.WithGFNI(false), reedsolomon.WithAVX512(false))
	}
	return extra
}

// sideBySide runs one frame's work for the Coder and for the library
// alternately in every iteration and reports each one's time per frame and
// the ratio, so that load from other processes, which this shared machine
// has plenty of, falls on both alike.
func sideBySide(b *testing.B, n int, coder, library func()) {
	var tc, tl time.Duration
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		coder()
		t1 := time.Now()
		library()
		tl += time.Since(t1)
		tc += t1.Sub(t0)
	}
	b.ReportMetric(float64(tc.Nanoseconds())/float64(b.N), "coder-ns/frame")
	b.ReportMetric(float64(tl.Nanoseconds())/float64(b.N), "library-ns/frame")
	b.ReportMetric(float64(tl)/float64(tc), "library/coder")
}

func BenchmarkEncode(b *testing.B) {
	for _, n := range benchFrames {
		blocks := benchBlocks(b, n)
		b.Run(fmt.Sprintf("%dKB", n>>10), func(b *testing.B) {
			c := newTestCoder(b)
			lc := &libCache{c: c, opts: libOptions(), enc: map[[2]int]reedsolomon.Encoder{}}
			sideBySide(b, n, func() {
				for _, bl := range blocks {
					if err := c.Encode(bl.data, bl.parity); err != nil {
						b.Fatal(err)
					}
				}
			}, func() {
				for _, bl := range blocks {
					if err := lc.get(b, bl.k, bl.m).Encode(bl.all); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// lossPattern returns the data shards to lose: 5% of k, at least one, at
// most m, chosen afresh per call by a partial Fisher-Yates shuffle of perm
// (which holds a permutation of 0..k-1 and has room for k).
func lossPattern(rng *rand.Rand, k, m int, perm []int) []int {
	if len(perm) != k {
		perm = perm[:k]
		for i := range perm {
			perm[i] = i
		}
	}
	e := min(max(1, (k*5+99)/100), m)
	for i := range e {
		j := i + rng.IntN(k-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm[:e]
}

func BenchmarkReconstruct(b *testing.B) {
	for _, n := range benchFrames {
		blocks := benchBlocks(b, n)
		c := newTestCoder(b)
		for _, bl := range blocks {
			if err := c.Encode(bl.data, bl.parity); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("%dKB", n>>10), func(b *testing.B) {
			for _, cache := range []bool{true, false} {
				b.Run(fmt.Sprintf("inversion-cache-%v", cache), func(b *testing.B) {
					lc := &libCache{c: c, opts: libOptions(reedsolomon.WithInversionCache(cache)), enc: map[[2]int]reedsolomon.Encoder{}}
					reconstructSideBySide(b, n, blocks, c, lc)
				})
			}
		})
	}
}

// reconstructSideBySide loses the same shards of every block for both
// sides in each iteration, then rebuilds them with each.
func reconstructSideBySide(b *testing.B, n int, blocks []benchBlock, c *Coder, lc *libCache) {
	rng := rand.New(rand.NewPCG(93, 94))
	perm := make([]int, 0, MaxShards)
	lost := make([][]int, len(blocks))
	own := make([][][]byte, len(blocks)) // data then private parity copies
	lib := make([][][]byte, len(blocks))
	for i, bl := range blocks {
		own[i] = make([][]byte, bl.k+bl.m)
		for p := range bl.m {
			own[i][bl.k+p] = append([]byte(nil), bl.parity[p]...)
		}
		lib[i] = make([][]byte, bl.k+bl.m)
		lost[i] = make([]int, 0, MaxShards)
	}
	sideBySide(b, n, func() {
		for i, bl := range blocks {
			lost[i] = append(lost[i][:0], lossPattern(rng, bl.k, bl.m, perm[:0])...)
			d, p := own[i][:bl.k], own[i][bl.k:]
			copy(d, bl.data)
			copy(p, bl.parity) // Reconstruct overwrites the parity it uses
			for _, j := range lost[i] {
				d[j] = d[j][:0]
			}
			if _, err := c.Reconstruct(d, p, len(bl.data[0])); err != nil {
				b.Fatal(err)
			}
		}
	}, func() {
		for i, bl := range blocks {
			w := lib[i]
			copy(w, bl.all)
			for _, j := range lost[i] {
				w[j] = w[j][:0]
			}
			if err := lc.get(b, bl.k, bl.m).ReconstructData(w); err != nil {
				b.Fatal(err)
			}
		}
	})
}
