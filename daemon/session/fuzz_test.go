package session

import (
	"bytes"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// handshakeFixture returns a real Init and Resp (whole datagrams), and a
// function making a fresh initiator whose Init in flight is the one the
// Resp answers (fixed randomness makes it the same every time).
func handshakeFixture(t testing.TB) (initDg, respDg []byte, fresh func() (initiator, responder *end)) {
	psk := Key{7}
	fresh = func() (*end, *end) {
		_, a, b := pair(t, psk, true, 0, 0)
		a.s.Tick(time.Unix(1000, 0), a.peer)
		return a, b
	}
	a, b := fresh()
	initDg = a.lk.log[0].dg
	b.receive(initDg, a.addr, time.Unix(1000, 0))
	respDg = b.lk.log[1].dg
	return initDg, respDg, fresh
}

// FuzzParseHandshake: the clear parsers of both messages and the parser of
// Init's sealed payload never panic, accept only their exact lengths, and
// an Init payload that parses encodes back to the same bytes.
func FuzzParseHandshake(f *testing.F) {
	initDg, respDg, _ := handshakeFixture(f)
	f.Add(initDg[packetizer.HeaderLen:])
	f.Add(respDg[packetizer.HeaderLen:])
	f.Add((&initPayload{ts: stamp(time.Unix(1000, 5)), session: 0xa, phase: true}).appendTo(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		if m, err := parseInit(in); err == nil && (len(in) != InitLen || len(m.ephemeral()) != pubLen) {
			t.Fatalf("parseInit accepted %d bytes", len(in))
		}
		if _, err := parseResp(in); err == nil && len(in) != RespLen {
			t.Fatalf("parseResp accepted %d bytes", len(in))
		}
		if p, err := parseInitPayload(in); err == nil {
			if back := p.appendTo(nil); !bytes.Equal(back, in) {
				t.Fatalf("Init payload %x encodes back as %x", in, back)
			}
		}
		if _, err := parseRespPayload(in); err == nil && len(in) != respPlain {
			t.Fatalf("Resp payload of %d bytes accepted", len(in))
		}
	})
}

// FuzzOpenInit feeds a responder arbitrary Init payloads (after a valid
// header): no panic, and only the exact recorded Init makes keys.
func FuzzOpenInit(f *testing.F) {
	initDg, _, fresh := handshakeFixture(f)
	payload := initDg[packetizer.HeaderLen:]
	f.Add(payload)
	f.Add(payload[:40])
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := fresh()
		dg := append(bytes.Clone(initDg[:packetizer.HeaderLen]), in...)
		h, _ := packetizer.ParseHeader(dg)
		b.s.Open(&h, dg, a.addr, b.peer, time.Unix(1000, 0))
		if b.s.next != nil && !bytes.Equal(in, payload) {
			t.Fatalf("a modified Init made keys: %x", in)
		}
	})
}

// FuzzOpenResp feeds an initiator arbitrary Resp payloads: no panic, and
// only the exact recorded Resp finishes its handshake.
func FuzzOpenResp(f *testing.F) {
	_, respDg, fresh := handshakeFixture(f)
	payload := respDg[packetizer.HeaderLen:]
	f.Add(payload)
	f.Add(payload[:4])
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := fresh()
		dg := append(bytes.Clone(respDg[:packetizer.HeaderLen]), in...)
		h, _ := packetizer.ParseHeader(dg)
		r := a.s.Open(&h, dg, b.addr, a.peer, time.Unix(1000, 0))
		if r.Finished != bytes.Equal(in, payload) {
			t.Fatalf("Resp %x: finished %v", in, r.Finished)
		}
	})
}
