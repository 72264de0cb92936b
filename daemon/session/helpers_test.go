package session

import (
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// link is an in-memory network between test endpoints: Send queues, pump
// delivers. Not safe for concurrent use.
type link struct {
	t     testing.TB
	queue []sent
	ends  map[netip.AddrPort]*end
	log   []sent // everything sent, for replays
}

type sent struct {
	dg       []byte
	from, to netip.AddrPort
}

// end is one endpoint: a Session and what the daemon would keep around it.
type end struct {
	s        *Session
	addr     netip.AddrPort
	peer     netip.AddrPort
	self     uint64
	packets  atomic.Uint64
	sealer   *Sealer
	got      []uint64 // packet numbers of datagrams delivered
	finished int
	lk       *link
}

func newLink(t testing.TB) *link { return &link{t: t, ends: map[netip.AddrPort]*end{}} }

// pair returns a link and its two ends, each the other's peer: a at port
// 1 and b at port 2, sharing psk, encrypted or not, rekeying after rekeyA
// and rekeyB (0: the default).
func pair(t testing.TB, psk Key, on bool, rekeyA, rekeyB time.Duration) (*link, *end, *end) {
	l := newLink(t)
	return l, l.add(1, 2, 0xa, psk, on, rekeyA, 1), l.add(2, 1, 0xb, psk, on, rekeyB, 2)
}

func addrPort(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}

// add makes an endpoint at port talking to peer.
func (l *link) add(port, peer uint16, self uint64, psk Key, on bool, rekey time.Duration, seed byte) *end {
	e := &end{addr: addrPort(port), peer: addrPort(peer), self: self, lk: l}
	s, err := New(Config{Encrypted: on, PSK: psk, Self: self, Packets: &e.packets, RekeyAfter: rekey,
		Rand: rand.NewChaCha8([32]byte{seed}),
		Send: func(dg []byte, to netip.AddrPort) { l.send(append([]byte(nil), dg...), e.addr, to) }})
	if err != nil {
		l.t.Fatal(err)
	}
	e.s, e.sealer = s, s.NewSealer()
	l.ends[e.addr] = e
	return e
}

func (l *link) send(dg []byte, from, to netip.AddrPort) {
	p := sent{dg: dg, from: from, to: to}
	l.queue = append(l.queue, p)
	l.log = append(l.log, p)
}

// datagram builds and seals a control datagram (a report) from e; nil
// when e has no keys.
func (e *end) datagram(kind packetizer.Kind) []byte {
	h := packetizer.Header{Kind: kind, Session: e.self, Packet: e.packets.Add(1), Sealed: e.s.on}
	dg := h.AppendTo(make([]byte, 0, 256))
	dg = append(dg, make([]byte, packetizer.ReportLen)...)
	out, ok := e.sealer.Seal(dg)
	if !ok {
		return nil
	}
	return out
}

// say sends a report from e to its peer, if it can seal one.
func (e *end) say() bool {
	dg := e.datagram(packetizer.KindReport)
	if dg == nil {
		return false
	}
	e.lk.send(dg, e.addr, e.peer)
	return true
}

// receive hands e one datagram as the daemon does, and returns the result.
func (e *end) receive(dg []byte, from netip.AddrPort, now time.Time) Result {
	h, err := packetizer.ParseHeader(dg)
	if err != nil {
		e.lk.t.Fatalf("a test datagram does not parse: %v", err)
	}
	r := e.s.Open(&h, append([]byte(nil), dg...), from, e.peer, now)
	if r.Deliver {
		e.got = append(e.got, h.Packet)
	}
	if r.Finished {
		e.finished++
		e.say() // as the daemon sends a hello at once
	}
	return r
}

// pump delivers everything queued (and what that makes), in order.
func (l *link) pump(now time.Time) {
	for len(l.queue) > 0 {
		p := l.queue[0]
		l.queue = l.queue[1:]
		if e := l.ends[p.to]; e != nil {
			e.receive(p.dg, p.from, now)
		}
	}
}

func (l *link) tick(now time.Time) {
	for _, e := range l.ends {
		e.s.Tick(now, e.peer)
	}
}

// connect runs ticks until both ends can seal, or fails.
func connect(t testing.TB, l *link, a, b *end, now time.Time) time.Time {
	t.Helper()
	for range 50 {
		l.tick(now)
		l.pump(now)
		if a.s.Ready() && b.s.Ready() && a.s.next == nil && b.s.next == nil {
			return now
		}
		now = now.Add(20 * time.Millisecond)
	}
	t.Fatalf("no handshake: A ready %v, B ready %v", a.s.Ready(), b.s.Ready())
	return now
}

func refused(s *Session) map[string]uint64 {
	m := map[string]uint64{}
	for r := Reason(0); r < NumReasons; r++ {
		if n := s.Refused(r); n > 0 {
			m[r.String()] = n
		}
	}
	return m
}
