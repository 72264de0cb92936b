package daemon

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/packetizer"
)

// checkSink records frames shown; each frame carries a CRC-32 of itself in
// its last four bytes, so a forged or mixed frame shows.
type checkSink struct {
	mu     sync.Mutex
	shown  int
	broken int
}

func (s *checkSink) Show(f media.Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shown++
	n := len(f.Data) - 4
	if n < 0 || crc32.ChecksumIEEE(f.Data[:n]) != binary.BigEndian.Uint32(f.Data[n:]) {
		s.broken++
	}
}

func (s *checkSink) Status() media.SinkStatus { return media.SinkStatus{} }
func (s *checkSink) Breaks() uint64           { return 0 }

// selfChecking is a frame as the sender packetizes it: a JPEG media prefix,
// then n bytes and their CRC-32.
func selfChecking(n int, seed byte) []byte {
	b := packetizer.Media{Codec: packetizer.CodecJPEG, Flags: packetizer.MediaKeyframe}.AppendTo(nil)
	b = append(b, bytes.Repeat([]byte{seed}, n)...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[packetizer.MediaLen:]))
}

// FuzzReceiveEncrypted feeds the receive path of an encrypted daemon
// arbitrary datagram sequences from the peer's address. Seeds are a real
// peer's sealed hello and frames, so mutations start from authentic
// traffic. Whatever arrives: no panic, and every frame shown is intact.
func FuzzReceiveEncrypted(f *testing.F) {
	seed, run := receiveFixture(f)
	f.Add(seed)
	f.Add(seed[:len(seed)/3])
	f.Add(append(append([]byte(nil), seed...), seed...)) // everything replayed
	f.Fuzz(func(t *testing.T, in []byte) { run(t, in) })
}

// TestReceiveSeed checks that the fuzz seed is a working call: it shows its
// three frames, once each even when everything is replayed.
func TestReceiveSeed(t *testing.T) {
	seed, run := receiveFixture(t)
	for _, in := range [][]byte{seed, append(append([]byte(nil), seed...), seed...)} {
		if s := run(t, in); s.shown != 3 {
			t.Fatalf("the seed showed %d frames, want 3", s.shown)
		}
	}
}

// receiveFixture returns a seed (a real peer's handshake Init, then its
// sealed hello and three frames, as length-prefixed records) and a function
// that feeds records to a fresh encrypted daemon's receive path. Both
// sides draw their ephemeral keys from fixed seeds, so a fresh daemon
// answers the recorded Init with the same keys and opens the recorded
// datagrams.
func receiveFixture(f testing.TB) ([]byte, func(testing.TB, []byte) *checkSink) {
	psk, _ := session.GenerateKey()
	dir := f.TempDir()
	keyFile := filepath.Join(dir, "psk")
	if err := os.WriteFile(keyFile, []byte(psk.String()), 0o600); err != nil {
		f.Fatal(err)
	}
	cfg := config.Default()
	cfg.File, cfg.Peer, cfg.Security.KeyFile = "fuzz.toml", "127.0.0.1:5602", keyFile
	peer := netip.MustParseAddrPort("127.0.0.1:5602")
	us := netip.MustParseAddrPort("127.0.0.1:5601")
	const peerSession, ourSession = 0x1111, 0x2222

	// ours is our side's session layer as the daemon makes it, but with
	// fixed randomness and its handshake messages captured.
	var sent [][]byte
	ours := func(packets *atomic.Uint64) *session.Session {
		s, err := session.New(session.Config{Encrypted: true, PSK: psk, Self: ourSession, Packets: packets,
			Send: func(dg []byte, _ netip.AddrPort) { sent = append(sent, append([]byte(nil), dg...)) },
			Rand: rand.NewChaCha8([32]byte{2})})
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	var packets atomic.Uint64
	theirs, err := session.New(session.Config{Encrypted: true, PSK: psk, Self: peerSession, Packets: &packets,
		Send: func(dg []byte, _ netip.AddrPort) { sent = append(sent, append([]byte(nil), dg...)) },
		Rand: rand.NewChaCha8([32]byte{1})})
	if err != nil {
		f.Fatal(err)
	}
	var ourPackets atomic.Uint64
	me := ours(&ourPackets)
	now := time.Now()
	exchange := func(to *session.Session, from netip.AddrPort) session.Result {
		dg := sent[len(sent)-1]
		h, err := packetizer.ParseHeader(dg)
		if err != nil {
			f.Fatal(err)
		}
		return to.Open(&h, append([]byte(nil), dg...), from, from, now)
	}
	theirs.Tick(now, us) // sends its Init
	init := sent[0]
	exchange(me, peer) // we answer
	if r := exchange(theirs, us); !r.Finished {
		f.Fatal("the fixture's handshake did not finish")
	}
	seal := theirs.NewSealer()
	record := func(b, d []byte) []byte { return append(binary.BigEndian.AppendUint16(b, uint16(len(d))), d...) }
	seed := record(nil, init)
	hm := packetizer.Hello{Flags: packetizer.HelloSends, Sent: time.Now().UnixNano()}
	h := packetizer.Header{Kind: packetizer.KindHello, Session: peerSession, Packet: packets.Add(1), Sealed: true}
	dg, _ := seal.Seal(hm.AppendTo(h.AppendTo(make([]byte, 0, 2048))))
	seed = record(seed, dg)
	pk, err := packetizer.NewPacketizer(packetizer.Config{MaxDatagram: 700, Parity: 0.5, Session: peerSession, Overhead: session.Overhead, Sealed: true, Packets: &packets}, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, size := range []int{1, 900, 3000} {
		_, _ = pk.Packetize(selfChecking(size, byte(size)), time.Now().UnixNano(), func(d []byte) error {
			dg, _ := seal.Seal(append(make([]byte, 0, len(d)+session.Overhead), d...))
			seed = record(seed, dg)
			return nil
		})
	}
	run := func(t testing.TB, in []byte) *checkSink {
		sink := &checkSink{}
		d, err := New(Options{Config: cfg, Sink: sink})
		if err != nil {
			t.Fatal(err)
		}
		d.session = ourSession
		d.peer.self = ourSession
		d.sess = ours(&d.packets)
		d.peerAddr.Store(&peer)
		now := time.Now()
		for len(in) >= 2 {
			n := min(int(binary.BigEndian.Uint16(in)), len(in)-2)
			dg := append([]byte(nil), in[2:2+n]...)
			in = in[2+n:]
			d.handle1(dg, peer, now, now)
			now = now.Add(time.Millisecond)
		}
		if sink.broken != 0 {
			t.Fatalf("%d of %d frames shown were not intact", sink.broken, sink.shown)
		}
		return sink
	}
	return seed, run
}

// FuzzFeedbackState feeds the receiver's loss accounting packet numbers as
// a peer could send them (any first number, 0 and 2^64-1 too, any jumps,
// backwards too, any frame geometry) with feedback built in between: it
// never panics or hangs, and each feedback's counts hang together.
func FuzzFeedbackState(f *testing.F) {
	f.Add(uint64(1), []byte{1, 0, 10, 2, 0, 3, 5, 0, 255, 0, 1, 9, 3, 0})
	f.Add(uint64(1<<40), []byte{0xff, 0xff, 0xff, 0, 4, 1, 1, 0x80, 2, 0})
	f.Add(uint64(0), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint64(1<<64-1), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint64(1<<62-5), []byte{3, 1, 1, 9, 1, 1, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, first uint64, in []byte) {
		var fb feedbackState
		now := time.Unix(1_700_000_000, 0)
		highest := first
		feedback := func() {
			var m packetizer.Feedback
			if err := packetizer.ParseFeedback(fb.build(now, highest, FrameCounts{}), &m); err != nil {
				t.Fatalf("feedback does not parse: %v", err)
			}
			if m.Received > m.Expected || m.TailLost > m.Expected-m.Received || m.TailSeen > m.Received {
				t.Fatalf("feedback %+v: counts beyond what was judged", m)
			}
		}
		h := packetizer.Header{Kind: packetizer.KindData, Packet: first, Data: 8, Parity: 2}
		fb.onDatagram(&h, 1200, now)
		for len(in) >= 3 {
			step, shard, geo := in[0], in[1], in[2]
			in = in[3:]
			now = now.Add(time.Duration(geo%64) * time.Millisecond)
			if step == 0 { // a feedback
				feedback()
				continue
			}
			// step: forward by up to 2^63, or back by a little
			p := highest + 1 + uint64(step)<<(step%64)
			if step >= 0xf0 {
				p = highest - uint64(step&0x0f)
			}
			h := packetizer.Header{Kind: packetizer.KindData, Packet: p, Frame: uint32(p >> 4), Shard: uint16(shard), Data: uint16(geo>>4) + 1, Parity: uint16(geo & 0x0f)}
			if geo == 0 {
				h.Kind = packetizer.KindFeedback
			}
			fb.onDatagram(&h, 1200, now)
			highest = max(highest, p)
		}
		now = now.Add(time.Second)
		feedback()
		feedback()
	})
}
