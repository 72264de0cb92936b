package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// loopback binds a UDP socket on 127.0.0.1 at a free port. Tests send
// nowhere else.
func loopback(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// endpoint is a test peer that records what it receives.
type endpoint struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []received
	done chan struct{}
}

type received struct {
	id   uint64
	from netip.AddrPort
}

func newEndpoint(t testing.TB) *endpoint {
	e := &endpoint{conn: loopback(t), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		buf := make([]byte, 2048)
		for {
			n, from, err := e.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n >= 8 {
				e.mu.Lock()
				e.got = append(e.got, received{binary.BigEndian.Uint64(buf), from})
				e.mu.Unlock()
			}
		}
	}()
	return e
}

func (e *endpoint) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.got)
}

// send sends datagram id (padded to size) to addr.
func send(t testing.TB, c *net.UDPConn, to netip.AddrPort, id uint64, size int) {
	t.Helper()
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, id)
	if _, err := c.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// startRelay runs a relay between endpoints a and b on two loopback
// sockets until the test ends or stop is called.
func startRelay(t *testing.T, cfg Config, a, b *endpoint) (r *Relay, ra, rb netip.AddrPort, stop func() error) {
	t.Helper()
	ca, cb := loopback(t), loopback(t)
	for _, c := range []*net.UDPConn{ca, cb} {
		if _, err := Prepare(c); err != nil {
			t.Fatal(err)
		}
	}
	cfg.PeerA, cfg.PeerB = addrOf(a.conn), addrOf(b.conn)
	r, err := New(cfg, ca, cb, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-errc:
			case <-time.After(5 * time.Second):
				runErr = errors.New("Run did not return within 5s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return r, addrOf(ca), addrOf(cb), stop
}

// balance checks the conservation law of DirStats once nothing is held.
func balance(t *testing.T, name string, s DirStats) {
	t.Helper()
	in := s.In + s.Duplicated
	gone := s.Lost + s.TooBig + s.QueueDrops + s.LimitDrops + s.SendErrors + s.Discarded + s.Out
	if in != gone {
		t.Errorf("%s: in %d + duplicated %d = %d, but lost+too big+drops+errors+discarded+out = %d (%+v)",
			name, s.In, s.Duplicated, in, gone, s)
	}
}

// TestRelayLoopbackBothWays relays with the readers in the runtime's
// poller and on real-time threads of their own (normal priority where the
// kernel refuses): the same datagrams pass, and Run ends at cancel.
func TestRelayLoopbackBothWays(t *testing.T) {
	for _, prio := range []int{0, 1} {
		t.Run(fmt.Sprintf("realtime-priority-%d", prio), func(t *testing.T) { relayLoopbackBothWays(t, prio) })
	}
}

func relayLoopbackBothWays(t *testing.T, prio int) {
	const (
		n       = 400 // datagrams each way
		batch   = 20  // sent before waiting for the relay to settle
		size    = 200
		foreign = 10
	)
	deadline := time.Now().Add(20 * time.Second)
	cfg := Config{
		A2B:     impair.Params{Loss: 0.1, Dup: 0.05},
		B2A:     impair.Params{Loss: 0.2, Burst: 3, Delay: 2 * time.Millisecond, Jitter: time.Millisecond, Reorder: true},
		Seed:    5,
		MaxSize: 1500,

		RealtimePriority: prio,
	}
	a, b := newEndpoint(t), newEndpoint(t)
	r, ra, rb, stop := startRelay(t, cfg, a, b)

	// Send in batches and let each settle, so no socket buffer overflows
	// and every datagram the relay sends is received.
	settled := func(sent uint64) func() bool {
		return func() bool {
			s := r.Stats()
			return s.A2B.In == sent && s.B2A.In == sent &&
				s.A2B.InFlight() == 0 && s.B2A.InFlight() == 0 &&
				uint64(b.count()) == s.A2B.Out && uint64(a.count()) == s.B2A.Out
		}
	}
	for i := uint64(0); i < n; i++ {
		send(t, a.conn, ra, i, size)
		send(t, b.conn, rb, 1<<32|i, size)
		if (i+1)%batch == 0 {
			testutil.WaitFor(t, "a batch to pass the relay", time.Until(deadline), settled(i+1))
		}
	}

	// Foreign sources are dropped on both sides, and too-big datagrams
	// are counted.
	intruder := loopback(t)
	for i := range foreign {
		send(t, intruder, ra, 1<<40|uint64(i), size)
		send(t, intruder, rb, 1<<40|uint64(i), size)
	}
	send(t, a.conn, ra, 1<<41, 1600)
	testutil.WaitFor(t, "foreign and oversized datagrams to be counted", time.Until(deadline), func() bool {
		s := r.Stats()
		return s.A2B.Filtered == foreign && s.B2A.Filtered == foreign && s.A2B.TooBig == 1
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := r.Stats()
	a.conn.Close()
	b.conn.Close()
	<-a.done
	<-b.done

	for _, dir := range []struct {
		name   string
		stats  DirStats
		p      impair.Params
		stream uint64
		dst    *endpoint
		relay  netip.AddrPort // the address dst configured as its peer
		base   uint64
		in     uint64
	}{
		{NameA2B, s.A2B, cfg.A2B, 1, b, rb, 0, n + 1},
		{NameB2A, s.B2A, cfg.B2A, 2, a, ra, 1 << 32, n},
	} {
		st := dir.stats
		balance(t, dir.name, st)
		if st.In != dir.in || st.Filtered != foreign || st.Discarded != 0 || st.SendErrors != 0 || st.KernelDrops != 0 {
			t.Errorf("%s: in %d, filtered %d, discarded %d, send errors %d, kernel drops %d; want %d, %d, 0, 0, 0",
				dir.name, st.In, st.Filtered, st.Discarded, st.SendErrors, st.KernelDrops, dir.in, foreign)
		}
		if st.Lost == 0 {
			t.Errorf("%s: nothing lost at loss %g", dir.name, dir.p.Loss)
		}

		// What arrived: only our datagrams, from the relay's address
		// the endpoint knows, each as often as the models said.
		times := map[uint64]int{}
		for _, g := range dir.dst.got {
			if g.from != dir.relay {
				t.Fatalf("%s: datagram %#x came from %v, want the relay's %v", dir.name, g.id, g.from, dir.relay)
			}
			if g.id < dir.base || g.id >= dir.base+n {
				t.Fatalf("%s: received datagram %#x that was not sent this way", dir.name, g.id)
			}
			times[g.id-dir.base]++
		}
		if uint64(len(dir.dst.got)) != st.Out {
			t.Errorf("%s: endpoint received %d, relay sent %d", dir.name, len(dir.dst.got), st.Out)
		}

		// The relay makes its decisions in datagram order from the seed:
		// a Link with the same seed and stream predicts every loss and
		// duplicate exactly.
		want, err := impair.NewLink(dir.p, cfg.Seed, dir.stream)
		if err != nil {
			t.Fatal(err)
		}
		mismatch := 0
		for i := range uint64(n) {
			v := want.Decide(0, size)
			if times[i] != v.Copies {
				mismatch++
			}
		}
		if mismatch != 0 {
			t.Errorf("%s: %d of %d datagrams arrived a different number of times than seed %d predicts",
				dir.name, mismatch, n, cfg.Seed)
		}
		t.Logf("%s: in %d, lost %d (%.1f%%), duplicated %d, delayed %d, reordered %d, out %d, filtered %d, too big %d",
			dir.name, st.In, st.Lost, 100*float64(st.Lost)/float64(st.In), st.Duplicated, st.Delayed,
			st.Reordered, st.Out, st.Filtered, st.TooBig)
	}
}

func TestRelayStopDiscardsHeldDatagrams(t *testing.T) {
	a, b := newEndpoint(t), newEndpoint(t)
	r, ra, _, stop := startRelay(t, Config{A2B: impair.Params{Delay: impair.MaxDelay}}, a, b)
	for i := range 5 {
		send(t, a.conn, ra, uint64(i), 100)
	}
	testutil.WaitFor(t, "five datagrams held", 5*time.Second, func() bool {
		return r.Stats().A2B.In == 5
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := r.Stats().A2B
	if s.Discarded != 5 || s.Out != 0 {
		t.Errorf("after stop: discarded %d, out %d; want 5, 0", s.Discarded, s.Out)
	}
	balance(t, NameA2B, s)
}

// BenchmarkRelayLoopback sends datagrams from A to B through the relay
// over 127.0.0.1, one at a time: ns/op is the one-way time through two
// socket hops and the relay, with no impairment asked for.
func BenchmarkRelayLoopback(b *testing.B) {
	ea, eb := loopback(b), loopback(b)
	ca, cb := loopback(b), loopback(b)
	r, err := New(Config{PeerA: addrOf(ea), PeerB: addrOf(eb)}, ca, cb, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	to := addrOf(ca)
	out := make([]byte, 1200)
	in := make([]byte, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := ea.WriteToUDPAddrPort(out, to); err != nil {
			b.Fatal(err)
		}
		eb.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := eb.ReadFromUDPAddrPort(in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRelayTwoPairsShareTheLink relays two calls through the same sockets
// and rate cap: each endpoint gets only its own peer's datagrams, from the
// relay's address on its side, and the two flows together fit the one cap.
func TestRelayTwoPairsShareTheLink(t *testing.T) {
	a, b, a2, b2 := newEndpoint(t), newEndpoint(t), newEndpoint(t), newEndpoint(t)
	cfg := Config{PeerA2: addrOf(a2.conn), PeerB2: addrOf(b2.conn)}
	cfg.A2B.Rate, cfg.A2B.Queue = 8e6, impair.Queue{Bytes: 1 << 20}
	r, ra, rb, stop := startRelay(t, cfg, a, b)
	const n, size = 200, 1000
	start := time.Now()
	for i := range uint64(n) {
		send(t, a.conn, ra, i, size)
		send(t, a2.conn, ra, 1000+i, size)
	}
	send(t, b2.conn, rb, 5000, size) // and one back from B2 to A2
	testutil.WaitFor(t, "both B endpoints to get every datagram", 5*time.Second, func() bool {
		return b.count() == n && b2.count() == n && a2.count() == 1
	})
	elapsed := time.Since(start)
	// 400 datagrams of 1000 bytes at 8 Mb/s take 400 ms through one cap.
	if elapsed < 350*time.Millisecond {
		t.Errorf("both flows through in %v: faster than one shared 8 Mb/s cap allows (400 ms)", elapsed)
	}
	for _, c := range []struct {
		name   string
		e      *endpoint
		from   netip.AddrPort
		lo, hi uint64
	}{{"B", b, rb, 0, n}, {"B2", b2, rb, 1000, 1000 + n}, {"A2", a2, ra, 5000, 5001}, {"A", a, ra, 0, 0}} {
		c.e.mu.Lock()
		for _, g := range c.e.got {
			if g.id < c.lo || g.id >= c.hi || g.from != c.from {
				t.Errorf("%s got datagram %d from %v, want only %d..%d from %v", c.name, g.id, g.from, c.lo, c.hi-1, c.from)
				break
			}
		}
		c.e.mu.Unlock()
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats().A2B; s.Out != 2*n {
		t.Errorf("a2b out %d, want %d", s.Out, 2*n)
	}
}
