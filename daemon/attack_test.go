package daemon_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flynn/noise"
	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/daemon/testutil"
	"github.com/vstreamd/vstreamd/packetizer"
)

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tappedCall is an encrypted two-way call through a tap.
func tappedCall(t *testing.T) (a, b *endpoint, tp *tap, k session.Key) {
	k = newKey(t)
	pa, pb := freePort(t), freePort(t)
	tp = newTap(t, pa, pb)
	a = start(t, "A", secureConfig(t, pa, addr(tp.a), writeKey(t, k)), fake.NewSource(30, 80, 8000), fake.NewSink())
	b = start(t, "B", secureConfig(t, pb, addr(tp.b), writeKey(t, k)), fake.NewSource(30, 80, 8000), fake.NewSink())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range []*endpoint{a, b} {
		if err := e.sink.Wait(ctx, 20); err != nil {
			t.Fatalf("no call: %v", err)
		}
	}
	return a, b, tp, k
}

func kindOf(dg []byte) packetizer.Kind {
	h, err := packetizer.ParseHeader(dg)
	if err != nil {
		return 0
	}
	return h.Kind
}

// TestLiveReflection: for several seconds every datagram A sends is also
// sent back to A from a stranger's port. A refuses them as reflected, its
// peer address and session stay, and it keeps showing B's frames.
func TestLiveReflection(t *testing.T) {
	a, _, tp, _ := tappedCall(t)
	before := a.d.Status()
	shown := len(a.sink.Frames())
	stranger := listenLoopback(t)
	tp.mu.Lock()
	tp.reflect = stranger
	tp.mu.Unlock()
	testutil.WaitFor(t, "A to refuse a thousand of its own datagrams", 15*time.Second, func() bool {
		return a.d.Status().RX.Invalid["reflected"] >= 1000
	})
	tp.mu.Lock()
	tp.reflect = nil
	tp.mu.Unlock()
	st := a.d.Status()
	if st.PeerAddr != before.PeerAddr || st.PeerSession != before.PeerSession || st.PeerMoves != 0 || st.State != daemon.StateStreaming {
		t.Fatalf("reflection changed the call: peer %s -> %s, session %s -> %s, moves %d, state %s",
			before.PeerAddr, st.PeerAddr, before.PeerSession, st.PeerSession, st.PeerMoves, st.State)
	}
	if n := len(a.sink.Frames()) - shown; n < 30 {
		t.Fatalf("A showed %d frames of B's while reflected", n)
	}
	checkFrames(t, "A under reflection", a.sink.Frames())
	t.Logf("A refused %d reflected datagrams, showed %d frames meanwhile; invalid %v", st.RX.Invalid["reflected"], len(a.sink.Frames())-shown, st.RX.Invalid)
}

// replayFrom sends recorded datagrams to dst from c, paced to stay within
// socket buffers.
func replayFrom(c *net.UDPConn, dst netip.AddrPort, rec [][]byte) {
	for i, d := range rec {
		_, _ = c.WriteToUDPAddrPort(d, dst)
		if i%32 == 31 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestReplayAttack: the first datagrams of a call (handshake included),
// recorded, are replayed from a stranger's port to each endpoint during the
// call, and to B after B restarts: every one refused (as a replay, or a
// response to a handshake this run never made), no address move, no
// handshake, the call unchanged.
func TestReplayAttack(t *testing.T) {
	a, b, tp, _ := tappedCall(t)
	tp.mu.Lock()
	recA := append([][]byte(nil), tp.recorded[:min(len(tp.recorded), 400)]...)
	recB := append([][]byte(nil), tp.recordedB[:min(len(tp.recordedB), 400)]...)
	tp.mu.Unlock()
	stranger := listenLoopback(t)
	attack := func(name string, e *endpoint, dst netip.AddrPort, rec [][]byte) {
		t.Helper()
		resps := 0
		for _, d := range rec {
			if kindOf(d) == packetizer.KindHandshakeResp {
				resps++
			}
		}
		st0 := e.d.Status()
		replay0, unknown0 := st0.RX.Invalid["replay"], st0.RX.Invalid["unknown-session"]
		replayFrom(stranger, dst, rec)
		testutil.WaitFor(t, name+": the replays refused", 10*time.Second, func() bool {
			st := e.d.Status()
			return st.RX.Invalid["replay"]-replay0+st.RX.Invalid["unknown-session"]-unknown0 >= uint64(len(rec))
		})
		st := e.d.Status()
		replays := st.RX.Invalid["replay"] - replay0
		if replays < uint64(len(rec)-resps) {
			t.Errorf("%s: %d of %d replays counted as replays (%d handshake responses may count as unknown-session); invalid %v", name, replays, len(rec), resps, st.RX.Invalid)
		}
		if st.PeerAddr != st0.PeerAddr || st.PeerSession != st0.PeerSession || st.PeerMoves != st0.PeerMoves ||
			st.Handshake.Handshakes != st0.Handshake.Handshakes || st.Handshake.KeyEpoch != st0.Handshake.KeyEpoch {
			t.Errorf("%s: the replays changed the call: %+v -> %+v", name, st0.Handshake, st.Handshake)
		}
		t.Logf("%s: replayed %d (%d handshake responses): refused as replays %d, unknown-session %d", name, len(rec), resps, replays, st.RX.Invalid["unknown-session"]-unknown0)
	}
	attack("to B during the call", b, b.cfg.Listen, recA)
	attack("to A during the call", a, a.cfg.Listen, recB)

	// B restarts: same address and key, a new session.
	b.stop(t)
	b2 := start(t, "B2", b.cfg, fake.NewSource(30, 80, 8000), fake.NewSink())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b2.sink.Wait(ctx, 10); err != nil {
		t.Fatalf("no call after B restarted: %v", err)
	}
	attack("to B after its restart", b2, b.cfg.Listen, recA)
	n := len(b2.sink.Frames())
	if err := b2.sink.Wait(ctx, n+10); err != nil {
		t.Fatal("B stopped showing frames after the replays")
	}
}

// flooder sends forged, mutated and replayed handshake datagrams to dst
// from several ports until stop is closed; it counts what it sent.
type flooder struct {
	sent atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func flood(t *testing.T, dst netip.AddrPort, recorded [][]byte, ports int) *flooder {
	f := &flooder{stop: make(chan struct{})}
	var hs [][]byte
	for _, d := range recorded {
		if k := kindOf(d); k == packetizer.KindHandshakeInit || k == packetizer.KindHandshakeResp {
			hs = append(hs, d)
		}
	}
	conns := make([]*net.UDPConn, ports)
	for i := range conns {
		conns[i] = listenLoopback(t)
	}
	f.wg.Go(func() {
		rng := rand.New(rand.NewPCG(3, 4))
		buf := make([]byte, 2048)
		for i := 0; ; i++ {
			select {
			case <-f.stop:
				return
			default:
			}
			var d []byte
			switch {
			case i%4 == 0 && len(hs) > 0: // replayed
				d = hs[rng.IntN(len(hs))]
			case i%4 == 1 && len(hs) > 0: // mutated
				d = append(buf[:0], hs[rng.IntN(len(hs))]...)
				for range 1 + rng.IntN(3) {
					j := packetizer.HeaderLen + rng.IntN(len(d)-packetizer.HeaderLen)
					d[j] ^= byte(1 + rng.IntN(255))
				}
			default: // forged: a valid header, random content
				kind := packetizer.KindHandshakeInit
				n := session.InitLen
				if i%2 == 1 {
					kind, n = packetizer.KindHandshakeResp, session.RespLen
				}
				h := packetizer.Header{Kind: kind, Session: rng.Uint64(), Packet: rng.Uint64(), Sealed: true}
				d = h.AppendTo(buf[:0])
				for range n {
					d = append(d, byte(rng.Uint32()))
				}
			}
			_, _ = conns[i%len(conns)].WriteToUDPAddrPort(d, dst)
			f.sent.Add(1)
			if i%20 == 19 {
				time.Sleep(2 * time.Millisecond) // several thousand a second
			}
		}
	})
	return f
}

func (f *flooder) halt() { close(f.stop); f.wg.Wait() }

// TestFloodRestart: while A is flooded with forged, mutated and replayed
// handshake datagrams from 16 ports, B restarts; the call resumes in both
// directions within a bound far above the measured figure (reported).
func TestFloodRestart(t *testing.T) {
	a, b, tp, _ := tappedCall(t)
	tp.mu.Lock()
	rec := append(append([][]byte(nil), tp.recordedB...), tp.recorded...)
	tp.mu.Unlock()
	f := flood(t, a.cfg.Listen, rec, 16)
	defer f.halt()
	testutil.WaitFor(t, "the flood to be refused", 5*time.Second, func() bool { return a.d.Status().RX.PacketsInvalid > 2000 })

	b.stop(t)
	shownA := len(a.sink.Frames())
	t0, sent0, refused0 := time.Now(), f.sent.Load(), a.d.Status().RX.PacketsInvalid
	b2 := start(t, "B2", b.cfg, fake.NewSource(30, 80, 8000), fake.NewSink())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b2.sink.Wait(ctx, 1); err != nil {
		t.Fatalf("B showed nothing within 5 s of restarting under the flood; A refused %v", a.d.Status().RX.Invalid)
	}
	tB := time.Since(t0)
	if err := a.sink.Wait(ctx, shownA+1); err != nil {
		t.Fatalf("A showed nothing of the restarted B within 5 s under the flood; A refused %v", a.d.Status().RX.Invalid)
	}
	tA := time.Since(t0)
	sent, el := f.sent.Load()-sent0, time.Since(t0)
	st := a.d.Status()
	t.Logf("B restarted while A was flooded (%d handshake datagrams in the %v from the restart: %.0f/s; A refused %d meanwhile); first frame shown by B after %v, by A after %v; A's refusals in all: %d %v",
		sent, el.Round(time.Millisecond), float64(sent)/el.Seconds(), st.RX.PacketsInvalid-refused0, tB.Round(time.Millisecond), tA.Round(time.Millisecond), st.RX.PacketsInvalid, st.RX.Invalid)
	if st.PeerMoves != 0 {
		t.Errorf("the flood moved A's peer %d times", st.PeerMoves)
	}
}

// TestForwardSecrecy records a call and shows that the pre-shared key and
// the recorded handshake do not open its datagrams: the key reads the
// recorded Init (it is the right key), but the traffic keys need an
// ephemeral private key that never left the endpoints' memory.
func TestForwardSecrecy(t *testing.T) {
	a, b, tp, psk := tappedCall(t)
	a.stop(t)
	b.stop(t)
	tp.mu.Lock()
	rec := append(append([][]byte(nil), tp.recorded...), tp.recordedB...)
	tp.mu.Unlock()
	var inits, resps, data [][]byte
	for _, d := range rec {
		switch kindOf(d) {
		case packetizer.KindHandshakeInit:
			inits = append(inits, d)
		case packetizer.KindHandshakeResp:
			resps = append(resps, d)
		case packetizer.KindData, packetizer.KindParity, packetizer.KindHello:
			data = append(data, d)
		}
	}
	if len(inits) == 0 || len(resps) == 0 || len(data) < 100 {
		t.Fatalf("recorded %d Inits, %d Resps, %d data datagrams", len(inits), len(resps), len(data))
	}
	// Every key an attacker with the PSK can make.
	var keys [][32]byte
	keys = append(keys, psk)
	read := 0
	for _, d := range inits {
		hs, err := noise.NewHandshakeState(session.NoiseConfig(psk, false, nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := hs.ReadMessage(nil, d[packetizer.HeaderLen+4:]); err != nil {
			continue
		}
		read++
		_, c1, c2, err := hs.WriteMessage(nil, make([]byte, 28))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, c1.UnsafeKey(), c2.UnsafeKey())
	}
	if read == 0 {
		t.Fatal("the PSK did not read any recorded Init: the test would prove nothing")
	}
	for _, d := range resps { // as an initiator of our own
		hs, _ := noise.NewHandshakeState(session.NoiseConfig(psk, true, nil))
		if _, _, _, err := hs.WriteMessage(nil, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := hs.ReadMessage(nil, d[packetizer.HeaderLen+4:]); err == nil {
			t.Fatal("a recorded response was read without the initiator's ephemeral key")
		}
	}
	// The old (v1) derivation, from the PSK and the session ids in clear.
	for _, d := range data[:10] {
		h, _ := packetizer.ParseHeader(d)
		for _, other := range []uint64{0} {
			var ids [16]byte
			binary.BigEndian.PutUint64(ids[:8], h.Session)
			binary.BigEndian.PutUint64(ids[8:], other)
			k, _ := hkdf.Key(sha256.New, psk[:], ids[:], "vstreamd/1 data", 32)
			keys = append(keys, [32]byte(k))
		}
	}
	for _, k := range keys {
		block, _ := aes.NewCipher(k[:])
		gcm, _ := cipher.NewGCM(block)
		for _, d := range data {
			var nonce [12]byte
			binary.BigEndian.PutUint64(nonce[4:], packetizer.PacketOf(d))
			if _, err := gcm.Open(nil, nonce[:], d[packetizer.HeaderLen:], d[:packetizer.HeaderLen]); err == nil {
				t.Fatalf("a recorded datagram opened with a key made from the PSK")
			}
		}
	}
	t.Logf("recorded %d Inits (%d read with the PSK), %d Resps, %d data datagrams; %d candidate keys opened none", len(inits), read, len(resps), len(data), len(keys))
}

// TestRekeyCall: a call with keys renewed every second crosses several
// rekeys without losing a frame.
func TestRekeyCall(t *testing.T) {
	k := newKey(t)
	pa, pb := freePort(t), freePort(t)
	ca, cb := secureConfig(t, pa, pb, writeKey(t, k)), secureConfig(t, pb, pa, writeKey(t, k))
	ca.Transport.MaxDelay, cb.Transport.MaxDelay = time.Second, time.Second // a loaded machine must not make frames late
	a := start(t, "A", ca, fake.NewSource(30, 80, 8000), nil, daemon.RekeyAfter(time.Second))
	b := start(t, "B", cb, nil, fake.NewSink(), daemon.RekeyAfter(time.Second))
	testutil.WaitFor(t, "five rekeys on both sides", 15*time.Second, func() bool {
		sa, sb := a.d.Status(), b.d.Status()
		return len(b.sink.Frames()) > 0 && sa.Handshake.KeyEpoch >= 6 && sb.Handshake.KeyEpoch >= 6
	})
	a.stop(t)
	frames := b.sink.Frames()
	checkFrames(t, "B across rekeys", frames)
	for i := 1; i < len(frames); i++ {
		if frames[i].Seq != frames[i-1].Seq+1 {
			t.Fatalf("frame %d missing across rekeys (after %d)", frames[i-1].Seq+1, frames[i-1].Seq)
		}
	}
	st := b.d.Status()
	if st.RX.FramesLost+st.RX.FramesIncomplete+st.RX.FramesLate != 0 || st.RX.PacketsInvalid != 0 {
		t.Fatalf("across rekeys: lost %d, incomplete %d, late %d, invalid %v", st.RX.FramesLost, st.RX.FramesIncomplete, st.RX.FramesLate, st.RX.Invalid)
	}
	t.Logf("%d frames in order across %d key epochs, none lost", len(frames), st.Handshake.KeyEpoch)
}

// TestPlainReplayAndReflection: with encryption off, the keyless
// protections still hold: datagrams replayed from the peer's address are
// refused as replays, and an endpoint's own datagrams sent back to it from
// the peer's address are refused as reflected; the call goes on.
func TestPlainReplayAndReflection(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	tp := newTap(t, pa, pb)
	start(t, "A", testConfig(t, pa, addr(tp.a)), fake.NewSource(30, 80, 8000), nil)
	b := start(t, "B", testConfig(t, pb, addr(tp.b)), fake.NewSource(30, 80, 8000), fake.NewSink())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.sink.Wait(ctx, 20); err != nil {
		t.Fatal(err)
	}
	tp.mu.Lock()
	recA := append([][]byte(nil), tp.recorded[:min(len(tp.recorded), 200)]...)
	recB := append([][]byte(nil), tp.recordedB[:min(len(tp.recordedB), 50)]...)
	tp.mu.Unlock()
	st0 := b.d.Status()
	replayFrom(tp.b, pb, recA) // from the address B takes as its peer's
	replayFrom(tp.b, pb, recB) // B's own datagrams, back to it
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := b.d.Status().RX
		// A datagram B never received (sent before B was up, or in flight
		// when recorded) is new to it, not a replay: allow two.
		if st.Invalid["replay"]-st0.RX.Invalid["replay"] >= uint64(len(recA)-2) && st.Invalid["reflected"]-st0.RX.Invalid["reflected"] >= uint64(len(recB)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed %d and reflected %d: refused %v (before %v), foreign %d", len(recA), len(recB), st.Invalid, st0.RX.Invalid, st.PacketsForeign)
		}
		time.Sleep(20 * time.Millisecond)
	}
	n := len(b.sink.Frames())
	if err := b.sink.Wait(ctx, n+10); err != nil {
		t.Fatal("B stopped showing frames")
	}
	checkFrames(t, "B", b.sink.Frames())
	if st := b.d.Status(); st.PeerSession != st0.PeerSession || st.Encryption != "off" {
		t.Fatalf("the call changed: session %s -> %s, encryption %q", st0.PeerSession, st.PeerSession, st.Encryption)
	}
}
