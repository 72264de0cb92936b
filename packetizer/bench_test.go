package packetizer

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/reedsolomon"
	"github.com/vstreamd/vstreamd/fec"
)

// The benchmarks compare the project's whole path (header, copy, CRC-32C,
// Reed-Solomon) with the raw klauspost/reedsolomon Encode and ReconstructData
// on the same block geometry, frame sizes of a 480p, 720p and 1080p-ish JPEG.
//
//	go test ./packetizer -run '^$' -bench . -benchmem
var benchSizes = []int{30 << 10, 100 << 10, 400 << 10}

const benchLoss = 0.05

func benchName(n int) string { return fmt.Sprintf("%dKB", n>>10) }

// blocksOf returns, per block of the frame's layout, its shards (data views
// into a padded copy of the frame, then fresh parity) and parity count.
func blocksOf(frame []byte, l fec.Layout, ratio float64) [][][]byte {
	padded := make([]byte, l.Padded())
	copy(padded, frame)
	var out [][][]byte
	for b := range l.Blocks {
		first, k := l.Block(b)
		m := fec.ParityShards(k, ratio)
		shards := make([][]byte, k+m)
		for i := range k {
			shards[i] = padded[(first+i)*l.ShardSize : (first+i+1)*l.ShardSize]
		}
		for j := range m {
			shards[k+j] = make([]byte, l.ShardSize)
		}
		out = append(out, shards)
	}
	return out
}

func BenchmarkSplit(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(benchName(n), func(b *testing.B) {
			p, _ := newPair(b, Config{Parity: fec.DefaultRatio}, AssemblerConfig{})
			frame := randomFrame(rand.New(rand.NewPCG(81, 82)), n)
			emit := func([]byte) error { return nil }
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Packetize(frame, 1, emit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawEncode(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(benchName(n), func(b *testing.B) {
			frame := randomFrame(rand.New(rand.NewPCG(81, 82)), n)
			l, _ := fec.Plan(n, DefaultDatagram-HeaderLen, fec.DefaultRatio)
			blocks := blocksOf(frame, l, fec.DefaultRatio)
			encs := make([]reedsolomon.Encoder, len(blocks))
			for i, s := range blocks {
				_, k := l.Block(i)
				encs[i], _ = reedsolomon.New(k, len(s)-k)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				for i, s := range blocks {
					if err := encs[i].Encode(s); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// lossyStream returns the datagrams of count frames of n bytes with loss
// applied (seeded), keeping only frames that remain recoverable so every
// iteration does the same work: all of it ends in a delivered frame.
func lossyStream(b *testing.B, n, count int) [][][]byte {
	rng := rand.New(rand.NewPCG(83, 84))
	p, _ := newPair(b, Config{Parity: fec.DefaultRatio}, AssemblerConfig{})
	var frames [][][]byte
	for len(frames) < count {
		dg, _ := split(b, p, randomFrame(rng, n), 1)
		lost := map[uint16]int{}
		var kept [][]byte
		ok := true
		for _, d := range dg {
			h, _ := ParseHeader(d)
			if rng.Float64() < benchLoss {
				lost[h.Block]++
				if lost[h.Block] > int(h.Parity) {
					ok = false
				}
				continue
			}
			kept = append(kept, d)
		}
		if ok {
			frames = append(frames, kept)
		}
	}
	return frames
}

func BenchmarkAssemble(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(benchName(n)+"-loss5", func(b *testing.B) {
			frames := lossyStream(b, n, 64)
			_, a := newPair(b, Config{}, AssemblerConfig{})
			id := uint32(0)
			push := func() {
				for _, d := range frames[id%uint32(len(frames))] {
					binary.BigEndian.PutUint32(d[offFrame:], id) // a fresh frame id each time
					f, err := a.Receive(d, epoch)
					if err != nil {
						b.Fatal(err)
					}
					_ = f
				}
				id++
			}
			for range len(frames) {
				push() // warm up buffers
			}
			before := a.Stats().FramesDelivered.Load()
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				push()
			}
			b.StopTimer()
			if got := a.Stats().FramesDelivered.Load() - before; got != uint64(b.N) {
				b.Fatalf("delivered %d of %d frames", got, b.N)
			}
		})
	}
}

func BenchmarkRawReconstruct(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(benchName(n)+"-loss5", func(b *testing.B) {
			rng := rand.New(rand.NewPCG(83, 84))
			frame := randomFrame(rng, n)
			l, _ := fec.Plan(n, DefaultDatagram-HeaderLen, fec.DefaultRatio)
			blocks := blocksOf(frame, l, fec.DefaultRatio)
			encs := make([]reedsolomon.Encoder, len(blocks))
			for i, s := range blocks {
				_, k := l.Block(i)
				encs[i], _ = reedsolomon.New(k, len(s)-k)
				_ = encs[i].Encode(s)
			}
			// The same loss rate, a fresh recoverable pattern every
			// iteration as on a real link (the library caches the inverted
			// matrix per pattern; a few dozen repeating patterns would
			// measure its cache, not 5% loss).
			lost := make([][]bool, len(blocks))
			for i, s := range blocks {
				lost[i] = make([]bool, len(s))
			}
			draw := func() {
				for i, s := range blocks {
					_, k := l.Block(i)
					for {
						c := 0
						for j := range s {
							lost[i][j] = rng.Float64() < benchLoss
							if lost[i][j] {
								c++
							}
						}
						if c <= len(s)-k {
							break
						}
					}
				}
			}
			work := make([][][]byte, len(blocks))
			for i, s := range blocks {
				work[i] = make([][]byte, len(s))
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				draw()
				for i, s := range blocks {
					w := work[i]
					for j := range s {
						w[j] = s[j]
						if lost[i][j] {
							w[j] = s[j][:0] // capacity kept: no allocation for the output
						}
					}
					if err := encs[i].ReconstructData(w); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
