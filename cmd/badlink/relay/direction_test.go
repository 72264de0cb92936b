package relay

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
)

// sinkConn is a PacketConn that counts what is written to it and has
// nothing to read.
type sinkConn struct {
	writes, bytes int
	last          netip.AddrPort
}

func (c *sinkConn) ReadMsgUDPAddrPort(b, oob []byte) (n, oobn, flags int, addr netip.AddrPort, err error) {
	return 0, 0, 0, netip.AddrPort{}, net.ErrClosed
}

func (c *sinkConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	c.writes++
	c.bytes += len(b)
	c.last = to
	return len(b), nil
}

func (c *sinkConn) Close() error { return nil }

var (
	testA = netip.MustParseAddrPort("127.0.0.1:5601")
	testB = netip.MustParseAddrPort("127.0.0.1:5602")
)

func testDirection(t testing.TB, p impair.Params, limit int) (*direction, *sinkConn) {
	t.Helper()
	link, err := impair.NewLink(p, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinkConn{}
	return newDirection(NameA2B, link, [2]netip.AddrPort{testA}, [2]netip.AddrPort{testB}, sink, sink, limit, DefaultMaxSize, time.Now()), sink
}

// step pushes one datagram through the reader and sender halves without
// their goroutines: arrival at now, then a flush at now+after.
func step(d *direction, p []byte, from netip.AddrPort, now, after time.Duration) {
	d.handle(p, from, now)
	d.takeQueued()
	d.flush(now + after)
}

func TestDirectionSteadyStateDoesNotAllocate(t *testing.T) {
	p := impair.Params{Loss: 0.05, Burst: 2, Delay: time.Millisecond, Jitter: time.Millisecond,
		Reorder: true, Dup: 0.05, Rate: 100_000_000}
	d, sink := testDirection(t, p, 256)
	payload := make([]byte, 1200)
	intruder := netip.MustParseAddrPort("127.0.0.1:9999")
	now := time.Duration(0)
	allocs := testing.AllocsPerRun(20_000, func() {
		now += 100 * time.Microsecond
		step(d, payload, testA, now, 0)
		step(d, payload, intruder, now, 0)
	})
	if allocs != 0 {
		t.Errorf("per datagram: %v allocations, want 0", allocs)
	}
	if sink.writes == 0 || sink.last != testB {
		t.Errorf("%d writes, last to %v; want datagrams sent to %v", sink.writes, sink.last, testB)
	}
}

func TestDirectionLimitDropsWhenFull(t *testing.T) {
	// Ten datagrams held for a second with room for four: six are
	// dropped and counted, and the four come out once due.
	d, sink := testDirection(t, impair.Params{Delay: time.Second}, 4)
	for i := range 10 {
		step(d, make([]byte, 100), testA, time.Duration(i), 0)
	}
	if got := d.c.limitDrops.Load(); got != 6 {
		t.Errorf("limit drops = %d, want 6", got)
	}
	d.flush(2 * time.Second)
	if sink.writes != 4 {
		t.Errorf("sent %d, want 4", sink.writes)
	}
	// The pool has its buffers back.
	for range 4 {
		if _, ok := d.pool.get(); !ok {
			t.Fatal("pool did not get its buffers back")
		}
	}
}

func TestDirectionCountsTooBigAndFiltered(t *testing.T) {
	d, sink := testDirection(t, impair.Params{}, 8)
	step(d, make([]byte, DefaultMaxSize+1), testA, 0, 0)
	step(d, make([]byte, 10), testB, 0, 0) // B's address on the A side
	step(d, make([]byte, 10), netip.MustParseAddrPort("[::ffff:127.0.0.1]:5601"), 0, 0)
	s := d.c.snapshot()
	if s.TooBig != 1 || s.Filtered != 1 || s.In != 2 || s.Out != 1 || sink.writes != 1 {
		t.Errorf("too big %d, filtered %d, in %d, out %d, writes %d; want 1, 1, 2, 1, 1 (a mapped IPv4 source is A)",
			s.TooBig, s.Filtered, s.In, s.Out, sink.writes)
	}
}

func TestReleaseHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := newReleaseHeap(1000)
	var want []item
	for i := range 1000 {
		it := item{at: time.Duration(rng.IntN(50)), seq: uint64(i)}
		h.push(it)
		want = append(want, it)
	}
	slices.SortFunc(want, func(a, b item) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	for i, w := range want {
		if got := h.pop(); got != w {
			t.Fatalf("pop %d = %+v, want %+v", i, got, w)
		}
	}
	if h.len() != 0 {
		t.Errorf("len = %d after popping everything", h.len())
	}
}

// BenchmarkDirection measures the relay's own per-datagram work (filter,
// models, copy, heap, write to a fake socket) without the kernel.
func BenchmarkDirection(b *testing.B) {
	p := impair.Params{Loss: 0.05, Delay: time.Millisecond, Jitter: time.Millisecond, Reorder: true}
	d, _ := testDirection(b, p, 1024)
	payload := make([]byte, 1200)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	now := time.Duration(0)
	for b.Loop() {
		now += 10 * time.Microsecond
		step(d, payload, testA, now, 0)
	}
}
