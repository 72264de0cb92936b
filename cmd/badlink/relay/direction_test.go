package relay

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
	"github.com/vstreamd/vstreamd/daemon/udp"
)

// sinkConn is a PacketConn that counts what is written to it, keeps the
// first byte of each datagram written (in order) when ids is set, and
// reads the datagrams in reads, one batch per ReadBatch, then reports the
// socket closed.
type sinkConn struct {
	calls, writes, bytes int
	last                 netip.AddrPort
	ids                  []byte // nil: not kept
	reads                [][][]byte
	from                 netip.AddrPort
}

func (c *sinkConn) ReadBatch(in *udp.Inbox) (int, error) {
	in.Clear()
	if len(c.reads) == 0 {
		return 0, net.ErrClosed
	}
	for _, dg := range c.reads[0] {
		in.Add(dg, c.from)
	}
	c.reads = c.reads[1:]
	return in.Len(), nil
}

func (c *sinkConn) WriteBatch(b *udp.Batch) (int, error) {
	c.calls++
	for i := range b.Len() {
		dg := b.Datagram(i)
		c.writes++
		c.bytes += len(dg)
		if c.ids != nil {
			c.ids = append(c.ids, dg[0])
		}
	}
	c.last = b.Dest
	return b.Len(), nil
}

func (c *sinkConn) NewInbox(maxDatagram int) *udp.Inbox { return udp.NewInbox(64, maxDatagram+1) }

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
	d.flushOut()
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
	s := d.c.snapshot(0)
	if s.TooBig != 1 || s.Filtered != 1 || s.In != 2 || s.Out != 1 || sink.writes != 1 {
		t.Errorf("too big %d, filtered %d, in %d, out %d, writes %d; want 1, 1, 2, 1, 1 (a mapped IPv4 source is A)",
			s.TooBig, s.Filtered, s.In, s.Out, sink.writes)
	}
}

// TestReadLoopWritesAReadAtOnce: the datagrams of one read that are due at
// once leave in one write, in the order they came; nothing is held.
func TestReadLoopWritesAReadAtOnce(t *testing.T) {
	d, sink := testDirection(t, impair.Params{}, 64)
	var read [][]byte
	for i := range 40 {
		read = append(read, []byte{byte(i), 1, 2, 3})
	}
	sink.from, sink.ids = testA, []byte{}
	sink.reads = [][][]byte{read, read[:3]}
	if err := d.readLoop(); err != nil {
		t.Fatal(err)
	}
	if sink.calls != 2 || sink.writes != 43 || sink.last != testB {
		t.Fatalf("%d writes of %d datagrams in all, last to %v; want 2 writes (one per read) of 43, to %v", sink.calls, sink.writes, sink.last, testB)
	}
	for i, id := range sink.ids[:40] {
		if int(id) != i {
			t.Fatalf("datagram %d went out as the %dth; want the order they came in", id, i)
		}
	}
	if s := d.c.snapshot(0); s.In != 43 || s.Out != 43 || s.BytesOut != 43*4 || d.held.Load() != 0 {
		t.Errorf("in %d, out %d, bytes out %d, held %d; want 43, 43, %d, 0", s.In, s.Out, s.BytesOut, d.held.Load(), 43*4)
	}
}

// TestDirectionKeepsOrder: with jitter (and no reordering) some datagrams
// wait in the sender's heap and others, arriving when nothing waits, go at
// once. None overtakes one that came before it, even when the sender runs
// between the reader's handling of a read and its write.
func TestDirectionKeepsOrder(t *testing.T) {
	d, sink := testDirection(t, impair.Params{Jitter: 5 * time.Millisecond}, 1024)
	sink.ids = []byte{}
	now := time.Duration(0)
	rng := rand.New(rand.NewPCG(3, 4))
	atOnce, id := 0, 0
	for id < 250 {
		now += time.Duration(rng.IntN(12000)) * time.Microsecond
		for range 1 + rng.IntN(4) { // one read
			p := make([]byte, 1000)
			p[0] = byte(id)
			id++
			if d.handle(p, testA, now); d.out.b.Len() > 0 {
				atOnce++
			}
		}
		d.takeQueued()
		d.flush(now + time.Duration(rng.IntN(3000))*time.Microsecond)
		d.flushOut()
	}
	d.flush(now + time.Hour)
	if len(sink.ids) != id {
		t.Fatalf("%d datagrams out of %d", len(sink.ids), id)
	}
	for i, got := range sink.ids {
		if got != byte(i) {
			t.Fatalf("the %dth datagram out was %d; want the order they came in", i, got)
		}
	}
	if atOnce < 10 || atOnce > id-10 {
		t.Errorf("%d of %d datagrams went at once: the test wants some that wait and some that go at once", atOnce, id)
	}
	if d.held.Load() != 0 {
		t.Errorf("held %d after everything went", d.held.Load())
	}
	t.Logf("%d of %d went at once", atOnce, id)
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
