package packetizer

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// outcomes sums every per-frame outcome counter.
func outcomes(s *RxStats) uint64 {
	return s.FramesDelivered.Load() + s.FramesLate.Load() + s.FramesIncomplete.Load() + s.FramesCorrupt.Load() + s.FramesLost.Load()
}

// TestLossExhaustive tries every loss pattern on single-block frames of up
// to 12 datagrams: the frame is delivered, byte for byte, exactly when at
// most its parity count was lost, and is never delivered otherwise.
func TestLossExhaustive(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const shard = MinDatagram - HeaderLen
	for _, g := range []struct {
		ratio float64
		k     int
	}{{0, 1}, {0, 4}, {0.25, 1}, {0.25, 3}, {0.25, 8}, {0.5, 2}, {0.5, 6}, {1, 4}, {1, 6}, {2, 1}, {2, 3}, {2, 4}, {0.1, 9}} {
		p, a := newPair(t, Config{MaxDatagram: MinDatagram, Parity: g.ratio}, AssemblerConfig{})
		frame := randomFrame(rng, g.k*shard-rng.IntN(shard))
		dgrams, info := split(t, p, frame, 1)
		n := len(dgrams)
		m := n - g.k
		if info.Layout.Data != g.k || n > 12 {
			t.Fatalf("geometry %+v: got %d data shards and %d datagrams", g, info.Layout.Data, n)
		}
		for mask := 0; mask < 1<<n; mask++ {
			var kept [][]byte
			lost := 0
			for i, d := range dgrams {
				if mask&(1<<i) != 0 {
					lost++
					continue
				}
				h, _ := ParseHeader(d)
				h.Frame = uint32(mask) // a fresh frame id per pattern
				kept = append(kept, append(h.AppendTo(nil), d[HeaderLen:]...))
			}
			got := feed(a, kept, epoch)
			if len(got.errs) != 0 {
				t.Fatalf("geometry %+v mask %b: errors %v", g, mask, got.errs)
			}
			if lost <= m {
				if len(got.frames) != 1 || !bytes.Equal(got.frames[0].Data, frame) {
					t.Fatalf("geometry %+v mask %b: lost %d <= parity %d but %d frames delivered", g, mask, lost, m, len(got.frames))
				}
				continue
			}
			if len(got.frames) != 0 {
				t.Fatalf("geometry %+v mask %b: lost %d > parity %d but a frame was delivered", g, mask, lost, m)
			}
		}
		if c := a.Stats().FramesCorrupt.Load(); c != 0 {
			t.Fatalf("geometry %+v: %d corrupt frames", g, c)
		}
	}
}

// TestLossMultiBlock uses frames of two and three blocks with seeded loss
// patterns near each block's parity count: delivered if and only if every
// block lost at most its parity count.
func TestLossMultiBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	p, a := newPair(t, Config{MaxDatagram: MinDatagram, Parity: 0.1}, AssemblerConfig{})
	for trial := range 300 {
		frame := randomFrame(rng, (300+rng.IntN(400))*(MinDatagram-HeaderLen))
		dgrams, info := split(t, p, frame, 1)
		byBlock := map[uint16][]int{}
		parity := map[uint16]int{}
		for i, d := range dgrams {
			h, _ := ParseHeader(d)
			byBlock[h.Block] = append(byBlock[h.Block], i)
			parity[h.Block] = int(h.Parity)
		}
		drop := make([]bool, len(dgrams))
		recoverable := true
		for b, idx := range byBlock {
			n := max(0, parity[b]-2+rng.IntN(4)) // m-2 .. m+1
			if n > parity[b] {
				recoverable = false
			}
			for _, j := range rng.Perm(len(idx))[:n] {
				drop[idx[j]] = true
			}
		}
		var kept [][]byte
		for i, d := range dgrams {
			if !drop[i] {
				kept = append(kept, d)
			}
		}
		rng.Shuffle(len(kept), func(i, j int) { kept[i], kept[j] = kept[j], kept[i] })
		got := feed(a, kept, epoch.Add(time.Duration(trial)*time.Second))
		if len(got.errs) != 0 {
			t.Fatalf("trial %d: errors %v", trial, got.errs)
		}
		if recoverable != (len(got.frames) == 1) {
			t.Fatalf("trial %d (%d blocks): recoverable %v, delivered %d", trial, info.Layout.Blocks, recoverable, len(got.frames))
		}
		if recoverable && !bytes.Equal(got.frames[0].Data, frame) {
			t.Fatalf("trial %d: delivered frame differs", trial)
		}
	}
	if c := a.Stats().FramesCorrupt.Load(); c != 0 {
		t.Fatalf("%d corrupt frames", c)
	}
}

// sendFrames packetizes count frames of the given size and returns their
// datagrams per frame and the frames.
func sendFrames(t *testing.T, p *Packetizer, rng *rand.Rand, count, size int) ([][][]byte, [][]byte) {
	var dg [][][]byte
	var frames [][]byte
	for range count {
		f := randomFrame(rng, size)
		d, _ := split(t, p, f, 1)
		dg = append(dg, d)
		frames = append(frames, f)
	}
	return dg, frames
}

func TestReorderAndDuplicates(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{})
	dg, frames := sendFrames(t, p, rng, 20, 20000)
	var delivered []Frame
	for i, d := range dg {
		d = append(d, d...) // every datagram twice
		rng.Shuffle(len(d), func(x, y int) { d[x], d[y] = d[y], d[x] })
		got := feed(a, d, epoch)
		if len(got.errs) != 0 || len(got.frames) != 1 || !bytes.Equal(got.frames[0].Data, frames[i]) {
			t.Fatalf("frame %d: %d delivered, errors %v", i, len(got.frames), got.errs)
		}
		delivered = append(delivered, got.frames...)
	}
	s := a.Stats()
	if s.Duplicates.Load() == 0 || s.Excess.Load() == 0 {
		t.Errorf("duplicates %d, excess %d: want both counted", s.Duplicates.Load(), s.Excess.Load())
	}
	for i, f := range delivered {
		if f.ID != uint32(i) {
			t.Fatalf("delivery %d has frame id %d", i, f.ID)
		}
	}
}

// TestInterleavedFrames interleaves the datagrams of several frames round
// robin: each completes in order and is delivered once.
func TestInterleavedFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{})
	dg, frames := sendFrames(t, p, rng, 4, 50000)
	var all [][]byte
	for i := 0; ; i++ {
		added := false
		for _, d := range dg {
			if i < len(d) {
				all = append(all, d[i])
				added = true
			}
		}
		if !added {
			break
		}
	}
	got := feed(a, all, epoch)
	if len(got.frames) != 4 || len(got.errs) != 0 {
		t.Fatalf("delivered %d frames, errors %v; want 4", len(got.frames), got.errs)
	}
	for i, f := range got.frames {
		if f.ID != uint32(i) || !bytes.Equal(f.Data, frames[i]) {
			t.Fatalf("delivery %d: frame %d, want %d intact", i, f.ID, i)
		}
	}
}

// TestNewerFirst: a frame that completes before an older one is delivered
// at once; the older one is then late and never delivered.
func TestNewerFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	p, a := newPair(t, Config{Parity: 0}, AssemblerConfig{})
	dg, _ := sendFrames(t, p, rng, 3, 5000)
	got := feed(a, dg[0][:2], epoch)  // frame 0 partly
	got2 := feed(a, dg[1], epoch)     // frame 1 whole
	got3 := feed(a, dg[0][2:], epoch) // rest of frame 0
	if len(got.frames)+len(got3.frames) != 0 || len(got2.frames) != 1 || got2.frames[0].ID != 1 {
		t.Fatalf("delivered %v / %v / %v, want only frame 1", got.frames, got2.frames, got3.frames)
	}
	s := a.Stats()
	if s.FramesLate.Load() != 1 || s.LateDatagrams.Load() != uint64(len(dg[0])-2) {
		t.Fatalf("late frames %d, late datagrams %d; want 1 and %d", s.FramesLate.Load(), s.LateDatagrams.Load(), len(dg[0])-2)
	}
	// A frame lost entirely is counted once the next one is delivered.
	if got := feed(a, dg[2], epoch); len(got.frames) != 1 {
		t.Fatal("frame 2 not delivered")
	}
	if s.FramesLost.Load() != 0 || outcomes(s) != 3 {
		t.Fatalf("lost %d, outcomes %d; want 0 and 3", s.FramesLost.Load(), outcomes(s))
	}
	dg, _ = sendFrames(t, p, rng, 2, 5000) // frames 3 and 4; 3 never arrives
	feed(a, dg[1], epoch)
	if s.FramesLost.Load() != 1 || outcomes(s) != 5 {
		t.Fatalf("lost %d, outcomes %d; want 1 and 5", s.FramesLost.Load(), outcomes(s))
	}
}

func TestDeadline(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{MaxDelay: 100 * time.Millisecond})
	dg, frames := sendFrames(t, p, rng, 2, 30000)
	feed(a, dg[0][:5], epoch)
	if got := feed(a, dg[0][5:], epoch.Add(101*time.Millisecond)); len(got.frames) != 0 {
		t.Fatal("frame delivered after its deadline")
	}
	s := a.Stats()
	if s.FramesIncomplete.Load() != 1 || s.LateDatagrams.Load() != uint64(len(dg[0])-5) {
		t.Fatalf("incomplete %d, late datagrams %d; want 1 and %d", s.FramesIncomplete.Load(), s.LateDatagrams.Load(), len(dg[0])-5)
	}
	// Just inside the deadline is fine; Expire without traffic also drops.
	feed(a, dg[1][:1], epoch.Add(time.Second))
	got := feed(a, dg[1][1:], epoch.Add(time.Second+100*time.Millisecond))
	if len(got.frames) != 1 || !bytes.Equal(got.frames[0].Data, frames[1]) {
		t.Fatal("frame completing exactly at its deadline was not delivered")
	}
	if outcomes(s) != 2 {
		t.Fatalf("outcomes %d, want 2", outcomes(s))
	}
	dg, _ = sendFrames(t, p, rng, 1, 30000)
	feed(a, dg[0][:1], epoch.Add(2*time.Second))
	a.Expire(epoch.Add(3 * time.Second))
	if s.FramesIncomplete.Load() != 2 {
		t.Fatalf("Expire: incomplete %d, want 2", s.FramesIncomplete.Load())
	}
}

func TestWrapAround(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{})
	p.next = 0xFFFFFFF0
	dg, frames := sendFrames(t, p, rng, 40, 3000)
	for i := range dg {
		// drop one datagram in three frames of four, to exercise recovery too
		if i%4 != 0 {
			dg[i] = dg[i][1:]
		}
		got := feed(a, dg[i], epoch)
		want := uint32(0xFFFFFFF0) + uint32(i)
		if len(got.frames) != 1 || got.frames[0].ID != want || !bytes.Equal(got.frames[0].Data, frames[i]) {
			t.Fatalf("frame %d (id %#x): delivered %d frames", i, want, len(got.frames))
		}
	}
	s := a.Stats()
	if s.FramesDelivered.Load() != 40 || s.FramesRecovered.Load() != 30 || outcomes(s) != 40 {
		t.Fatalf("delivered %d, recovered %d, outcomes %d; want 40, 30, 40", s.FramesDelivered.Load(), s.FramesRecovered.Load(), outcomes(s))
	}
	// Across the wrap, an old frame is still old.
	old, _ := split(t, p, []byte("x"), 1)
	h, _ := ParseHeader(old[0])
	h.Frame = 0xFFFFFFFF
	feed(a, [][]byte{append(h.AppendTo(nil), old[0][HeaderLen:]...)}, epoch)
	if s.LateDatagrams.Load() != 1 {
		t.Fatalf("frame 0xFFFFFFFF after frame 0x17: late datagrams %d, want 1", s.LateDatagrams.Load())
	}
}

func TestSessionChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	pa, a := newPair(t, Config{Parity: 0, Session: 0xA}, AssemblerConfig{})
	pb, _ := newPair(t, Config{Parity: 0, Session: 0xB}, AssemblerConfig{})
	pa.next = 5
	da, _ := sendFrames(t, pa, rng, 1, 10000) // session A, frame 5
	db, fb := sendFrames(t, pb, rng, 1, 10000)
	pb.next = 0
	pb.next = 5
	db5, fb5 := sendFrames(t, pb, rng, 1, 10000) // session B, also frame 5
	feed(a, da[0][:3], epoch)                    // half of A's frame 5
	got := feed(a, db[0], epoch)                 // the restarted peer's frame 0
	if len(got.frames) != 1 || !bytes.Equal(got.frames[0].Data, fb[0]) || got.frames[0].Session != 0xB {
		t.Fatalf("new session's first frame not delivered intact: %d frames", len(got.frames))
	}
	got = feed(a, db5[0], epoch)
	if len(got.frames) != 1 || !bytes.Equal(got.frames[0].Data, fb5[0]) {
		t.Fatal("new session's frame 5 not delivered intact (mixed with the old session's frame 5?)")
	}
	got = feed(a, da[0][3:], epoch) // the rest of the old session's frame
	if len(got.frames) != 0 || len(got.errs) != len(da[0])-3 || !errors.Is(got.errs[0], ErrStaleSession) {
		t.Fatalf("stale session: %d frames, errors %v", len(got.frames), got.errs)
	}
	s := a.Stats()
	if s.SessionChanges.Load() != 1 || s.FramesIncomplete.Load() != 1 || s.Invalid[ReasonStaleSession].Load() != uint64(len(da[0])-3) {
		t.Fatalf("session changes %d, incomplete %d, stale %d", s.SessionChanges.Load(), s.FramesIncomplete.Load(), s.Invalid[ReasonStaleSession].Load())
	}
	if id, ok := a.Session(); !ok || id != 0xB {
		t.Fatalf("Session() = %#x, %v; want 0xB", id, ok)
	}
}

func TestPushRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{MaxFrameBytes: 100000})
	dg, _ := sendFrames(t, p, rng, 1, 50000)
	mod := func(f func(h *Header)) []byte {
		h, _ := ParseHeader(dg[0][0])
		f(&h)
		return append(h.AppendTo(nil), dg[0][0][HeaderLen:]...)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"control kind", (&Header{Kind: KindHello}).AppendTo(nil), ErrKind},
		{"short payload", dg[0][0][:len(dg[0][0])-1], ErrPayload},
		{"long payload", append(append([]byte(nil), dg[0][0]...), 0), ErrPayload},
	}
	for _, tt := range tests {
		if _, err := a.Receive(tt.in, epoch); !errors.Is(err, tt.want) {
			t.Errorf("%s: Receive error = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Too large for this receiver, though well formed.
	big, _ := NewPacketizer(Config{Parity: 0}, nil)
	bd, _ := split(t, big, make([]byte, 200000), 1)
	if _, err := a.Receive(bd[0], epoch); !errors.Is(err, ErrTooLarge) {
		t.Errorf("200 KB frame to a 100 KB receiver: %v, want ErrTooLarge", err)
	}
	// Datagrams that disagree with the first one of their frame.
	feed(a, dg[0][:1], epoch)
	for _, f := range []func(h *Header){
		func(h *Header) { h.CRC++ },
		func(h *Header) { h.Captured++ },
		func(h *Header) { h.Shard, h.Kind = 1, KindData },
	} {
		in := mod(f)
		_, err := a.Receive(in, epoch)
		h, _ := ParseHeader(in)
		if h.Shard == 1 { // same frame, different shard: fine, but then its CRC differs? no: accepted
			if err != nil {
				t.Errorf("a genuine second shard was rejected: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrInconsistent) {
			t.Errorf("inconsistent header: %v, want ErrInconsistent", err)
		}
	}
	if got := a.Stats().InvalidTotal(); got != 6 {
		t.Errorf("InvalidTotal = %d, want 6", got)
	}
}

// TestCorruptNeverDelivered flips one payload bit of one datagram in every
// frame: the CRC-32C check catches it and the frame is not delivered.
func TestCorruptNeverDelivered(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{})
	for i := range 200 {
		frame := randomFrame(rng, 1+rng.IntN(40000))
		dg, _ := split(t, p, frame, 1)
		j := rng.IntN(len(dg))
		dg[j][HeaderLen+rng.IntN(len(dg[j])-HeaderLen)] ^= 1 << rng.IntN(8)
		// Deliver the corrupted one first, so it is used whatever its kind.
		dg[0], dg[j] = dg[j], dg[0]
		got := feed(a, dg, epoch)
		for _, f := range got.frames {
			if !bytes.Equal(f.Data, frame) {
				t.Fatalf("frame %d: a corrupt frame was delivered", i)
			}
		}
	}
	if a.Stats().FramesCorrupt.Load() == 0 {
		t.Fatal("no corruption detected at all")
	}
}

// TestHostileBounded floods an Assembler with well-formed headers claiming
// the largest frames, each with a new id: buffers stay within
// MaxBufferBytes, nothing is delivered, and real frames still get through.
func TestHostileBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const budget = 8 << 20
	p, a := newPair(t, Config{Parity: 0.25}, AssemblerConfig{MaxBufferBytes: budget})
	big, _ := NewPacketizer(Config{Parity: 2, Session: 0}, nil)
	huge, _ := split(t, big, make([]byte, DefaultMaxFrameBytes), 1)
	h0, _ := ParseHeader(huge[0])
	for i := range 20000 {
		h := h0
		h.Frame = uint32(i % 1000)
		h.Block = uint16(rng.IntN(int(h.Blocks)))
		_, k := mustLayout(t, &h).Block(int(h.Block))
		h.Data, h.Parity, h.Shard, h.Kind = uint16(k), uint16(min(2*k, 256-k)), 0, KindData
		d := append(h.AppendTo(nil), huge[0][HeaderLen:]...)
		if f, _ := a.Receive(d, epoch.Add(time.Duration(i)*time.Microsecond)); f.Data != nil {
			t.Fatal("a hostile frame was delivered")
		}
		if a.bufBytes > budget {
			t.Fatalf("after %d datagrams buffers hold %d bytes, budget %d", i, a.bufBytes, budget)
		}
	}
	p.next = 1 << 20 // far ahead: accepted once the flood's frames expired
	dg, frames := sendFrames(t, p, rng, 1, 80000)
	got := feed(a, dg[0], epoch.Add(time.Minute))
	if len(got.frames) != 1 || !bytes.Equal(got.frames[0].Data, frames[0]) {
		t.Fatalf("a real frame after the flood: %d delivered, errors %v", len(got.frames), got.errs)
	}
}

func mustLayout(t *testing.T, h *Header) interface{ Block(int) (int, int) } {
	t.Helper()
	l, err := fecReceived(h)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
