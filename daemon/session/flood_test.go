package session

import (
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// The flood: Inits and Resps forged, mutated and replayed from many
// addresses cost only their own budgets: the real peer's Init (from its
// address) is still answered and the handshake completes.
func TestFloodDoesNotStarve(t *testing.T) {
	psk := testKey(t)
	l, a, b := pair(t, psk, true, 0, 0)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	rec := append([]sent(nil), l.log...)
	var initDg []byte
	for _, p := range rec {
		if packetizer.Kind(p.dg[3]&0x3f) == packetizer.KindHandshakeInit && p.from == a.addr {
			initDg = p.dg
		}
	}
	if initDg == nil {
		t.Fatal("no Init recorded")
	}
	// A restarts; B is flooded while A's new Init arrives.
	a2 := l.add(1, 2, 0xa2, psk, true, 0, 3)
	l.queue = nil
	for i := range 5000 {
		dg := append([]byte(nil), initDg...)
		switch i % 3 {
		case 0: // mutated
			dg[packetizer.HeaderLen+4+i%(len(dg)-packetizer.HeaderLen-4)] ^= byte(1 + i%255)
		case 1: // forged response
			dg[3] = dg[3]&^0x3f | byte(packetizer.KindHandshakeResp)
			dg = dg[:packetizer.HeaderLen+RespLen]
		}
		b.receive(dg, addrPort(uint16(100+i%1000)), now)
		if i == 2500 {
			a2.s.Tick(now, a2.peer)
			l.pump(now)
		}
		now = now.Add(200 * time.Microsecond) // 5000 a second
	}
	l.pump(now)
	if !a2.s.Ready() || !b.s.Ready() || b.s.cur == nil || b.s.cur.peer != 0xa2 {
		t.Fatalf("the restarted peer got no call under the flood: refused %v", refused(b.s))
	}
	if b.s.Refused(ReasonRateLimited) == 0 {
		t.Errorf("nothing rate-limited: refused %v", refused(b.s))
	}
	t.Logf("B refused %v", refused(b.s))
}

// Forged Inits claiming the peer's own address (an attacker who can forge
// source addresses) do not use up that address's budget: the restarted
// peer's real Init among thousands of them is answered.
func TestFloodFromPeerAddress(t *testing.T) {
	psk := testKey(t)
	l, a, b := pair(t, psk, true, 0, 0)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	var initDg []byte
	for _, p := range l.log {
		if packetizer.Kind(p.dg[3]&0x3f) == packetizer.KindHandshakeInit && p.from == a.addr {
			initDg = p.dg
		}
	}
	a2 := l.add(1, 2, 0xa2, psk, true, 0, 3)
	l.queue = nil
	for i := range 3000 {
		dg := append([]byte(nil), initDg...)
		dg[packetizer.HeaderLen+4+i%(len(dg)-packetizer.HeaderLen-4)] ^= byte(1 + i%255)
		b.receive(dg, a.addr, now) // forged, from the peer's address
		if i == 1500 {
			a2.s.Tick(now, a2.peer)
			l.pump(now)
		}
		now = now.Add(100 * time.Microsecond)
	}
	if !a2.s.Ready() || b.s.cur == nil || b.s.cur.peer != 0xa2 {
		t.Fatalf("the restarted peer's Init was not answered: refused %v", refused(b.s))
	}
	if b.s.Refused(ReasonAuth) < 2900 || b.s.Refused(ReasonRateLimited) != 0 {
		t.Fatalf("refused %v; want the forgeries refused by authentication, none by budget", refused(b.s))
	}
}

// An outage right at a rekey: the initiator switched keys, the responder
// never saw a datagram with them and dropped them, and its own keys are
// not due for renewal (here its interval is longer). When the link
// returns nothing opens either way; both notice and handshake again, well
// before either's rekey timer would.
func TestRecoverAfterOutageAtRekey(t *testing.T) {
	l, a, b := pair(t, testKey(t), true, 30*time.Second, time.Minute)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	now = now.Add(30 * time.Second)
	a.s.Tick(now, a.peer) // A's Init
	deliver := func(e *end) {
		p := l.queue[0]
		l.queue = l.queue[1:]
		e.receive(p.dg, p.from, now)
	}
	deliver(b) // B answers
	deliver(a) // A switches and says so...
	if b.s.next == nil || a.s.Status(now).KeyEpoch != 2 {
		t.Fatal("the rekey did not start as the test needs")
	}
	for range 400 { // ...but the link is down for 8 s
		l.queue = nil
		now = now.Add(20 * time.Millisecond)
		a.say()
		b.say()
		l.tick(now)
	}
	l.queue = nil
	ga, gb := len(a.got), len(b.got)
	for range 500 { // the link is back for 10 s
		now = now.Add(20 * time.Millisecond)
		a.say()
		b.say()
		l.tick(now)
		l.pump(now)
	}
	if len(a.got)-ga < 300 || len(b.got)-gb < 300 {
		t.Fatalf("after the outage A got %d, B got %d datagrams in 10 s; refused A %v B %v", len(a.got)-ga, len(b.got)-gb, refused(a.s), refused(b.s))
	}
}
