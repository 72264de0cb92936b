package daemon

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/secure"
	"github.com/vstreamd/vstreamd/packetizer"
)

// checkSink records frames shown; each frame carries a CRC-32 of itself in
// its last four bytes, so a forged or mixed frame shows.
type checkSink struct {
	mu     sync.Mutex
	shown  int
	broken int
}

func (s *checkSink) Show(f Shown) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shown++
	n := len(f.Data) - 4
	if n < 0 || crc32.ChecksumIEEE(f.Data[:n]) != binary.BigEndian.Uint32(f.Data[n:]) {
		s.broken++
	}
}

func (s *checkSink) Status() SinkStatus { return SinkStatus{} }
func (s *checkSink) Breaks() uint64     { return 0 }

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

// receiveFixture returns a seed (a real peer's sealed hello and three
// frames, as length-prefixed records) and a function that feeds records to
// a fresh encrypted daemon's receive path.
func receiveFixture(f testing.TB) ([]byte, func(testing.TB, []byte) *checkSink) {
	psk, _ := secure.GenerateKey()
	dir := f.TempDir()
	keyFile := filepath.Join(dir, "psk")
	if err := os.WriteFile(keyFile, []byte(psk.String()), 0o600); err != nil {
		f.Fatal(err)
	}
	cfg := config.Default()
	cfg.File, cfg.Peer, cfg.Security.KeyFile = "fuzz.toml", "127.0.0.1:5602", keyFile
	peer := netip.MustParseAddrPort("127.0.0.1:5602")

	// A peer session, its keys, and our session id, fixed for the seeds.
	const peerSession, ourSession = 0x1111, 0x2222
	hello, _ := secure.HelloCipher(psk, peerSession)
	data, _ := secure.DataCipher(psk, peerSession, ourSession)
	var pn uint64
	sealed := func(kind packetizer.Kind, payload []byte, c *secure.Cipher) []byte {
		pn++
		h := packetizer.Header{Kind: kind, Session: peerSession, Packet: pn, Sealed: true}
		d := append(h.AppendTo(make([]byte, 0, 2048)), payload...)
		return c.Seal(d, packetizer.HeaderLen, pn)
	}
	record := func(b, d []byte) []byte { return append(binary.BigEndian.AppendUint16(b, uint16(len(d))), d...) }
	var seed []byte
	hm := packetizer.Hello{Flags: packetizer.HelloSends, Sent: time.Now().UnixNano()}
	seed = record(seed, sealed(packetizer.KindHello, hm.AppendTo(nil), hello))
	var packets = new(pnCounter)
	pk, err := packetizer.NewPacketizer(packetizer.Config{MaxDatagram: 700, Parity: 0.5, Session: peerSession, Overhead: secure.Overhead, Sealed: true, Packets: &packets.n}, nil)
	if err != nil {
		f.Fatal(err)
	}
	packets.n.Store(pn)
	for _, size := range []int{1, 900, 3000} {
		_, _ = pk.Packetize(selfChecking(size, byte(size)), time.Now().UnixNano(), func(d []byte) error {
			seed = record(seed, data.Seal(append([]byte(nil), d...), packetizer.HeaderLen, packetizer.PacketOf(d)))
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
		if err := d.sec.init(true, psk, ourSession); err != nil {
			t.Fatal(err)
		}
		d.peerAddr.Store(&peer)
		now := time.Now()
		for len(in) >= 2 {
			n := min(int(binary.BigEndian.Uint16(in)), len(in)-2)
			dg := append([]byte(nil), in[2:2+n]...)
			in = in[2+n:]
			d.handle1(dg, peer, now)
			now = now.Add(time.Millisecond)
		}
		if sink.broken != 0 {
			t.Fatalf("%d of %d frames shown were not intact", sink.broken, sink.shown)
		}
		return sink
	}
	return seed, run
}

type pnCounter struct{ n atomic.Uint64 }
