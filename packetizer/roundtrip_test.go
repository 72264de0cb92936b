package packetizer

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/fec"
)

// TestRoundTrip sends frames from 1 byte to the maximum through every
// combination of datagram size and parity ratio, in order and without loss.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const maxFrame = 1 << 20
	sizes := []int{1, 2, 51, 52, 1147, 1148, 1149, 4095, 30000, 100000, 234567, 400000, maxFrame}
	for range 3 {
		sizes = append(sizes, 1+rng.IntN(maxFrame))
	}
	for _, dgram := range []int{MinDatagram, 1200, 1472, 9000} {
		for _, ratio := range []float64{0, 0.1, 0.25, 0.5, 1, 2} {
			p, a := newPair(t, Config{MaxDatagram: dgram, Parity: ratio, MaxFrameBytes: maxFrame, Session: 7, Overhead: 16},
				AssemblerConfig{MaxFrameBytes: maxFrame})
			for _, n := range sizes {
				frame := randomFrame(rng, n)
				dgrams, info := split(t, p, frame, int64(n))
				for _, d := range dgrams {
					if len(d)+16 > dgram {
						t.Fatalf("datagram of %d bytes (+16 overhead) exceeds max %d", len(d), dgram)
					}
				}
				wantParity := 0
				for b := range info.Layout.Blocks {
					_, k := info.Layout.Block(b)
					wantParity += fec.ParityShards(k, ratio)
				}
				if len(dgrams) != info.Layout.Data+wantParity || info.Datagrams != len(dgrams) {
					t.Fatalf("%d bytes at ratio %v: %d datagrams, want %d data + %d parity", n, ratio, len(dgrams), info.Layout.Data, wantParity)
				}
				got := feed(a, dgrams, epoch)
				if len(got.errs) != 0 || len(got.frames) != 1 {
					t.Fatalf("dgram %d ratio %v size %d: frames %d, errors %v", dgram, ratio, n, len(got.frames), got.errs)
				}
				f := got.frames[0]
				if !bytes.Equal(f.Data, frame) || f.ID != info.ID || f.Captured != int64(n) || f.Session != 7 || f.Recovered != 0 {
					t.Fatalf("dgram %d ratio %v size %d: delivered frame %d (%d bytes, captured %d, session %d, recovered %d) differs", dgram, ratio, n, f.ID, len(f.Data), f.Captured, f.Session, f.Recovered)
				}
			}
			s := a.Stats()
			if s.FramesDelivered.Load() != uint64(len(sizes)) || s.FramesLost.Load()+s.FramesLate.Load()+s.FramesIncomplete.Load()+s.FramesCorrupt.Load() != 0 {
				t.Fatalf("dgram %d ratio %v: delivered %d of %d, other outcomes nonzero", dgram, ratio, s.FramesDelivered.Load(), len(sizes))
			}
		}
	}
}

func TestPacketizeRejects(t *testing.T) {
	p, _ := newPair(t, Config{MaxFrameBytes: 1000}, AssemblerConfig{})
	for _, n := range []int{0, 1001} {
		if _, err := p.Packetize(make([]byte, n), 0, func([]byte) error { return nil }); !errors.Is(err, ErrFrameSize) {
			t.Errorf("Packetize(%d bytes) error = %v, want ErrFrameSize", n, err)
		}
	}
	if p.Stats().Rejected.Load() != 2 {
		t.Errorf("Rejected = %d, want 2", p.Stats().Rejected.Load())
	}
	stop := errors.New("stop")
	calls := 0
	if _, err := p.Packetize(make([]byte, 500), 0, func([]byte) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("emit error: Packetize = %v after %d calls, want stop after 1", err, calls)
	}
	for _, c := range []Config{{MaxDatagram: 100}, {MaxDatagram: 70000}, {Parity: 3}, {Parity: -1}, {Overhead: -1}, {MaxDatagram: MinDatagram, MaxFrameBytes: 1 << 30}} {
		if _, err := NewPacketizer(c, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("NewPacketizer(%+v) error = %v, want ErrConfig", c, err)
		}
	}
	if err := p.SetParity(2.5); err == nil {
		t.Errorf("SetParity(2.5) succeeded, want an error")
	}
	if err := p.SetParity(0.5); err != nil || p.Parity() != 0.5 {
		t.Errorf("SetParity(0.5) = %v, Parity() = %v", err, p.Parity())
	}
}

// TestInterleave checks the sending order: all data shards before any parity
// shard, and blocks taking turns (a block appears twice in a row only where
// one phase ends and the next begins).
func TestInterleave(t *testing.T) {
	p, _ := newPair(t, Config{MaxDatagram: 600, Parity: 0.25}, AssemblerConfig{})
	dgrams, info := split(t, p, make([]byte, 600*300), 0)
	if info.Layout.Blocks < 2 {
		t.Fatalf("want a multi-block frame, got %+v", info.Layout)
	}
	sawParity := false
	prevBlock, run := -1, 0
	for i, d := range dgrams {
		h, err := ParseHeader(d)
		if err != nil {
			t.Fatal(err)
		}
		if h.Kind == KindParity {
			sawParity = true
		} else if sawParity {
			t.Fatalf("datagram %d: data shard after a parity shard", i)
		}
		if int(h.Block) == prevBlock {
			run++
		} else {
			run = 1
		}
		if run > 2 {
			t.Fatalf("datagram %d: three consecutive datagrams from block %d", i, h.Block)
		}
		prevBlock = int(h.Block)
	}
}

// partSender takes datagrams as header and payload apart, and records
// them joined; Send must not be called when SendParts is there.
type partSender struct {
	dgs        [][]byte
	sends      int
	dataSentAt int // datagrams before DataSent
}

func (s *partSender) Send([]byte) error { s.sends++; return nil }
func (s *partSender) DataSent() error   { s.dataSentAt = len(s.dgs); return nil }
func (s *partSender) SendParts(header, payload []byte) error {
	s.dgs = append(s.dgs, append(append([]byte(nil), header...), payload...))
	return nil
}

// TestSendParts packetizes frames of several sizes to a PartSender and to
// a plain Sender: the datagrams, joined, are byte for byte the same, Send
// is never called when SendParts is there, the data comes before
// DataSent, and the frames reassemble.
func TestSendParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	cfg := Config{Parity: 0.25, Session: 9}
	plain, a := newPair(t, cfg, AssemblerConfig{})
	parted, _ := newPair(t, cfg, AssemblerConfig{})
	captured := epoch.Add(1000 * time.Hour).UnixNano() // in the future: send delay 0 in both
	for _, n := range []int{1, 1000, 1144, 30_000, 100_000, 400_000} {
		frame := randomFrame(rng, n)
		want, info := split(t, plain, frame, captured)
		var s partSender
		if _, err := parted.PacketizeTo(frame, captured, &s); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if s.sends != 0 || len(s.dgs) != len(want) || s.dataSentAt != len(want)-info.Parity {
			t.Fatalf("%d bytes: %d sends, %d datagrams (want %d), DataSent after %d (want %d)",
				n, s.sends, len(s.dgs), len(want), s.dataSentAt, len(want)-info.Parity)
		}
		for i := range want {
			if !bytes.Equal(s.dgs[i], want[i]) {
				t.Fatalf("%d bytes: datagram %d differs", n, i)
			}
		}
		d := feed(a, s.dgs, epoch)
		if len(d.frames) != 1 || !bytes.Equal(d.frames[0].Data, frame) {
			t.Fatalf("%d bytes: %d frames reassembled, errors %v", n, len(d.frames), d.errs)
		}
	}
}
