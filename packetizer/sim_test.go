package packetizer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/fec/lossmodel"
)

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
		loss  lossmodel.Model
	}{
		{0.25, lossmodel.Model{Loss: 0.01}},
		{0.25, lossmodel.Model{Loss: 0.05}},
		{0.25, lossmodel.Model{Loss: 0.10}},
		{0.25, lossmodel.Model{Loss: 0.20}},
		{0.25, lossmodel.Model{Loss: 0.02, Burst: 4}},
		{0.5, lossmodel.Model{Loss: 0.10}},
		{0, lossmodel.Model{Loss: 0.01}},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-28s %6s %5s %9s %9s %9s\n", "channel", "parity", "n+m", "delivered", "MDS bound", "tolerance")
	for i, row := range rows {
		rng := rand.New(rand.NewPCG(71, uint64(i)))
		ch := lossmodel.NewChannel(row.loss, rng)
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
				if ch.Lost() {
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
			t.Errorf("%v: delivered %d frames, but %d lost at most their parity (MDS says exactly those)", row.loss, delivered, predicted)
		}
		if s.FramesCorrupt.Load() != 0 {
			t.Errorf("%v: %d corrupt frames", row.loss, s.FramesCorrupt.Load())
		}
		got := float64(delivered) / float64(frames)
		bound := 1 - lossmodel.BlockLoss(row.loss, n-m, m)
		tol := 4*math.Sqrt(bound*(1-bound)/float64(frames)) + 1.0/float64(frames)
		fmt.Fprintf(&table, "%-28v %6.2f %5s %8.2f%% %8.2f%% %8.2f%%\n", row.loss, row.ratio, fmt.Sprintf("%d+%d", n-m, m), got*100, bound*100, tol*100)
		if math.Abs(got-bound) > tol {
			t.Errorf("%v: delivered %.4f, MDS bound %.4f, beyond 4 sigma (%.4f)", row.loss, got, bound, tol)
		}
	}
	t.Log(table.String())
}

// TestSendOrderIsInterleaved checks that the packetizer sends a frame's
// datagrams in the order the loss model's frame bound assumes
// (lossmodel.Interleaved), for frames of one to several blocks.
func TestSendOrderIsInterleaved(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	for _, tc := range []struct {
		frameLen int
		ratio    float64
	}{{5000, 0.25}, {100_000, 0.25}, {300_000, 0.25}, {400_000, 0.5}, {600_000, 0}} {
		p, _ := newPair(t, Config{Parity: tc.ratio}, AssemblerConfig{})
		var got []int
		var blocks []lossmodel.Block
		_, err := p.Packetize(randomFrame(rng, tc.frameLen), 1, func(d []byte) error {
			h, err := ParseHeader(d)
			if err != nil {
				return err
			}
			if blocks == nil {
				blocks = make([]lossmodel.Block, h.Blocks)
			}
			blocks[h.Block] = lossmodel.Block{Data: int(h.Data), Parity: int(h.Parity)}
			got = append(got, int(h.Block))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := lossmodel.Interleaved(blocks)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("frame of %d bytes at parity %g: sent blocks %v, lossmodel.Interleaved %v", tc.frameLen, tc.ratio, got, want)
		}
		if len(blocks) < 2 && tc.frameLen >= 300_000 {
			t.Errorf("frame of %d bytes in %d block: want several", tc.frameLen, len(blocks))
		}
	}
}
