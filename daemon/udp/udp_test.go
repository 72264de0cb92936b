package udp_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/udp"
	"github.com/vstreamd/vstreamd/daemon/udp/udptest"
)

const maxDatagram = 1472

// pair is two connected endpoints of one kind and where the second is.
type pair struct {
	a, b  udp.PacketConn
	bAddr netip.AddrPort
	aAddr netip.AddrPort
	stats func() (sendCalls, sent uint64) // the sender's, nil for the fake
}

type kind struct {
	name string
	make func(t testing.TB) pair
}

func realConn(t testing.TB, addr string, opt udp.Options) *udp.Conn {
	t.Helper()
	uc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("no %s here: %v", addr, err)
	}
	_ = uc.SetReadBuffer(4 << 20)
	_ = uc.SetWriteBuffer(4 << 20)
	c, err := udp.New(uc, opt)
	if err != nil {
		t.Fatalf("udp.New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func realKind(name, host string, opt udp.Options) kind {
	return kind{name, func(t testing.TB) pair {
		a, b := realConn(t, host+":0", opt), realConn(t, host+":0", opt)
		return pair{a: a, b: b, aAddr: a.LocalAddr(), bAddr: b.LocalAddr(), stats: func() (uint64, uint64) {
			return a.Stats().SendCalls.Load(), a.Stats().Sent.Load()
		}}
	}}
}

var kinds = []kind{
	{"fake", func(t testing.TB) pair {
		n := udptest.NewNetwork()
		aAddr, bAddr := netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2")
		a, b := n.Listen(aAddr), n.Listen(bAddr)
		t.Cleanup(func() { a.Close(); b.Close() })
		return pair{a: a, b: b, aAddr: aAddr, bAddr: bAddr}
	}},
	realKind("v4-offload", "127.0.0.1", udp.Options{}),
	realKind("v4-batch", "127.0.0.1", udp.Options{NoOffload: true}),
	realKind("v4-one-at-a-time", "127.0.0.1", udp.Options{NoBatch: true}),
	realKind("v6-offload", "[::1]", udp.Options{}),
	realKind("v6-batch", "[::1]", udp.Options{NoOffload: true}),
	realKind("dual-stack-offload", "[::]", udp.Options{}),
}

// datagram returns datagram i of a test stream: its index in the first
// bytes, then a pattern.
func datagram(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i*7 + j)
	}
	b[0], b[1] = byte(i>>8), byte(i)
	return b
}

// readN reads until n datagrams arrived or a second passed without one.
func readN(t *testing.T, c udp.PacketConn, n int) (got [][]byte, from []netip.AddrPort) {
	t.Helper()
	in := c.NewInbox(maxDatagram)
	for len(got) < n {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		k, err := c.ReadBatch(in)
		if err != nil {
			t.Fatalf("ReadBatch after %d of %d datagrams: %v", len(got), n, err)
		}
		for i := range k {
			b, f := in.Datagram(i)
			got = append(got, append([]byte(nil), b...))
			from = append(from, f)
		}
	}
	return got, from
}

// TestRoundTrip sends batches of several shapes (a frame of equal
// datagrams, a shorter last one, sizes that go up and down, more than one
// segmented send can carry) and checks that every datagram arrives whole,
// in order, from the sender's address, over the fake and real sockets.
func TestRoundTrip(t *testing.T) {
	shapes := map[string][]int{
		"one":         {100},
		"frame":       repeat(1200, 110),
		"short-last":  append(repeat(1200, 20), 300),
		"up-and-down": {500, 500, 1200, 1200, 1200, 40, 40, 1472, 2, 1200},
		"many-small":  repeat(64, 300),
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			p := k.make(t)
			for name, sizes := range shapes {
				b := udp.NewBatch(len(sizes), maxDatagram)
				b.Dest = p.bAddr
				var want [][]byte
				for i, s := range sizes {
					dg := datagram(i, s)
					want = append(want, dg)
					if err := b.Add(dg); err != nil {
						t.Fatal(err)
					}
				}
				sent, err := p.a.WriteBatch(b)
				if err != nil || sent != len(sizes) {
					t.Fatalf("%s: WriteBatch = %d, %v; want %d", name, sent, err, len(sizes))
				}
				got, from := readN(t, p.b, len(want))
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("%s: datagram %d: got %d bytes starting %x, want %d starting %x", name, i, len(got[i]), got[i][:min(2, len(got[i]))], len(want[i]), want[i][:2])
					}
					if from[i].Port() != p.aAddr.Port() {
						t.Fatalf("%s: datagram %d from %v, want port of %v", name, i, from[i], p.aAddr)
					}
				}
			}
		})
	}
}

func repeat(size, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

// TestFewerSystemCalls checks that batching really batches: a frame's 110
// datagrams leave in fewer system calls than datagrams, and with
// segmentation in fewer messages still; one at a time takes 110.
func TestFewerSystemCalls(t *testing.T) {
	for _, k := range kinds[1:] {
		t.Run(k.name, func(t *testing.T) {
			p := k.make(t)
			b := udp.NewBatch(110, maxDatagram)
			b.Dest = p.bAddr
			for i := range 110 {
				_ = b.Add(datagram(i, 1200))
			}
			c0, s0 := p.stats()
			if n, err := p.a.WriteBatch(b); n != 110 || err != nil {
				t.Fatalf("WriteBatch = %d, %v", n, err)
			}
			c1, s1 := p.stats()
			readN(t, p.b, 110)
			calls, sent := c1-c0, s1-s0
			if sent != 110 {
				t.Errorf("counted %d datagrams sent, want 110", sent)
			}
			switch k.name {
			case "v4-one-at-a-time":
				if calls != 110 {
					t.Errorf("%d system calls for 110 datagrams one at a time", calls)
				}
			default:
				if calls >= 110 {
					t.Errorf("%d system calls for 110 datagrams in a batch; want fewer", calls)
				}
			}
			rc := p.b.(*udp.Conn)
			gso, gro := rc.Offload()
			t.Logf("%d datagrams in %d send calls, read in %d calls (GSO %v, GRO %v)", sent, calls, rc.Stats().RecvCalls.Load(), gso, gro)
		})
	}
}

// TestSteadyStateAllocs pins sending and reading a batch at zero
// allocations on real sockets.
func TestSteadyStateAllocs(t *testing.T) {
	for _, k := range kinds[1:] {
		t.Run(k.name, func(t *testing.T) {
			p := k.make(t)
			b := udp.NewBatch(64, maxDatagram)
			b.Dest = p.bAddr
			for i := range 64 {
				_ = b.Add(datagram(i, 1200))
			}
			in := p.b.NewInbox(maxDatagram)
			deadline := time.Now().Add(time.Minute)
			_ = p.b.SetReadDeadline(deadline)
			reads := map[string]func() (int, error){"ReadBatch": func() (int, error) { return p.b.ReadBatch(in) }}
			if k.name != "v4-one-at-a-time" { // without batching ReadOnThread is ReadBatch
				reads["ReadOnThread"] = func() (int, error) {
					n, _, err := p.b.(*udp.Conn).ReadOnThread(in, deadline)
					return n, err
				}
			}
			for name, read := range reads {
				got := 0
				allocs := testing.AllocsPerRun(20, func() {
					if _, err := p.a.WriteBatch(b); err != nil {
						t.Fatal(err)
					}
					for n := 0; n < 64; {
						k, err := read()
						if err != nil {
							t.Fatal(err)
						}
						n += k
						got += k
					}
				})
				if got == 0 {
					t.Fatalf("%s: nothing read: the path under test did not run", name)
				}
				if allocs != 0 {
					t.Errorf("%s: %v allocations per batch of 64 sent and read, want 0", name, allocs)
				}
			}
		})
	}
}

// TestReadEnds checks that a read waiting for nothing gives up at its
// deadline and ends when the socket is closed.
func TestReadEnds(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			p := k.make(t)
			in := p.b.NewInbox(maxDatagram)
			_ = p.b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if _, err := p.b.ReadBatch(in); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("ReadBatch past its deadline: %v, want a deadline error", err)
			}
			_ = p.b.SetReadDeadline(time.Time{})
			done := make(chan error, 1)
			go func() {
				_, err := p.b.ReadBatch(in)
				done <- err
			}()
			p.b.Close()
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("ReadBatch on a closed socket: %v, want net.ErrClosed", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("ReadBatch still waiting 10 s after Close")
			}
		})
	}
}

func TestBatchFull(t *testing.T) {
	b := udp.NewBatch(2, 100)
	for i, size := range []int{100, 100} {
		if err := b.Add(make([]byte, size)); err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
	}
	if err := b.Add([]byte{1}); !errors.Is(err, udp.ErrFull) {
		t.Errorf("Add to a full batch: %v, want ErrFull", err)
	}
	b.Reset()
	if err := b.Add(make([]byte, 201)); !errors.Is(err, udp.ErrFull) {
		t.Errorf("Add of a datagram larger than the arena: %v, want ErrFull", err)
	}
	if b.Len() != 0 || b.Bytes() != 0 {
		t.Errorf("after refused Add: %d datagrams, %d bytes", b.Len(), b.Bytes())
	}
}

// TestBatchCommit builds datagrams at the batch's tail: they are added
// without a copy, between copied ones; a datagram built elsewhere, or one
// that outgrew the tail, is refused and the batch left as it was; a full
// batch refuses with ErrFull.
func TestBatchCommit(t *testing.T) {
	b := udp.NewBatch(3, 100)
	if err := b.Commit(append(b.Tail(), "first"...)); err != nil {
		t.Fatalf("Commit at the tail: %v", err)
	}
	_ = b.Add([]byte("second"))
	if err := b.Commit([]byte("elsewhere")); !errors.Is(err, udp.ErrNotTail) {
		t.Errorf("Commit of a datagram built elsewhere: %v, want ErrNotTail", err)
	}
	if err := b.Commit(append(b.Tail(), make([]byte, 300)...)); !errors.Is(err, udp.ErrFull) {
		t.Errorf("Commit of a datagram larger than the room: %v, want ErrFull", err)
	}
	third := append(b.Tail(), "third"...)
	if err := b.Commit(third); err != nil {
		t.Fatalf("Commit at the tail: %v", err)
	}
	if b.Len() != 3 || string(b.Datagram(0)) != "first" || string(b.Datagram(1)) != "second" || string(b.Datagram(2)) != "third" {
		t.Fatalf("batch holds %d datagrams: %q %q", b.Len(), b.Datagram(0), b.Datagram(b.Len()-1))
	}
	if &b.Datagram(2)[0] != &third[0] {
		t.Error("the committed datagram was copied")
	}
	if err := b.Commit(append(b.Tail(), 'x')); !errors.Is(err, udp.ErrFull) {
		t.Errorf("Commit to a batch of 3 holding 3: %v, want ErrFull", err)
	}
}

func ExampleConn() {
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return
	}
	c, _ := udp.New(uc, udp.Options{})
	defer c.Close()
	b := udp.NewBatch(64, 1200)
	b.Dest = c.LocalAddr() // to itself
	for i := range 3 {
		_ = b.Add([]byte(fmt.Sprintf("datagram %d", i)))
	}
	_, _ = c.WriteBatch(b)
	in := c.NewInbox(1200)
	for got := 0; got < 3; {
		n, err := c.ReadBatch(in)
		if err != nil {
			return
		}
		for i := range n {
			dg, _ := in.Datagram(i)
			fmt.Println(string(dg))
		}
		got += n
	}
	// Output:
	// datagram 0
	// datagram 1
	// datagram 2
}

// TestDualStackToIPv4 sends from a dual-stack socket ("[::]") to an IPv4
// peer, as a daemon listening on [::] does with an IPv4 peer address, and
// back: the address goes out as a mapped one and comes back as the peer's.
func TestDualStackToIPv4(t *testing.T) {
	for _, opt := range []udp.Options{{}, {NoOffload: true}} {
		dual := realConn(t, "[::]:0", opt)
		v4 := realConn(t, "127.0.0.1:0", opt)
		b := udp.NewBatch(8, maxDatagram)
		b.Dest = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), v4.LocalAddr().Port())
		for i := range 8 {
			_ = b.Add(datagram(i, 1000))
		}
		if n, err := dual.WriteBatch(b); n != 8 || err != nil {
			t.Fatalf("%+v: WriteBatch from [::] to %v = %d, %v", opt, b.Dest, n, err)
		}
		got, from := readN(t, v4, 8)
		if !bytes.Equal(got[7], datagram(7, 1000)) || from[0].Port() != dual.LocalAddr().Port() {
			t.Fatalf("%+v: got %d bytes from %v", opt, len(got[7]), from[0])
		}
		// And back to the address it came from.
		b.Dest = from[0]
		if n, err := v4.WriteBatch(b); n != 8 || err != nil {
			t.Fatalf("%+v: WriteBatch back to %v = %d, %v", opt, from[0], n, err)
		}
		_, back := readN(t, dual, 8)
		if back[0].Addr().Unmap() != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("%+v: reply from %v, want 127.0.0.1 (mapped or not)", opt, back[0])
		}
	}
}

// TestWriteTo sends single datagrams (control messages) from several
// goroutines at once over every kind of socket, dual stack to IPv4
// included: each arrives whole, from the sender, counted once, and a real
// socket allocates nothing per datagram. An IPv6 destination on an IPv4
// socket is an error.
func TestWriteTo(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			p := k.make(t)
			const senders, each = 4, 25
			errs := make(chan error, senders)
			for g := range senders {
				go func() {
					var first error
					for i := range each {
						if err := p.a.WriteTo(datagram(g*each+i, 100+g), p.bAddr); err != nil && first == nil {
							first = err
						}
					}
					errs <- first
				}()
			}
			for range senders {
				if err := <-errs; err != nil {
					t.Fatalf("WriteTo: %v", err)
				}
			}
			got, from := readN(t, p.b, senders*each)
			seen := make(map[int]bool)
			for j, b := range got {
				i := int(b[0])<<8 | int(b[1])
				if g := i / each; i >= senders*each || !bytes.Equal(b, datagram(i, 100+g)) || seen[i] {
					t.Fatalf("datagram %d: %d bytes, index %d, seen before %v", j, len(b), i, seen[i])
				}
				seen[i] = true
				if from[j].Port() != p.aAddr.Port() {
					t.Fatalf("datagram from %v, want port %d", from[j], p.aAddr.Port())
				}
			}
			if p.stats == nil {
				return
			}
			if calls, sent := p.stats(); calls != senders*each || sent != senders*each {
				t.Errorf("counted %d calls and %d datagrams, want %d each", calls, sent, senders*each)
			}
			dg := datagram(0, 100)
			allocs := testing.AllocsPerRun(50, func() {
				if err := p.a.WriteTo(dg, p.bAddr); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per WriteTo, want 0", allocs)
			}
		})
	}
	v4 := realConn(t, "127.0.0.1:0", udp.Options{})
	if err := v4.WriteTo([]byte("x"), netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Error("WriteTo an IPv6 address from an IPv4 socket: no error")
	}
}
