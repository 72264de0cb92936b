package daemon_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// writeKey writes a key file (mode 0600) and returns its path.
func writeKey(t *testing.T, k session.Key) string { return writeKeyB(t, k) }

func writeKeyB(t testing.TB, k session.Key) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "psk")
	if err := os.WriteFile(p, []byte(k.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newKey(t *testing.T) session.Key { return newKeyB(t) }

func newKeyB(t testing.TB) session.Key {
	k, err := session.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func secureConfig(t *testing.T, listen, peer netip.AddrPort, keyFile string) *config.Config {
	c := testConfig(t, listen, peer)
	c.Security.Encryption, c.Security.KeyFile = true, keyFile
	return c
}

func TestEncryptedCall(t *testing.T) {
	k := newKey(t)
	pa, pb := freePort(t), freePort(t)
	a := start(t, "A", secureConfig(t, pa, pb, writeKey(t, k)), fake.NewSource(30, 80, 20000), fake.NewSink())
	b := start(t, "B", secureConfig(t, pb, pa, writeKey(t, k)), fake.NewSource(30, 80, 20000), fake.NewSink())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range []*endpoint{a, b} {
		if err := e.sink.Wait(ctx, 30); err != nil {
			t.Fatalf("encrypted call: %d frames", len(e.sink.Frames()))
		}
		checkFrames(t, "encrypted", e.sink.Frames())
	}
	if st := a.d.Status(); st.Encryption == "off" || st.RX.PacketsInvalid != 0 || st.State != daemon.StateStreaming {
		t.Errorf("status: encryption %q, invalid %d (%v), state %q", st.Encryption, st.RX.PacketsInvalid, st.RX.Invalid, st.State)
	} else if h := st.Handshake; h == nil || h.KeyEpoch == 0 || h.Handshakes == 0 || h.LastRekeySeconds < 0 {
		t.Errorf("status: handshake figures %+v", h)
	}
	testutil.WaitFor(t, "both ends to count the same handshakes", 5*time.Second, func() bool {
		return a.d.Status().Handshake.Handshakes == b.d.Status().Handshake.Handshakes
	})
}

func TestWrongKey(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	a := start(t, "A", secureConfig(t, pa, pb, writeKey(t, newKey(t))), fake.NewSource(30, 80, 5000), fake.NewSink())
	b := start(t, "B", secureConfig(t, pb, pa, writeKey(t, newKey(t))), fake.NewSource(30, 80, 5000), fake.NewSink())
	testutil.WaitFor(t, "both sides to report auth-failed", 5*time.Second, func() bool {
		return a.d.Status().State == daemon.StateAuthFailed && b.d.Status().State == daemon.StateAuthFailed
	})
	// Evidence that more handshakes were tried and refused since, before
	// asserting that nothing got through.
	a0, b0 := a.d.Status().RX.Invalid["auth"], b.d.Status().RX.Invalid["auth"]
	testutil.WaitFor(t, "further refused handshakes on both sides", 5*time.Second, func() bool {
		return a.d.Status().RX.Invalid["auth"] >= a0+2 && b.d.Status().RX.Invalid["auth"] >= b0+2
	})
	for _, e := range []*endpoint{a, b} {
		st := e.d.Status()
		if n := len(e.sink.Frames()); n != 0 || st.RX.Invalid["auth"] == 0 || st.StateDetail == "" || st.TX.Frames != 0 {
			t.Errorf("wrong key: %d frames shown, auth rejections %d, detail %q, frames sent %d", n, st.RX.Invalid["auth"], st.StateDetail, st.TX.Frames)
		}
	}
}

func TestEncryptionMismatch(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	a := start(t, "encrypted", secureConfig(t, pa, pb, writeKey(t, newKey(t))), fake.NewSource(30, 80, 5000), fake.NewSink())
	b := start(t, "plain", testConfig(t, pb, pa), fake.NewSource(30, 80, 5000), fake.NewSink())
	testutil.WaitFor(t, "both sides to report the mismatch", 5*time.Second, func() bool {
		return a.d.Status().State == daemon.StateEncryptionMismatch && b.d.Status().State == daemon.StateEncryptionMismatch
	})
	as, bs := a.d.Status(), b.d.Status()
	if as.RX.Invalid["unencrypted"] == 0 || bs.RX.Invalid["encrypted"] == 0 || len(a.sink.Frames())+len(b.sink.Frames()) != 0 {
		t.Errorf("mismatch: A unencrypted %d, B encrypted %d, frames %d+%d", as.RX.Invalid["unencrypted"], bs.RX.Invalid["encrypted"], len(a.sink.Frames()), len(b.sink.Frames()))
	}
	if bs.Encryption != "off" || as.Encryption == "off" {
		t.Errorf("encryption shown as %q and %q", as.Encryption, bs.Encryption)
	}
}

func TestKeyFileRefused(t *testing.T) {
	p := writeKey(t, newKey(t))
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := daemon.New(daemon.Options{Config: secureConfig(t, freePort(t), freePort(t), p), Sink: fake.NewSink()})
	if err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
	if _, err := daemon.New(daemon.Options{Config: secureConfig(t, freePort(t), freePort(t), p+".missing"), Sink: fake.NewSink()}); err == nil {
		t.Fatal("a missing key file was accepted")
	}
}

// tap relays between A and B so the test can record, replay, tamper with
// and re-route datagrams. A's peer is tap.a, B's peer is tap.b.
type tap struct {
	a, b      *net.UDPConn // facing A, facing B
	toA, toB  netip.AddrPort
	mu        sync.Mutex
	recorded  [][]byte // A to B
	recordedB [][]byte // B to A
	viaB      *net.UDPConn
	reflect   *net.UDPConn // if set, everything A sends also goes back to A from here
	wg        sync.WaitGroup
}

func newTap(t *testing.T, toA, toB netip.AddrPort) *tap {
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tp := &tap{a: listen(), b: listen(), toA: toA, toB: toB}
	tp.viaB = tp.b
	tp.wg.Go(func() { tp.pump(tp.a, true) })
	tp.wg.Go(func() { tp.pump(tp.b, false) })
	t.Cleanup(func() { tp.a.Close(); tp.b.Close(); tp.wg.Wait() })
	return tp
}

func addr(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

func (tp *tap) pump(in *net.UDPConn, fromA bool) {
	buf := make([]byte, 70000)
	for {
		n, _, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		d := append([]byte(nil), buf[:n]...)
		tp.mu.Lock()
		out, dst := tp.a, tp.toA
		var reflect *net.UDPConn
		if fromA {
			out, dst, reflect = tp.viaB, tp.toB, tp.reflect
			if len(tp.recorded) < 20000 {
				tp.recorded = append(tp.recorded, d)
			}
		} else if len(tp.recordedB) < 20000 {
			tp.recordedB = append(tp.recordedB, d)
		}
		tp.mu.Unlock()
		_, _ = out.WriteToUDPAddrPort(d, dst)
		if reflect != nil {
			_, _ = reflect.WriteToUDPAddrPort(d, tp.toA)
		}
	}
}

func TestReplayTamperRoam(t *testing.T) {
	k := newKey(t)
	pa, pb := freePort(t), freePort(t)
	var a, b *endpoint
	tp := newTap(t, pa, pb)
	a = start(t, "A", secureConfig(t, pa, addr(tp.a), writeKey(t, k)), fake.NewSource(30, 80, 8000), nil)
	b = start(t, "B", secureConfig(t, pb, addr(tp.b), writeKey(t, k)), nil, fake.NewSink())
	_ = a
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := b.sink.Wait(ctx, 30); err != nil {
		t.Fatal(err)
	}
	tp.mu.Lock()
	rec := append([][]byte(nil), tp.recorded...)
	tp.mu.Unlock()

	// Replay everything recorded so far, from the peer's own address.
	shown := len(b.sink.Frames())
	before := b.d.Status().RX.Invalid["replay"]
	for i, d := range rec {
		_, _ = tp.b.WriteToUDPAddrPort(d, pb)
		if i%32 == 31 {
			time.Sleep(time.Millisecond) // stay within the socket's buffer
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	// All but a rare one still in flight when recorded (whose replay then
	// arrives first and the original is refused instead).
	for b.d.Status().RX.Invalid["replay"]-before < uint64(len(rec)-1) {
		if time.Now().After(deadline) {
			st := b.d.Status()
			t.Fatalf("replayed %d datagrams; refused as replays %d; invalid %v", len(rec), st.RX.Invalid["replay"]-before, st.RX.Invalid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Bit flips anywhere: refused by authentication.
	authBefore := b.d.Status().RX.Invalid["auth"]
	flipped := 0
	for i, d := range rec[len(rec)-50:] {
		d = append([]byte(nil), d...)
		d[56+i%(len(d)-56)] ^= 0x01 // payload or tag
		if i%5 == 0 {
			d[10] ^= 0x40 // header: session id
		}
		if i%7 == 0 {
			d[13] ^= 0x80 // header: packet number far ahead: passes the window, fails authentication
		}
		_, _ = tp.b.WriteToUDPAddrPort(d, pb)
		flipped++
	}
	testutil.WaitFor(t, "tampered datagrams refused", 5*time.Second, func() bool {
		st := b.d.Status().RX
		return st.Invalid["auth"]+st.Invalid["replay"]+st.Invalid["unknown-session"]+st.Invalid["rate-limited"]-authBefore >= uint64(flipped)
	})
	// Frames kept flowing and none was shown twice.
	if err := b.sink.Wait(ctx, shown+30); err != nil {
		t.Fatal(err)
	}
	checkFrames(t, "B under replay", b.sink.Frames())

	// Garbage from a stranger's address does not move the peer.
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	refusedNow := func() uint64 {
		st := b.d.Status().RX
		return st.Invalid["replay"] + st.Invalid["unknown-session"] + st.Invalid["rate-limited"]
	}
	r0 := refusedNow()
	for _, d := range rec[:100] {
		_, _ = stranger.WriteToUDPAddrPort(d, pb) // replays: authentic but old
	}
	testutil.WaitFor(t, "the stranger's replays refused", 5*time.Second, func() bool { return refusedNow()-r0 >= 100 })
	if st := b.d.Status(); st.PeerMoves != 0 || st.PeerAddr != addr(tp.b).String() {
		t.Fatalf("replays from a stranger moved the peer: moves %d, peer %s", st.PeerMoves, st.PeerAddr)
	}
	// A's traffic now reaches B from a new address (NAT rebinding): B
	// follows it, and keeps receiving.
	tp.mu.Lock()
	tp.viaB = stranger
	tp.mu.Unlock()
	testutil.WaitFor(t, "B to follow the peer to its new address", 5*time.Second, func() bool {
		st := b.d.Status()
		return st.PeerMoves == 1 && st.PeerAddr == addr(stranger).String()
	})
	n := len(b.sink.Frames())
	if err := b.sink.Wait(ctx, n+20); err != nil {
		t.Fatal("no frames after the peer moved")
	}
}
