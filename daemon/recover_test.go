package daemon_test

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/testutil"
	"github.com/vstreamd/vstreamd/packetizer"
)

// dropRelay forwards datagrams between two endpoints on loopback and drops
// every datagram of the frames drop picks (from a to b only).
type dropRelay struct {
	conn    *net.UDPConn
	a, b    netip.AddrPort
	drop    func(frame uint32) bool
	dropped atomic.Uint64
	wg      sync.WaitGroup
}

func newDropRelay(t *testing.T, a, b netip.AddrPort, drop func(uint32) bool) *dropRelay {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &dropRelay{conn: c, a: a, b: b, drop: drop}
	r.wg.Go(r.run)
	t.Cleanup(func() { c.Close(); r.wg.Wait() })
	return r
}

func (r *dropRelay) addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (r *dropRelay) run() {
	buf := make([]byte, 65536)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		to := r.a
		if from == r.a {
			to = r.b
			if h, err := packetizer.ParseHeader(buf[:n]); err == nil && h.Kind.IsShard() && r.drop(h.Frame) {
				r.dropped.Add(1)
				continue
			}
		}
		_, _ = r.conn.WriteToUDPAddrPort(buf[:n], to)
	}
}

// TestRecoverAfterLoss runs an H.264-like call (inter frames) in which the
// relay drops every datagram of some frames. The receiver must never show a
// frame whose chain includes a lost frame: it freezes, asks for a recovery
// point, and shows again from the keyframe the sender forces. It also
// joins mid-stream: its first frames depend on frames it never saw.
func TestRecoverAfterLoss(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	lost := map[uint32]bool{20: true, 45: true, 46: true}
	relay := newDropRelay(t, pa, pb, func(id uint32) bool { return lost[id] })
	src := fake.NewSource(60, 80, 4000)
	src.Inter = true
	sink := fake.NewSink()
	a := start(t, "A", testConfig(t, pa, relay.addr()), src, nil)
	b := start(t, "B", testConfig(t, pb, relay.addr()), nil, sink)

	testutil.WaitFor(t, "frames after the last loss to show again", 20*time.Second, func() bool {
		for _, f := range sink.Frames() {
			if f.ID > 46 && f.Use == packetizer.UseShow && f.Start > 46 {
				return true
			}
		}
		return false
	})
	frames := sink.Frames()
	if relay.dropped.Load() == 0 {
		t.Fatal("the relay dropped nothing: the test did not test loss")
	}
	var shown, frozen int
	for i, f := range frames {
		if f.Codec != packetizer.CodecH264 || !f.Intact {
			t.Fatalf("frame %d: codec %v intact %v", f.ID, f.Codec, f.Intact)
		}
		if f.Use != packetizer.UseShow {
			frozen++
			continue
		}
		shown++
		// Shown: its chain starts at a keyframe that arrived, and no frame
		// from there to here is missing.
		for id := f.Start; id != f.ID; id++ {
			if lost[id] {
				t.Fatalf("frame %d shown from a chain starting at %d, across lost frame %d", f.ID, f.Start, id)
			}
		}
		if i > 0 && frames[i-1].ID != f.ID-1 && f.Start != f.ID {
			t.Fatalf("frame %d shown right after a gap (previous %d) without being a keyframe", f.ID, frames[i-1].ID)
		}
	}
	st := b.d.Status()
	t.Logf("shown %d, frozen %d; receiver: %d recoveries, %d requests, last freeze %.0f ms; sender: %d keyframes, %d forced of %d requests",
		shown, frozen, st.RX.Recoveries, st.RX.RecoverRequests, st.RX.LastFreezeMs, src.Keyframes(), a.d.Status().TX.KeyframesForced, a.d.Status().TX.RecoverRequests)
	if frozen == 0 || st.RX.FramesFrozen == 0 {
		t.Fatalf("nothing frozen (sink %d, status %d) although frames were lost", frozen, st.RX.FramesFrozen)
	}
	if st.RX.Recoveries < 2 || st.RX.RecoverRequests < 2 || src.Keyframes() < 3 {
		t.Fatalf("recoveries %d, requests %d, keyframes %d; want >= 2, 2, 3 (the first frame and one per loss)",
			st.RX.Recoveries, st.RX.RecoverRequests, src.Keyframes())
	}
	if st.RX.Codec != "h264" {
		t.Fatalf("status codec %q, want h264", st.RX.Codec)
	}
}

// TestRecoverAfterSinkBreak: the sink reports a frame it could not decode;
// the receiver treats the chain as broken and recovers through a keyframe.
func TestRecoverAfterSinkBreak(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	src := fake.NewSource(60, 80, 4000)
	src.Inter = true
	sink := fake.NewSink()
	start(t, "A", testConfig(t, pa, pb), src, nil)
	start(t, "B", testConfig(t, pb, pa), nil, sink)
	shownAfter := func(id uint32) bool {
		for _, f := range sink.Frames() {
			if f.ID > id && f.Use == packetizer.UseShow {
				return true
			}
		}
		return false
	}
	testutil.WaitFor(t, "a frame to show", 10*time.Second, func() bool { return shownAfter(0) })
	keys := src.Keyframes()
	sink.Break()
	breakAt := sink.Frames()[len(sink.Frames())-1].ID
	testutil.WaitFor(t, "a keyframe after the sink's break", 10*time.Second, func() bool { return src.Keyframes() > keys })
	testutil.WaitFor(t, "frames to show again", 10*time.Second, func() bool {
		for _, f := range sink.Frames() {
			if f.ID > breakAt && f.Use == packetizer.UseShow && f.Start > breakAt {
				return true
			}
		}
		return false
	})
	for _, f := range sink.Frames() {
		if f.ID > breakAt+1 && f.Use == packetizer.UseShow && f.Start <= breakAt {
			t.Fatalf("frame %d shown from a chain starting at %d, before the sink's break after %d", f.ID, f.Start, breakAt)
		}
	}
}
