package session

import (
	"bytes"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// TestOpenInto opens sealed datagrams straight into a place of the
// payload's size: the plain payload lands there and the result says so;
// a place of another size is not used (opened in place as by Open); a
// tampered datagram is refused, placed or not.
func TestOpenInto(t *testing.T) {
	l := newLink(t)
	psk := testKey(t)
	a := l.add(1, 2, 0xa, psk, true, 0, 1)
	b := l.add(2, 1, 0xb, psk, true, 0, 2)
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
