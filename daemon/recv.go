package daemon

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/packetizer"
)

// rxState is what the receive side counts beyond the assembler's counters.
type rxState struct {
	lat        latencyRing   // capture to complete
	netLat     latencyRing   // first datagram sent to complete: network, FEC, reassembly
	netRecent  latencyRing   // the same over the last second or so, for timelines
	bytes      atomic.Uint64 // bytes of datagrams from the peer
	foreign    atomic.Uint64 // from an address other than the peer's: dropped
	fromPeer   atomic.Uint64 // valid datagrams of the peer's current session
	highest    atomic.Uint64 // highest packet number of that session
	badControl atomic.Uint64 // control messages that did not parse
	unwanted   atomic.Uint64 // video while we show none
	readErrs   atomic.Uint64
	lateReads  atomic.Uint64 // reads whose first datagram waited lateRead or longer
	chain      chainState    // the reference chain of the frames delivered (recover.go)
}

// receiveLoop reads datagrams until the socket is closed, feeding the
// assembler and the peer state. It owns the assembler.
func (d *Daemon) receiveLoop(ctx context.Context) {
	in := d.sock.NewInbox(packetizer.MaxDatagram)
	// While the CPU is contended and the loop reads late, it waits on a
	// thread of its own at real-time priority (sched.Realtime), and in the
	// kernel rather than in the runtime's poller, so that a datagram wakes
	// this thread and nothing else first. Otherwise that buys nothing and
	// costs CPU, and the loop waits in the poller like any goroutine.
	w := d.newRxWait(d.config().Transport)
	defer w.rt.Release()
	d.rxThread.Store(w.rt)
	var lastIdle, armed time.Time // armed: what the poller's read deadline is set for
	wasLost := false
	for {
		now := time.Now()
		if w.follow(now, d.cpu.Contended()) {
			armed = time.Time{}
		}
		var n int
		var err error
		wake := d.wakeAt(now, lastIdle)
		if w.rt.Locked() {
			var waited bool
			n, waited, err = d.sock.ReadOnThread(in, wake)
			if now := time.Now(); waited {
				w.rt.CaughtUp(now)
				w.checkRefused() // raising again may be refused
			} else {
				w.rt.Busy(now)
			}
		} else {
			// A deadline that has passed is set again even if the new one
			// is close to it: the poller does not read past it.
			if !armed.After(now) || wake.Sub(armed).Abs() > wakeSlack {
				_ = d.sock.SetReadDeadline(wake)
				armed = wake
			}
			n, err = d.sock.ReadBatch(in)
		}
		now = time.Now()
		d.rxAlive.Store(now.UnixNano())
		d.rxTurns.Add(1)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				d.rx.readErrs.Add(1) // e.g. ICMP port unreachable reported on the socket
			}
		}
		if n > 0 {
			if at := in.Arrived(0); at != 0 {
				w.read(now, time.Unix(0, at))
			}
		}
		for i := range n {
			b, from := in.Datagram(i)
			arrived := now
			if at := in.Arrived(i); at != 0 {
				arrived = time.Unix(0, at)
			}
			d.handle1(b, from, now, arrived)
		}
		if d.sink != nil && now.Sub(d.fb.last) >= feedbackEvery {
			d.sendFeedback(now)
		}
		if e := d.asm.NextExpiry(); !e.IsZero() && !now.Before(e) {
			d.asm.Expire(now)
		}
		if now.Sub(lastIdle) >= tick {
			lastIdle = now
			if v := time.Duration(d.maxDelay.Load()); v > 0 {
				d.asm.SetMaxDelay(v)
			}
			d.asm.Expire(now)
			d.sess.Tick(now, *d.peerAddr.Load())
			lost := d.peer.state(now) == StatePeerLost
			if lost && !wasLost {
				d.asm.Reset() // frames in flight will not complete
			}
			wasLost = lost
		}
	}
}

// rxWait is where the receive loop waits: on its own thread at real-time
// priority while that can help, in the runtime's poller otherwise. It
// helps where the loop would otherwise wake late: the CPU is contended
// (sched.Contention) and, over a second in the poller, reads found their
// first datagram waiting in the socket lateRead or longer (lateness). It
// leaves the thread when the CPU is calm again. realtime_mode = "always"
// keeps it on the thread. A read is late whatever held it up, the loop's
// own backlog too, which the thread does not cure; where the socket gives
// no kernel receive times (udp.Inbox.Arrived), no read counts as late and
// the loop stays in the poller. Receive loop only.
type rxWait struct {
	d      *Daemon
	rt     *sched.Realtime
	raise  bool // a priority was asked and the kernel has not refused it
	always bool // realtime_mode = "always", or the thread could not be lowered
	stay   bool // on the thread for lateness: until the CPU is calm
	late   lateness
}

// lateRead is how long a read's first datagram may have waited in the
// socket (the kernel's receive time to the read's return) before the read
// counts as late. Measured here (docs/benchmarks.md), reads 800 us late or
// more were 1.9% and 8.3% of a two-way 720p JPEG call's reads in the
// poller on a 2-core machine (0.3% and 1.0% on the thread), and 0.06% of
// BenchmarkTransportCPU's (300 frames a second, whose own threads make the
// CPU count as contended).
const lateRead = time.Millisecond

// newRxWait locks the calling goroutine to its thread (sched.Realtime),
// which raises it, so that a refusal shows at once; it then moves the
// loop to the poller (the thread waits for evidence of lateness) unless
// realtime_mode = "always".
func (d *Daemon) newRxWait(tr config.Transport) *rxWait {
	lock := sched.LockRealtime
	if d.setPolicy != nil {
		lock = func(prio int) *sched.Realtime { return sched.LockRealtimeWith(prio, d.setPolicy) }
	}
	after := d.lateAfter
	if after <= 0 {
		after = lateRead
	}
	now := time.Now()
	w := &rxWait{d: d, rt: lock(tr.RealtimePriority), raise: tr.RealtimePriority > 0, always: tr.RealtimeAlways}
	w.late.reset(now, after)
	w.checkRefused()
	w.follow(now, d.cpu.Contended())
	return w
}

// read tells w that a read returned at now with a first datagram the
// kernel received at arrived.
func (w *rxWait) read(now, arrived time.Time) {
	if w.late.add(now, arrived) {
		w.d.rx.lateReads.Add(1)
	}
}

// follow moves the loop where it should wait, given whether the CPU is
// contended; it reports whether it moved.
func (w *rxWait) follow(now time.Time, contended bool) bool {
	if !now.Before(w.late.until) {
		w.d.rxSeconds.Add(1)
	}
	late := w.late.roll(now)
	w.stay = contended && (w.stay || late)
	want := w.raise && (w.always || w.stay)
	if want == w.rt.Locked() {
		return false
	}
	if want {
		w.rt.Lock(now)
		w.checkRefused()
	} else if err := w.rt.Unlock(); err != nil {
		w.always = true // the kernel keeps it raised: it stays
		w.d.log.Warn("the receive thread could not be lowered; it stays on its thread", "err", err)
	}
	w.late.reset(now, w.late.after)
	return true
}

// lateness counts a second's reads and those that found their first
// datagram waiting after or longer. The zero value is not usable: reset.
type lateness struct {
	after       time.Duration
	until       time.Time // the second's end
	reads, late int
	was         bool // the last whole second was late
}

// Thresholds of lateness: a second is late when at least lateReadsMin of its
// reads, and at least one in lateReadsShare, were late.
const (
	lateReadsMin   = 2
	lateReadsShare = 100
)

func (l *lateness) reset(now time.Time, after time.Duration) {
	*l = lateness{after: after, until: now.Add(time.Second)}
}

// add counts a read at now of a datagram received at arrived; it reports
// whether the read was late.
func (l *lateness) add(now, arrived time.Time) bool {
	l.reads++
	if now.Sub(arrived) < l.after {
		return false
	}
	l.late++
	return true
}

// roll ends the second when now is past it, and reports whether the last
// whole second was late.
func (l *lateness) roll(now time.Time) bool {
	if now.Before(l.until) {
		return l.was
	}
	was := l.late >= lateReadsMin && l.late*lateReadsShare >= l.reads
	l.reset(now, l.after)
	l.was = was
	return was
}

// checkRefused notes a refusal of the priority (at the start, or at a
// later Lock): the loop then waits in the poller.
func (w *rxWait) checkRefused() {
	if !w.raise {
		return
	}
	if why := w.rt.Refused(); why != "" {
		w.raise = false
		w.d.log.Warn("the receive loop waits in Go's poller at normal priority", "realtime_priority", w.rt.Status().Priority, "err", why)
	}
}

// wakeAt is when the receive loop must run next if no datagram comes:
// when a frame in reassembly expires, when feedback to a peer that sends
// is overdue (feedbackLatest), and at the latest idleWake after its last
// timed work.
// Waking only for these, rather than every tick, saves a process that
// receives a frame every 33 ms most of its wake-ups (each costs the Go
// runtime several context switches). Receive loop only.
func (d *Daemon) wakeAt(now, lastIdle time.Time) time.Time {
	wake := lastIdle.Add(idleWake)
	if e := d.asm.NextExpiry(); !e.IsZero() && e.Before(wake) {
		wake = e
	}
	if d.sink != nil && d.peer.sends(now) {
		if f := d.fb.last.Add(feedbackLatest); f.Before(wake) {
			wake = f
		}
	}
	return wake
}

// handle1 processes one datagram read from the socket at now, which the
// kernel received at arrived (now where it does not say): the feedback's
// arrival samples take the kernel's time, so that they do not depend on
// how soon the loop ran. b is a view into the read buffers, the daemon's
// to use (decryption works in place) until the next read.
func (d *Daemon) handle1(b []byte, from netip.AddrPort, now, arrived time.Time) {
	peer := d.peerAddr.Load()
	fromPeer := from.Addr().Unmap() == peer.Addr() && from.Port() == peer.Port()
	if !d.sess.Encrypted() && !fromPeer {
		// Without authentication only the configured address is trusted.
		d.rx.foreign.Add(1)
		return
	}
	st := d.asm.Stats()
	h, err := packetizer.ParseHeader(b)
	if err != nil {
		st.Count(err)
		return
	}
	// A shard of the frame being assembled is opened straight into its
	// place in the frame (saving a copy of every datagram but the first
	// of each frame).
	var into []byte
	if d.sink != nil && h.Sealed && h.Kind.IsShard() {
		into = d.asm.Slot(&h, now)
	}
	r := d.sess.OpenInto(&h, b, into, from, *peer, now)
	if r.Finished {
		d.sendHello(time.Now()) // confirms the new keys to the peer
	}
	if !r.Deliver {
		return // a handshake message, or refused and counted
	}
	b = r.Datagram
	if r.Roam {
		d.follow(from, now)
	}
	newSession, stale := d.peer.heardFrom(h.Session, now)
	if stale {
		st.Invalid[packetizer.ReasonStaleSession].Add(1)
		return
	}
	if newSession {
		d.rx.fromPeer.Store(0)
		d.rx.highest.Store(0)
		d.rx.lat.reset()
		d.rx.netLat.reset()
		d.rx.netRecent.reset()
		d.rates.resetRx()
		d.fb.reset()
		d.rx.chain.chain.Break() // its frame ids start over
		d.log.Info("peer session started", "peer", from, "session", sessionHex(h.Session))
		// Tell it at once that we hear it, once its hello (if this is one)
		// is recorded, so that ours acknowledges it and video can start.
		defer d.sendHello(time.Now())
	}
	d.rx.bytes.Add(uint64(len(b)))
	d.rx.fromPeer.Add(1)
	highest := d.rx.highest.Load()
	d.fb.onDatagram(&h, len(b), arrived)
	if h.Packet > highest {
		d.rx.highest.Store(h.Packet) // only this goroutine writes it
	}
	payload := b[packetizer.HeaderLen:]
	if r.Placed {
		payload = into
	}
	switch h.Kind {
	case packetizer.KindData, packetizer.KindParity:
		if d.sink == nil {
			d.rx.unwanted.Add(1)
			return
		}
		f, err := d.asm.Push(&h, payload, now)
		if err == nil && f.Data != nil {
			d.deliver(f, now)
		}
	case packetizer.KindHello:
		m, err := packetizer.ParseHello(payload)
		if err != nil {
			d.rx.badControl.Add(1)
			return
		}
		d.peer.hello(m, now)
	case packetizer.KindReport:
		m, err := packetizer.ParseReport(payload)
		if err != nil {
			d.rx.badControl.Add(1)
			return
		}
		d.peer.setReport(m, now)
	case packetizer.KindFeedback:
		if err := packetizer.ParseFeedback(payload, &d.fbIn); err != nil {
			d.rx.badControl.Add(1)
			return
		}
		if d.src != nil {
			rtt, _, _ := d.peer.clock()
			d.adapt.onFeedback(&d.fbIn, &d.sent, rtt, now)
		}
	case packetizer.KindRecover:
		m, err := packetizer.ParseRecover(payload)
		if err != nil {
			d.rx.badControl.Add(1)
			return
		}
		d.onRecover(m)
	case packetizer.KindBye:
		d.peer.sayBye()
		d.log.Info("peer is stopping", "peer", from)
	}
}

// sendFeedback sends the peer the feedback for the interval ending at now,
// while it streams video to us. Receive loop only.
func (d *Daemon) sendFeedback(now time.Time) {
	if d.rx.fromPeer.Load() == 0 || !d.peer.sends(now) {
		d.fb.last = now
		return
	}
	fb := d.fb.build(now, d.rx.highest.Load(), frameCounts(d.asm.Stats()))
	d.sendControl(packetizer.KindFeedback, fb)
}

// deliver hands a complete frame to the sink and records its latency:
// capture (sender's clock, brought to ours by the estimated offset) to the
// moment it became complete here, and the transport's part of it, from the
// sender's first datagram.
func (d *Daemon) deliver(f packetizer.Frame, now time.Time) {
	_, offset, _ := d.peer.clock()
	captured := time.Unix(0, f.Captured).Add(-offset)
	lat := f.Completed.Sub(captured)
	d.rx.lat.add(lat)
	d.rx.netLat.add(lat - f.SendDelay)
	d.rx.netRecent.add(lat - f.SendDelay)
	if d.obs != nil {
		d.obs.FrameDelivered(Delivered{ID: f.ID, SenderTime: f.Captured, Completed: f.Completed, Latency: lat, Transport: lat - f.SendDelay})
	}
	m, pic, use, start, ok := d.deliverMedia(f, now)
	if !ok {
		return
	}
	d.sink.Show(media.Received{Data: pic, Codec: m.Codec, Use: use, Start: start, ID: f.ID, Captured: captured, Latency: lat})
}
