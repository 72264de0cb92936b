package session

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// A handshake gives both ends keys; datagrams go both ways, each opened
// once; a handshake costs two messages.
func TestHandshake(t *testing.T) {
	l, a, b := pair(t, testKey(t), true, 0, 0)
	if a.s.Ready() || a.say() {
		t.Fatal("sealing before any handshake")
	}
	now := time.Unix(1000, 0)
	a.s.Tick(now, a.peer)
	l.pump(now)
	if !a.s.Ready() || !b.s.Ready() {
		t.Fatalf("no keys after one Init: refused %v %v", refused(a.s), refused(b.s))
	}
	for range 10 {
		a.say()
		b.say()
	}
	l.pump(now)
	if len(b.got) < 10 || len(a.got) < 10 {
		t.Fatalf("delivered A->B %d, B->A %d; want 10 each", len(b.got), len(a.got))
	}
	for _, e := range []*end{a, b} {
		if m := refused(e.s); len(m) != 0 {
			t.Errorf("%x refused %v", e.self, m)
		}
		st := e.s.Status(now)
		if st.Handshakes != 1 || st.KeyEpoch != 1 || st.LastRekeySeconds < 0 {
			t.Errorf("%x status %+v; want one handshake", e.self, st)
		}
	}
	var sizes []int
	for _, p := range l.log {
		if k := packetizer.Kind(p.dg[3] & 0x3f); k == packetizer.KindHandshakeInit || k == packetizer.KindHandshakeResp {
			sizes = append(sizes, len(p.dg))
		}
	}
	// Two messages, the answer shorter than the Init (no amplification).
	if len(sizes) != 2 || sizes[0] != 144 || sizes[1] != 136 {
		t.Errorf("handshake datagrams of %v bytes; want [144 136]", sizes)
	}
}

// Both ends initiate at the same moment (a rekey, or both starting): one
// handshake wins, both agree, nothing is refused.
func TestCrossedHandshakes(t *testing.T) {
	for _, seeds := range [][2]uint64{{0xa, 0xb}, {0xb, 0xa}} {
		l := newLink(t)
		psk := testKey(t)
		a := l.add(1, 2, seeds[0], psk, true, 0, 1)
		b := l.add(2, 1, seeds[1], psk, true, 0, 2)
		now := time.Unix(1000, 0)
		a.s.Tick(now, a.peer)
		b.s.Tick(now, b.peer) // both Inits in flight
		now = connect(t, l, a, b, now)
		for range 5 {
			a.say()
			b.say()
		}
		l.pump(now)
		if len(a.got) < 5 || len(b.got) < 5 {
			t.Errorf("ids %x: delivered %d and %d after crossed Inits, refused %v %v", seeds, len(a.got), len(b.got), refused(a.s), refused(b.s))
		}
	}
}

// Rekeying: several rekeys with datagrams in flight across each: none lost,
// epochs advance, the old keys stop working after the overlap.
func TestRekey(t *testing.T) {
	l := newLink(t)
	psk := testKey(t)
	const every = time.Second
	a := l.add(1, 2, 0xa, psk, true, every, 1)
	b := l.add(2, 1, 0xb, psk, true, every, 2)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	var old []byte
	inFlight, sent := 0, 0
	for step := range 500 { // 10 s in 20 ms steps
		now = now.Add(20 * time.Millisecond)
		// Datagrams sealed before the tick (which may rekey), delivered
		// after the handshake: in flight across it.
		da, db := a.datagram(packetizer.KindReport), b.datagram(packetizer.KindReport)
		epoch := a.s.Status(now).KeyEpoch
		l.tick(now)
		l.pump(now)
		if a.s.Status(now).KeyEpoch != epoch {
			inFlight++
		}
		b.receive(da, a.addr, now)
		a.receive(db, b.addr, now)
		sent++
		if step == 10 {
			old = a.datagram(packetizer.KindReport)
		}
	}
	if want := sent + a.finished; len(b.got) != want || len(a.got) != sent+b.finished {
		t.Fatalf("across rekeys B got %d of %d datagrams, A %d of %d", len(b.got), want, len(a.got), sent+b.finished)
	}
	if inFlight < 8 {
		t.Errorf("only %d rekeys had a datagram in flight", inFlight)
	}
	st := b.s.Status(now)
	if st.KeyEpoch < 8 {
		t.Errorf("epoch %d after 10 s with rekeys every %v; want at least 8", st.KeyEpoch, every)
	}
	if m := refused(b.s); len(m) != 0 {
		t.Errorf("B refused %v during rekeys", m)
	}
	// A datagram sealed ten rekeys ago: older than every key, a replay.
	r := b.receive(old, a.addr, now)
	if r.Deliver || b.s.Refused(ReasonReplay) != 1 {
		t.Errorf("an old key's datagram: deliver %v, refused %v", r.Deliver, refused(b.s))
	}
}

// The responder keeps sealing with the old keys until the initiator has
// used the new ones; a datagram of the old keys still in flight opens
// after the switch.
func TestRekeyOverlap(t *testing.T) {
	l, a, b := pair(t, testKey(t), true, time.Minute, time.Minute)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	late := b.datagram(packetizer.KindReport) // B's, old keys, delayed
	now = now.Add(61 * time.Second)
	a.s.Tick(now, a.peer) // A rekeys
	l.pump(now)
	if a.s.Status(now).KeyEpoch != 2 || b.s.Status(now).KeyEpoch != 2 {
		t.Fatalf("epochs %d %d after a rekey", a.s.Status(now).KeyEpoch, b.s.Status(now).KeyEpoch)
	}
	if r := a.receive(late, b.addr, now.Add(time.Second)); !r.Deliver {
		t.Fatalf("a datagram of the previous keys within the overlap was refused: %v", refused(a.s))
	}
	again := append([]byte(nil), late...)
	if r := a.receive(again, b.addr, now.Add(time.Second)); r.Deliver || a.s.Refused(ReasonReplay) != 1 {
		t.Fatalf("its replay: deliver %v, refused %v", r.Deliver, refused(a.s))
	}
}

// Reflection: an endpoint's own datagrams, handshakes included, sent back
// to it from anywhere, are refused as reflected and change nothing.
func TestReflection(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("encrypted=%v", on), func(t *testing.T) {
			l, a, b := pair(t, testKey(t), on, 0, 0)
			now := time.Unix(1000, 0)
			if on {
				now = connect(t, l, a, b, now)
				a.s.Tick(now.Add(3*time.Minute), a.peer) // an Init of A's, to reflect
			}
			a.say()
			stranger := addrPort(9)
			n := 0
			for _, p := range l.log {
				if p.from != a.addr {
					continue
				}
				if r := a.receive(p.dg, stranger, now); r.Deliver || r.Roam {
					t.Fatalf("A accepted its own datagram: %+v", r)
				}
				n++
			}
			if got := a.s.Refused(ReasonReflected); got != uint64(n) || n == 0 {
				t.Fatalf("reflected %d of %d; refused %v", got, n, refused(a.s))
			}
		})
	}
}

// An Init of our own with the header's session rewritten (which the
// attacker can do: it is not what the handshake authenticates) is still
// recognised, by its ephemeral key.
func TestReflectedInitRewritten(t *testing.T) {
	l := newLink(t)
	psk := testKey(t)
	a := l.add(1, 2, 0xa, psk, true, 0, 1)
	now := time.Unix(1000, 0)
	a.s.Tick(now, a.peer)
	dg := append([]byte(nil), l.log[0].dg...)
	dg[4] ^= 1 // header session id
	a.receive(dg, addrPort(9), now)
	if a.s.Refused(ReasonReflected) != 1 || a.s.next != nil {
		t.Fatalf("refused %v; next keys %v", refused(a.s), a.s.next != nil)
	}
}

// Replays during a call: data, Init and Resp, from anywhere: refused as
// replays, nothing moves.
func TestReplay(t *testing.T) {
	l, a, b := pair(t, testKey(t), true, 0, 0)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	for range 5 {
		a.say()
		b.say()
	}
	l.pump(now)
	before := len(b.got) + len(a.got)
	rec := append([]sent(nil), l.log...)
	for _, from := range []uint16{0, 9} {
		for _, p := range rec {
			src := p.from
			if from != 0 {
				src = addrPort(from)
			}
			if e := l.ends[p.to]; e != nil {
				if r := e.receive(p.dg, src, now); r.Deliver || r.Roam || r.Finished {
					t.Fatalf("a replay was accepted: %+v", r)
				}
			}
		}
	}
	l.pump(now)
	if len(b.got)+len(a.got) != before {
		t.Fatal("replays delivered")
	}
	total := a.s.Refused(ReasonReplay) + b.s.Refused(ReasonReplay)
	if total != uint64(2*len(rec)) {
		t.Fatalf("refused as replays %d of %d; A %v B %v", total, 2*len(rec), refused(a.s), refused(b.s))
	}
	if a.s.Moves()+b.s.Moves() != 0 || a.s.Status(now).Handshakes != 1 || b.s.Status(now).Handshakes != 1 {
		t.Fatal("a replay moved the peer or made a handshake")
	}
}

// After a restart the responder has no newest timestamp: a recorded Init
// gets an answer, but its keys never open anything the attacker has (the
// recorded call's datagrams), and once the real peer's Init arrives the
// recorded ones are refused as replays.
func TestReplayAfterRestart(t *testing.T) {
	psk := testKey(t)
	l, a, b := pair(t, psk, true, 0, 0)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	for range 5 {
		a.say()
	}
	l.pump(now)
	rec := append([]sent(nil), l.log...)
	// B restarts: a new session id, nothing remembered.
	b2 := l.add(2, 1, 0xb2, psk, true, 0, 3)
	stranger := addrPort(9)
	for _, p := range rec {
		if p.to == b.addr {
			if r := b2.receive(p.dg, stranger, now); r.Deliver || r.Roam {
				t.Fatalf("after a restart a recorded datagram was delivered: %+v", r)
			}
		}
	}
	if b2.s.Ready() || b2.s.cur != nil {
		t.Fatal("a recorded Init gave the restarted endpoint keys it uses")
	}
	// The real A initiates (its keys expire, or it hears B's Init); B
	// answers; recorded Inits are then replays.
	now = now.Add(time.Second)
	l.queue = nil
	b2.s.Tick(now, b2.peer)
	l.pump(now)
	if !a.s.Ready() || !b2.s.Ready() {
		t.Fatalf("no call after the restart: refused A %v B %v", refused(a.s), refused(b2.s))
	}
	replays := b2.s.Refused(ReasonReplay)
	for _, p := range rec {
		if p.to == b.addr && packetizer.Kind(p.dg[3]&0x3f) == packetizer.KindHandshakeInit {
			b2.receive(p.dg, stranger, now)
		}
	}
	if b2.s.Refused(ReasonReplay) == replays {
		t.Fatalf("recorded Inits after the real one: refused %v", refused(b2.s))
	}
}

// A wrong key: the Init fails authentication and is counted against the
// peer's address; no keys.
func TestWrongKey(t *testing.T) {
	l := newLink(t)
	a := l.add(1, 2, 0xa, testKey(t), true, 0, 1)
	b := l.add(2, 1, 0xb, testKey(t), true, 0, 2)
	now := time.Unix(1000, 0)
	for range 5 {
		l.tick(now)
		l.pump(now)
		now = now.Add(time.Second)
	}
	if a.s.Ready() || b.s.Ready() || b.s.Refused(ReasonAuth) == 0 || b.s.LastAuthFail().IsZero() {
		t.Fatalf("wrong key: ready %v %v, refused %v", a.s.Ready(), b.s.Ready(), refused(b.s))
	}
}

// Encrypted meets unencrypted: both count the mismatch against the peer.
func TestMismatch(t *testing.T) {
	l := newLink(t)
	a := l.add(1, 2, 0xa, testKey(t), true, 0, 1)
	b := l.add(2, 1, 0xb, Key{}, false, 0, 2)
	now := time.Unix(1000, 0)
	a.s.Tick(now, a.peer)
	b.say()
	l.pump(now)
	if a.s.LastMismatch().IsZero() || b.s.LastMismatch().IsZero() || a.s.Refused(ReasonUnencrypted) != 1 || b.s.Refused(ReasonEncrypted) != 1 {
		t.Fatalf("A refused %v, B refused %v", refused(a.s), refused(b.s))
	}
}

// Roaming: only the newest authenticated datagram of the current keys from
// a new address says so; an old one from there does not.
func TestRoam(t *testing.T) {
	l, a, b := pair(t, testKey(t), true, 0, 0)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	older := a.datagram(packetizer.KindReport)
	newer := a.datagram(packetizer.KindReport)
	moved := addrPort(7)
	if r := b.receive(newer, moved, now); !r.Deliver || !r.Roam {
		t.Fatalf("newest from a new address: %+v", r)
	}
	if r := b.receive(older, addrPort(8), now); !r.Deliver || r.Roam {
		t.Fatalf("an older datagram (reordered) from elsewhere: %+v", r)
	}
	if r := b.receive(a.datagram(packetizer.KindReport), b.peer, now); !r.Deliver || r.Roam {
		t.Fatalf("from the peer's address: %+v", r)
	}
	if b.s.Moves() != 1 {
		t.Fatalf("moves %d", b.s.Moves())
	}
}

// Encryption off: replays of a packet number are refused, per sender
// session.
func TestPlainReplay(t *testing.T) {
	l := newLink(t)
	a := l.add(1, 2, 0xa, Key{}, false, 0, 1)
	b := l.add(2, 1, 0xb, Key{}, false, 0, 2)
	now := time.Unix(1000, 0)
	for range 5 {
		a.say()
	}
	l.pump(now)
	for _, p := range l.log {
		b.receive(p.dg, p.from, now)
	}
	if len(b.got) != 5 || b.s.Refused(ReasonReplay) != 5 {
		t.Fatalf("delivered %d, refused %v", len(b.got), refused(b.s))
	}
}

// Every prefix of a valid handshake message, and every length around it,
// is refused as malformed without a panic.
func TestHandshakePrefixes(t *testing.T) {
	l, a, b := pair(t, testKey(t), true, 0, 0)
	connect(t, l, a, b, time.Unix(1000, 0))
	for _, p := range l.log[:2] {
		payload := p.dg[packetizer.HeaderLen:]
		for n := range len(payload) + 2 {
			q := append(bytes.Clone(payload[:min(n, len(payload))]), make([]byte, max(0, n-len(payload)))...)
			if _, err := parseMsg(q, len(payload)); (err == nil) != (n == len(payload)) {
				t.Fatalf("a %d-byte message of %d: %v", n, len(payload), err)
			}
		}
	}
	for n := range initPlain + 2 {
		if _, err := parseInitPayload(make([]byte, n)); (err == nil) != (n == initPlain) {
			t.Fatalf("Init payload of %d bytes: %v", n, err)
		}
	}
	for n := range respPlain + 2 {
		if _, err := parseRespPayload(make([]byte, n)); (err == nil) != (n == respPlain) {
			t.Fatalf("Resp payload of %d bytes: %v", n, err)
		}
	}
	if _, err := parseInitPayload(append(make([]byte, initPlain-1), 1)); err == nil {
		t.Fatal("reserved bytes not checked")
	}
}

// Seal and open allocate nothing.
func TestSealOpenAllocs(t *testing.T) {
	l, a, b := pair(t, testKey(t), true, 0, 0)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	buf := make([]byte, 1200)
	h := packetizer.Header{Kind: packetizer.KindReport, Session: 0xa, Sealed: true}
	opened := 0
	n := testing.AllocsPerRun(200, func() {
		h.Packet = a.packets.Add(1)
		dg := h.AppendTo(buf[:0])
		dg = dg[:packetizer.HeaderLen+packetizer.ReportLen]
		dg, ok := a.sealer.Seal(dg)
		if !ok {
			t.Fatal("no seal")
		}
		hh, _ := packetizer.ParseHeader(dg)
		if r := b.s.Open(&hh, dg, a.addr, b.peer, now); r.Deliver {
			opened++
		}
	})
	if n != 0 || opened < 200 {
		t.Fatalf("seal+open: %v allocations, %d opened", n, opened)
	}
}

// TestOpenInto opens sealed datagrams straight into a place of the
// payload's size: the plain payload lands there and the result says so;
// a place of another size is not used (opened in place as by Open); a
// tampered datagram is refused, placed or not.
func TestOpenInto(t *testing.T) {
	l, a, b := pair(t, testKey(t), true, 0, 0)
	now := connect(t, l, a, b, time.Unix(1000, 0))
	plain := bytes.Repeat([]byte("vstreamd"), packetizer.ReportLen/8+1)[:packetizer.ReportLen]
	seal := func() ([]byte, packetizer.Header) {
		h := packetizer.Header{Kind: packetizer.KindReport, Session: 0xa, Sealed: true, Packet: a.packets.Add(1)}
		dg, ok := a.sealer.Seal(append(h.AppendTo(nil), plain...))
		if !ok {
			t.Fatal("no seal")
		}
		h, _ = packetizer.ParseHeader(dg)
		return dg, h
	}

	dg, h := seal()
	into := make([]byte, len(plain))
	r := b.s.OpenInto(&h, dg, into, a.addr, b.peer, now)
	if !r.Deliver || !r.Placed || !bytes.Equal(into, plain) {
		t.Fatalf("opened into a place of the payload's size: deliver %v placed %v, plain payload there %v", r.Deliver, r.Placed, bytes.Equal(into, plain))
	}

	dg, h = seal()
	r = b.s.OpenInto(&h, dg, make([]byte, len(plain)+1), a.addr, b.peer, now)
	if !r.Deliver || r.Placed || !bytes.Equal(r.Datagram[packetizer.HeaderLen:], plain) {
		t.Fatalf("a place of another size: deliver %v placed %v, want opened in place", r.Deliver, r.Placed)
	}

	dg, h = seal()
	dg[len(dg)-1] ^= 1
	if r := b.s.OpenInto(&h, dg, into, a.addr, b.peer, now); r.Deliver || r.Placed {
		t.Fatalf("a tampered datagram: deliver %v placed %v, want refused", r.Deliver, r.Placed)
	}
}

// TestSealTo seals datagrams whose payload lies elsewhere (in the frame)
// into the buffer after the header: the bytes are exactly those Seal makes
// in place, the peer opens them, the payload is not touched, and nothing is
// allocated. With encryption off the payload is copied after the header. A
// header of another length is refused.
func TestSealTo(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		t.Run(fmt.Sprintf("encrypted=%v", encrypted), func(t *testing.T) {
			l, a, b := pair(t, testKey(t), encrypted, 0, 0)
			now := connect(t, l, a, b, time.Unix(1000, 0))
			payload := make([]byte, 1100)
			for i := range payload {
				payload[i] = byte(i * 13)
			}
			orig := bytes.Clone(payload)
			h := packetizer.Header{Kind: packetizer.KindData, Session: 0xa, Sealed: encrypted, Data: 1, Shard: 0,
				FrameLen: uint32(len(payload)), ShardSize: uint16(len(payload)), Blocks: 1}
			inPlace := make([]byte, 0, 1500)
			out := make([]byte, 0, 1500)
			opened := 0
			allocs := testing.AllocsPerRun(50, func() {
				h.Packet = a.packets.Add(1)
				want, ok := a.sealer.Seal(append(h.AppendTo(inPlace[:0]), payload...))
				if !ok {
					t.Fatal("Seal refused")
				}
				got, ok := a.sealer.SealTo(h.AppendTo(out[:0]), payload)
				if !ok {
					t.Fatal("SealTo refused")
				}
				if !bytes.Equal(got, want) || &got[0] != &out[:1][0] {
					t.Fatalf("SealTo made %d bytes (in the buffer given: %v), Seal %d; equal: %v",
						len(got), &got[0] == &out[:1][0], len(want), bytes.Equal(got, want))
				}
				hh, err := packetizer.ParseHeader(got)
				if err != nil {
					t.Fatal(err)
				}
				if r := b.s.Open(&hh, got, a.addr, b.peer, now); r.Deliver && bytes.Equal(r.Datagram[packetizer.HeaderLen:], orig) {
					opened++
				}
			})
			if allocs != 0 || opened < 50 {
				t.Fatalf("%v allocations per SealTo, %d of 51 opened to the payload", allocs, opened)
			}
			if !bytes.Equal(payload, orig) {
				t.Fatal("SealTo changed the payload it read")
			}
			if _, ok := a.sealer.SealTo(h.AppendTo(out[:0])[:packetizer.HeaderLen-1], payload); ok {
				t.Fatal("SealTo took a short header")
			}
		})
	}
}
