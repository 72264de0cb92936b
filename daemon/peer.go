package daemon

import (
	"net/netip"
	"sync"
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// Peer states, as status shows them.
const (
	StateWaiting   = "waiting"   // nothing heard from the peer yet
	StateStreaming = "streaming" // the peer is there (heard within lostAfter)
	StatePeerLost  = "peer-lost" // the peer was there and went silent, or said bye
	// StateAuthFailed: datagrams come from the peer's address but fail
	// authentication: the endpoints do not share the same key.
	StateAuthFailed = "auth-failed"
	// StateEncryptionMismatch: one endpoint encrypts and the other does not.
	StateEncryptionMismatch = "encryption-mismatch"
)

// offsetSamples is how many recent clock samples the offset estimate keeps;
// it uses the one with the shortest round trip.
const offsetSamples = 32

type clockSample struct {
	rtt, offset time.Duration
}

// peerState tracks the other endpoint: presence, session, round trip and
// clock offset, and its reports about our stream. Safe for concurrent use.
type peerState struct {
	mu        sync.Mutex
	heard     time.Time // last valid datagram from the peer; zero: never
	bye       bool      // the peer said it is stopping
	session   uint64
	sessions  int       // sessions seen: more than one means the peer restarted
	retired   [4]uint64 // sessions the peer replaced; their datagrams are stale
	flags     uint32
	self      uint64    // our own session id
	knowsUs   bool      // the peer's last hello echoed our session: it hears us
	helloSent int64     // Sent of the peer's last hello
	helloAt   time.Time // when it arrived
	samples   [offsetSamples]clockSample
	nSamples  int
	next      int
	sameHost  bool // the peer is on loopback: one clock, offset 0 exactly
	report    packetizer.Report
	reportAt  time.Time
}

// heardFrom records a valid datagram from the peer. It reports whether it
// came from a session not seen before (a peer that started or restarted),
// or from one the peer already replaced, which is ignored.
func (p *peerState) heardFrom(session uint64, now time.Time) (newSession, stale bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions > 0 && session == p.session {
		p.heard, p.bye = now, false
		return false, false
	}
	for _, r := range p.retired {
		if r == session && r != 0 {
			return false, true
		}
	}
	if p.sessions > 0 {
		copy(p.retired[1:], p.retired[:len(p.retired)-1])
		p.retired[0] = p.session
	}
	p.session = session
	p.sessions++
	p.heard, p.bye = now, false
	p.nSamples, p.next, p.helloSent = 0, 0, 0
	p.report = packetizer.Report{}
	return true, false
}

func (p *peerState) sayBye() {
	p.mu.Lock()
	p.bye = true
	p.mu.Unlock()
}

// setAddr tells the state where the peer is, for the same-host shortcut.
func (p *peerState) setAddr(a netip.AddrPort) {
	p.mu.Lock()
	p.sameHost = a.Addr().IsLoopback()
	p.mu.Unlock()
}

// hello takes a hello from the peer: its flags, and a round trip and clock
// offset sample when it echoes one of ours.
//
// With our hello sent at t1 (echoed back as EchoSent), received by the peer
// at t2, the peer's hello sent at t3 = Sent after holding EchoHeld = t3-t2,
// and received here at t4: rtt = (t4-t1) - held, and the peer's clock minus
// ours is ((t2-t1) + (t3-t4)) / 2, accurate to within rtt/2 whatever the
// path's asymmetry (NTP's on-wire estimate).
func (p *peerState) hello(h packetizer.Hello, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flags, p.helloSent, p.helloAt = h.Flags, h.Sent, now
	p.knowsUs = h.EchoSent != 0 && h.Peer == p.self
	if h.EchoSent == 0 {
		return
	}
	t1, t3, t4 := h.EchoSent, h.Sent, now.UnixNano()
	t2 := t3 - h.EchoHeld
	rtt := time.Duration((t4 - t1) - h.EchoHeld)
	if rtt < 0 || rtt > 10*time.Second {
		return // a clock step or a stale echo
	}
	p.samples[p.next] = clockSample{rtt: rtt, offset: time.Duration(((t2 - t1) + (t3 - t4)) / 2)}
	p.next = (p.next + 1) % offsetSamples
	p.nSamples = min(p.nSamples+1, offsetSamples)
}

// clock returns the best recent round trip and clock offset (peer minus
// local), and whether any sample exists. On one host the offset is 0.
func (p *peerState) clock() (rtt, offset time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nSamples == 0 {
		return 0, 0, false
	}
	best := p.samples[0]
	for _, s := range p.samples[1:p.nSamples] {
		if s.rtt < best.rtt {
			best = s
		}
	}
	if p.sameHost {
		best.offset = 0
	}
	return best.rtt, best.offset, true
}

// state is the peer's presence at now.
func (p *peerState) state(now time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked(now)
}

func (p *peerState) stateLocked(now time.Time) string {
	switch {
	case p.heard.IsZero():
		return StateWaiting
	case p.bye || now.Sub(p.heard) > lostAfter:
		return StatePeerLost
	}
	return StateStreaming
}

// wantsVideo reports whether frames should be sent: the peer is there, has
// said in a hello that it shows video, and has echoed our session, so it
// hears us (and, encrypted, has our keys).
func (p *peerState) wantsVideo(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked(now) == StateStreaming && p.flags&packetizer.HelloReceives != 0 && p.knowsUs
}

// sends reports whether the peer is there and says it sends video.
func (p *peerState) sends(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked(now) == StateStreaming && p.flags&packetizer.HelloSends != 0
}

// ourHello builds the hello we send at now.
func (p *peerState) ourHello(flags uint32, now time.Time) packetizer.Hello {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := packetizer.Hello{Flags: flags, Sent: now.UnixNano()}
	if p.helloSent != 0 {
		h.EchoSent, h.EchoHeld, h.Peer = p.helloSent, max(0, int64(now.Sub(p.helloAt))), p.session
	}
	return h
}

func (p *peerState) setReport(r packetizer.Report, now time.Time) {
	p.mu.Lock()
	p.report, p.reportAt = r, now
	p.mu.Unlock()
}

// snapshot is a consistent copy for status.
type peerSnapshot struct {
	state    string
	session  uint64
	restarts int
	flags    uint32
	heard    time.Time
	report   packetizer.Report
	reportAt time.Time
}

func (p *peerState) snapshot(now time.Time) peerSnapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return peerSnapshot{
		state: p.stateLocked(now), session: p.session, restarts: max(0, p.sessions-1),
		flags: p.flags, heard: p.heard, report: p.report, reportAt: p.reportAt,
	}
}
