package packetizer

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/fec"
)

// epoch is an arbitrary fixed clock for tests that inject time.
var epoch = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newPair(t testing.TB, pc Config, ac AssemblerConfig) (*Packetizer, *Assembler) {
	t.Helper()
	p, err := NewPacketizer(pc, nil)
	if err != nil {
		t.Fatalf("NewPacketizer(%+v): %v", pc, err)
	}
	a, err := NewAssembler(ac, nil)
	if err != nil {
		t.Fatalf("NewAssembler: %v", err)
	}
	return p, a
}

// split packetizes frame and returns copies of its datagrams in send order.
func split(t testing.TB, p *Packetizer, frame []byte, captured int64) ([][]byte, FrameInfo) {
	t.Helper()
	var out [][]byte
	info, err := p.Packetize(frame, captured, func(d []byte) error {
		out = append(out, append([]byte(nil), d...))
		return nil
	})
	if err != nil {
		t.Fatalf("Packetize(%d bytes): %v", len(frame), err)
	}
	return out, info
}

func randomFrame(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// delivery is what feeding datagrams to an Assembler produced.
type delivery struct {
	frames []Frame // with Data copied
	errs   []error
}

func feed(a *Assembler, dgrams [][]byte, now time.Time) delivery {
	var d delivery
	for _, dg := range dgrams {
		f, err := a.Receive(dg, now)
		if err != nil {
			d.errs = append(d.errs, err)
		}
		if f.Data != nil {
			f.Data = append([]byte(nil), f.Data...)
			d.frames = append(d.frames, f)
		}
	}
	return d
}

func fecReceived(h *Header) (fec.Layout, error) {
	return fec.Received(int(h.FrameLen), int(h.ShardSize), int(h.Blocks))
}
