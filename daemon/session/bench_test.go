package session

import (
	"crypto/cipher"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/vstreamd/vstreamd/packetizer"
)

// payload1128 is the payload of a full default datagram (1200 bytes less
// the 56-byte header and the 16-byte tag).
const payload1128 = 1128

// threadCPU is the CPU time of the calling OS thread: on a machine shared
// with other work, wall time per operation says more about the others.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerOp reports the benchmark goroutine's CPU time per operation; call
// it with the start time and defer-free at the end.
func cpuPerOp(b *testing.B) func() {
	runtime.LockOSThread()
	t0 := threadCPU()
	return func() {
		b.ReportMetric(float64(threadCPU()-t0)/float64(b.N), "cpu-ns/op")
		runtime.UnlockOSThread()
	}
}

// BenchmarkHandshake is the CPU of one whole handshake, both ends: Init
// written, read and answered, Resp read, keys made.
func BenchmarkHandshake(b *testing.B) {
	psk := Key{1}
	now := time.Unix(1000, 0)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		l := newLink(b)
		x := l.add(1, 2, 0xa, psk, true, 0, 1)
		y := l.add(2, 1, 0xb, psk, true, 0, 2)
		x.s.Tick(now, x.peer)
		l.pump(now)
		if !x.s.Ready() || !y.s.Ready() {
			b.Fatal("no handshake")
		}
	}
}

// BenchmarkRespond is what a valid Init costs a responder: the part an
// attacker replaying Inits after a restart could make it spend.
func BenchmarkRespond(b *testing.B) {
	initDg, _, fresh := handshakeFixture(b)
	_, y := fresh()
	b.ReportAllocs()
	now := time.Unix(1000, 0)
	defer cpuPerOp(b)()
	for b.Loop() {
		y.s.newest = tai64n{}
		y.s.limit = limiter{}
		h, _ := packetizer.ParseHeader(initDg)
		y.s.Open(&h, append([]byte(nil), initDg...), addrPort(1), y.peer, now)
		if y.s.next == nil {
			b.Fatal("no answer")
		}
		y.s.next = nil
	}
}

func sealedPair(b *testing.B) (*end, *end, time.Time) {
	l := newLink(b)
	x := l.add(1, 2, 0xa, Key{1}, true, 0, 1)
	y := l.add(2, 1, 0xb, Key{1}, true, 0, 2)
	now := connect(b, l, x, y, time.Unix(1000, 0))
	return x, y, now
}

// BenchmarkSeal seals one 1128-byte payload (a full 1200-byte datagram).
func BenchmarkSeal(b *testing.B) {
	x, _, _ := sealedPair(b)
	buf := make([]byte, packetizer.HeaderLen+payload1128, 1300)
	h := packetizer.Header{Kind: packetizer.KindReport, Session: 0xa, Sealed: true}
	b.SetBytes(payload1128)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		h.Packet++
		h.AppendTo(buf[:0])
		x.sealer.Seal(buf)
	}
}

// BenchmarkOpen opens one sealed 1128-byte payload.
func BenchmarkOpen(b *testing.B) {
	x, y, now := sealedPair(b)
	h := packetizer.Header{Kind: packetizer.KindReport, Session: 0xa, Sealed: true}
	const n = 4096
	dgs := make([][]byte, n)
	for i := range dgs {
		h.Packet = x.packets.Add(1)
		dg := h.AppendTo(make([]byte, 0, 1300))
		dgs[i], _ = x.sealer.Seal(dg[:packetizer.HeaderLen+payload1128])
	}
	work := make([]byte, 1300)
	b.SetBytes(payload1128)
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration // the opens' only
	t0 := threadCPU()
	defer func() { b.ReportMetric(float64(cpu+threadCPU()-t0)/float64(b.N), "cpu-ns/op") }()
	i := 0
	for b.Loop() {
		if i == n { // the replay window would refuse them now: fresh ones
			cpu += threadCPU() - t0
			b.StopTimer()
			for j := range dgs {
				h.Packet = x.packets.Add(1)
				dg := h.AppendTo(dgs[j][:0])
				dgs[j], _ = x.sealer.Seal(dg[:packetizer.HeaderLen+payload1128])
			}
			i = 0
			b.StartTimer()
			t0 = threadCPU()
		}
		dg := work[:copy(work, dgs[i])]
		hh, _ := packetizer.ParseHeader(dg)
		if r := y.s.Open(&hh, dg, x.addr, y.peer, now); !r.Deliver {
			b.Fatal("not opened")
		}
		i++
	}
}

// BenchmarkAEAD compares the two AEADs Noise offers, sealing 1128 bytes
// with a 56-byte header as associated data: the choice of cipher suite.
func BenchmarkAEAD(b *testing.B) {
	var k [32]byte
	gcm, _ := aeadFor(k)
	chacha, _ := chacha20poly1305.New(k[:])
	for _, c := range []struct {
		name string
		a    cipher.AEAD
	}{{"AES-256-GCM", gcm}, {"ChaCha20-Poly1305", chacha}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, packetizer.HeaderLen+payload1128, 1300)
			var nonce [nonceLen]byte
			b.SetBytes(payload1128)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			pn := uint64(0)
			for b.Loop() {
				pn++
				c.a.Seal(buf[packetizer.HeaderLen:packetizer.HeaderLen], putNonce(&nonce, pn), buf[packetizer.HeaderLen:], buf[:packetizer.HeaderLen])
			}
		})
	}
}

// BenchmarkAEADSideBySide seals 1128 bytes with each AEAD in alternating
// batches and reports each one's thread CPU per seal, so both see the same
// machine load: the ratio is the figure to read.
func BenchmarkAEADSideBySide(b *testing.B) {
	var k [32]byte
	gcm, _ := aeadFor(k)
	chacha, _ := chacha20poly1305.New(k[:])
	buf := make([]byte, packetizer.HeaderLen+payload1128, 1300)
	var nonce [nonceLen]byte
	var cpu [2]time.Duration
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const batch = 1000
	pn := uint64(0)
	for b.Loop() {
		for i, a := range [...]cipher.AEAD{gcm, chacha} {
			t0 := threadCPU()
			for range batch {
				pn++
				a.Seal(buf[packetizer.HeaderLen:packetizer.HeaderLen], putNonce(&nonce, pn), buf[packetizer.HeaderLen:], buf[:packetizer.HeaderLen])
			}
			cpu[i] += threadCPU() - t0
		}
	}
	b.ReportMetric(float64(cpu[0])/float64(b.N*batch), "aes-gcm-cpu-ns/seal")
	b.ReportMetric(float64(cpu[1])/float64(b.N*batch), "chacha-cpu-ns/seal")
}
