package daemon

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/alarm"
	"github.com/vstreamd/vstreamd/daemon/udp"
	"github.com/vstreamd/vstreamd/packetizer"
)

// batchRecorder stands in for the socket and keeps what each WriteBatch
// carried.
type batchRecorder struct {
	batches [][]packetizer.Kind // kinds of the datagrams, per batch
	bytes   []int
	refuse  int // datagrams of each batch to report as not sent
}

func (r *batchRecorder) WriteBatch(b *udp.Batch) (int, error) {
	kinds := make([]packetizer.Kind, b.Len())
	for i := range kinds {
		h, err := packetizer.ParseHeader(b.Datagram(i))
		if err != nil {
			return 0, err
		}
		kinds[i] = h.Kind
	}
	r.batches = append(r.batches, kinds)
	r.bytes = append(r.bytes, b.Bytes())
	return b.Len() - min(r.refuse, b.Len()), nil
}

func newTestSender(t *testing.T, mbps float64) (*frameSender, *batchRecorder, *packetizer.Packetizer) {
	t.Helper()
	rec := &batchRecorder{}
	s := &frameSender{w: rec, pace: &pacer{}, sent: &sendTimes{}, errs: &atomic.Uint64{},
		batch: udp.NewBatch(batchDatagrams, packetizer.MaxDatagram), alarm: alarm.New()}
	t.Cleanup(s.close)
	s.pace.setRate(mbps)
	pk, err := packetizer.NewPacketizer(packetizer.Config{Parity: 0.25}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, rec, pk
}

// Unpaced, a 100 KB frame leaves in two batches: its data, sent before the
// parity is computed, then its parity.
func TestFrameSenderDataThenParity(t *testing.T) {
	s, rec, pk := newTestSender(t, 0)
	info, err := pk.PacketizeTo(make([]byte, 100_000), 0, s)
	s.flush()
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 2 {
		t.Fatalf("%d batches, want 2 (data, parity)", len(rec.batches))
	}
	for i, want := range []packetizer.Kind{packetizer.KindData, packetizer.KindParity} {
		for _, k := range rec.batches[i] {
			if k != want {
				t.Fatalf("batch %d holds a %v datagram, want only %v", i, k, want)
			}
		}
	}
	if got := len(rec.batches[0]) + len(rec.batches[1]); got != info.Datagrams {
		t.Errorf("%d datagrams in batches, packetizer sent %d", got, info.Datagrams)
	}
}

// Paced, no batch carries more than the pacer lets go at once: its burst
// plus a millisecond's worth (it holds the sender back only beyond that),
// plus the datagram that tipped it.
func TestFrameSenderKeepsToThePacer(t *testing.T) {
	const mbps = 200
	s, rec, pk := newTestSender(t, mbps)
	for range 3 {
		if _, err := pk.PacketizeTo(make([]byte, 100_000), 0, s); err != nil {
			t.Fatal(err)
		}
		s.flush()
	}
	limit := paceBurst + int(mbps*1e6/8/1000) + packetizer.MaxDatagram
	if len(rec.batches) < 6 {
		t.Errorf("%d batches for 3 frames at %d Mb/s, want the pacer to split them", len(rec.batches), mbps)
	}
	for i, n := range rec.bytes {
		if n > limit {
			t.Errorf("batch %d carries %d bytes, more than the pacer allows at once (%d)", i, n, limit)
		}
	}
}

func TestFrameSenderCountsRefused(t *testing.T) {
	s, rec, pk := newTestSender(t, 0)
	rec.refuse = 3
	if _, err := pk.PacketizeTo(make([]byte, 30_000), 0, s); err != nil {
		t.Fatal(err)
	}
	s.flush()
	if got, want := s.errs.Load(), uint64(3*len(rec.batches)); got != want {
		t.Errorf("%d send errors counted, want %d", got, want)
	}
}

func TestFrameSenderAllocs(t *testing.T) {
	s, _, pk := newTestSender(t, 0)
	frame := make([]byte, 100_000)
	s.w = discard{}
	sent := 0
	if a := testing.AllocsPerRun(20, func() {
		info, err := pk.PacketizeTo(frame, 0, s)
		if err != nil {
			t.Fatal(err)
		}
		s.flush()
		sent += info.Datagrams
	}); a != 0 {
		t.Errorf("%v allocations per frame, want 0", a)
	}
	if sent == 0 {
		t.Fatal("nothing sent: the path under test did not run")
	}
}

type discard struct{}

func (discard) WriteBatch(b *udp.Batch) (int, error) { return b.Len(), nil }

// keepAll stands in for the socket and keeps copies of the datagrams.
type keepAll struct{ dgs [][]byte }

func (k *keepAll) WriteBatch(b *udp.Batch) (int, error) {
	for i := range b.Len() {
		k.dgs = append(k.dgs, bytes.Clone(b.Datagram(i)))
	}
	return b.Len(), nil
}

// The datagrams built in the batch from header and payload, paced or not,
// are byte for byte those the packetizer gives whole, and the frames they
// carry reassemble; a datagram given whole to Send goes out the same.
func TestFrameSenderBuildsInPlace(t *testing.T) {
	for _, mbps := range []float64{0, 200} {
		s, _, pk := newTestSender(t, mbps)
		ref, err := packetizer.NewPacketizer(packetizer.Config{Parity: 0.25}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := packetizer.NewAssembler(packetizer.AssemblerConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := &keepAll{}
		s.w = out
		captured := time.Now().Add(time.Hour).UnixNano() // send delay 0 on both
		for i, n := range []int{1, 1144, 30_000, 100_000} {
			frame := bytes.Repeat([]byte{byte(i + 1), 7, 9}, n/3+1)[:n]
			var want [][]byte
			if _, err := ref.Packetize(frame, captured, func(dg []byte) error {
				want = append(want, bytes.Clone(dg))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			out.dgs = out.dgs[:0]
			if _, err := pk.PacketizeTo(frame, captured, s); err != nil {
				t.Fatal(err)
			}
			s.flush()
			if len(out.dgs) != len(want) {
				t.Fatalf("%d Mb/s, %d bytes: %d datagrams sent, want %d", int(mbps), n, len(out.dgs), len(want))
			}
			got := 0
			for j := range want {
				if !bytes.Equal(out.dgs[j], want[j]) {
					t.Fatalf("%d Mb/s, %d bytes: datagram %d differs", int(mbps), n, j)
				}
				if f, err := a.Receive(out.dgs[j], time.Now()); err == nil && bytes.Equal(f.Data, frame) {
					got++
				}
			}
			if got != 1 {
				t.Fatalf("%d Mb/s, %d bytes: frame reassembled %d times", int(mbps), n, got)
			}
		}
		out.dgs = out.dgs[:0]
		whole := make([]byte, 0, 100)
		h := packetizer.Header{Kind: packetizer.KindReport, Packet: 77}
		whole = append(h.AppendTo(whole), "report"...)
		_ = s.Send(whole)
		s.flush()
		if len(out.dgs) != 1 || !bytes.Equal(out.dgs[0], whole) {
			t.Fatalf("Send: sent %q, want %q", out.dgs, whole)
		}
	}
}
