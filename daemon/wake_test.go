package daemon_test

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/testutil"
	"github.com/vstreamd/vstreamd/packetizer"
)

// TestIdleReceiveLoopSleeps: a receiving endpoint whose peer is not there
// wakes for its timed work about every 100 ms (and for the ICMP errors its
// hellos bring back), not every 20 ms as it once did: each wake-up costs a
// Go process several context switches. The bound is on calls per elapsed
// second, which a slow machine only lowers.
func TestIdleReceiveLoopSleeps(t *testing.T) {
	b := start(t, "B", testConfig(t, freePort(t), freePort(t)), nil, fake.NewSink())
	testutil.WaitFor(t, "the receive loop to run", 5*time.Second, func() bool { return b.d.Status().RX.Wakeups > 0 })
	r0, t0 := b.d.Status().RX.Wakeups, time.Now()
	time.Sleep(time.Second) // the window the calls are counted over
	r1, elapsed := b.d.Status().RX.Wakeups, time.Since(t0)
	// 100 ms idle wakes, one ICMP error per 250 ms hello, and slack.
	limit := uint64(elapsed/(100*time.Millisecond)*3/2 + 2*elapsed/(250*time.Millisecond) + 3)
	if turns := r1 - r0; turns > limit {
		t.Errorf("an idle receive loop woke %d times in %v, want at most %d", turns, elapsed, limit)
	} else {
		t.Logf("an idle receive loop woke %d times in %v", turns, elapsed)
	}
}

// TestFrameExpiresWithoutDatagrams: a frame that lost all but its first
// datagram, after which no shard arrives, is still counted incomplete:
// the receive loop wakes for its deadline rather than waiting for the
// next datagram.
func TestFrameExpiresWithoutDatagrams(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	r := newCutRelay(t, pa, pb)
	start(t, "A", testConfig(t, pa, addr(r.a)), fake.NewSource(30, 80, 8000), nil)
	b := start(t, "B", testConfig(t, pb, addr(r.b)), nil, fake.NewSink())
	testutil.WaitFor(t, "frames to be delivered and then one left incomplete", 10*time.Second, func() bool {
		st := b.d.Status()
		return st.RX.FramesDelivered >= 5 && st.RX.FramesIncomplete >= 1
	})
	if st := b.d.Status(); st.RX.FramesCorrupt != 0 {
		t.Errorf("corrupt frames: %d", st.RX.FramesCorrupt)
	}
}

// cutRelay forwards between A and B, but of A's frames from the tenth on
// it lets only the first datagram of the tenth through (control
// datagrams still pass).
type cutRelay struct {
	a, b     *net.UDPConn // facing A, facing B
	toA, toB netip.AddrPort
	wg       sync.WaitGroup
}

func newCutRelay(t *testing.T, toA, toB netip.AddrPort) *cutRelay {
	r := &cutRelay{a: listenLoopback(t), b: listenLoopback(t), toA: toA, toB: toB}
	r.wg.Go(r.fromA)
	r.wg.Go(func() {
		buf := make([]byte, 70000)
		for {
			n, _, err := r.b.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = r.a.WriteToUDPAddrPort(buf[:n], r.toA)
		}
	})
	t.Cleanup(func() { r.a.Close(); r.b.Close(); r.wg.Wait() })
	return r
}

func (r *cutRelay) fromA() {
	buf := make([]byte, 70000)
	var first uint32
	seen := false
	for {
		n, _, err := r.a.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if h, err := packetizer.ParseHeader(buf[:n]); err == nil && h.Kind.IsShard() {
			if !seen {
				first, seen = h.Frame, true
			}
			if cut := first + 10; h.Frame-first >= 10 && !(h.Frame == cut && h.Shard == 0) {
				continue
			}
		}
		_, _ = r.b.WriteToUDPAddrPort(buf[:n], r.toB)
	}
}
