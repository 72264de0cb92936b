package daemon

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/packetizer"
)

// txState is what the send side keeps beyond the packetizer's counters.
type txState struct {
	skipped atomic.Uint64 // frames not sent: the peer is not there or shows nothing
	// lastKey is the frame id of the last keyframe sent, plus 1<<32 (zero:
	// none yet), so a recovery request it already answers is ignored.
	lastKey   atomic.Uint64
	recoverRx atomic.Uint64 // recovery requests from the peer
	forced    atomic.Uint64 // keyframes forced for them
}

// sendLoop sends the source's frames to the peer, as long as the peer is
// there and shows video. A source that captures and encodes runs on a
// goroutine of its own (captureLoop), and the send loop takes its frames;
// a source that replays ready frames is called by the send loop itself,
// which spares a hand-off to another thread and back per frame (see
// docs/benchmarks.md). It ends when ctx is done or the source stops, once
// the capture goroutine has ended.
func (d *Daemon) sendLoop(ctx context.Context) {
	out := newFrameSender(d)
	defer out.close()
	scratch := make([]byte, 0, frameBuffer)
	if !d.src.Status().Kind.Encodes() {
		buf := make([]byte, 0, frameBuffer)
		for {
			f, err := d.src.Next(ctx, buf[packetizer.MediaLen:packetizer.MediaLen])
			c := captured{f, err, buf}
			if !d.sendFrame(ctx, c, out, &scratch) {
				return
			}
			buf = c.reuse()
		}
	}
	// Frame buffers take turns: the next frame is grabbed and encoded
	// while this one is sent.
	free := make(chan []byte, 3)
	for range cap(free) {
		free <- make([]byte, 0, frameBuffer)
	}
	ready := make(chan captured)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.captureLoop(ctx, free, ready)
	}()
	defer func() { <-done }()
	for {
		var c captured
		select {
		case c = <-ready:
		case <-ctx.Done():
			return
		}
		if !d.sendFrame(ctx, c, out, &scratch) {
			return
		}
		free <- c.reuse()
	}
}

// frameBuffer is the starting size of a frame buffer; a larger frame grows
// it.
const frameBuffer = 256 << 10

// sendFrame sends one frame the source gave, or skips it when no peer shows
// video or no handshake has finished. It returns false when the source
// stopped. scratch is for a frame that is not where the send loop asked
// for it. Send loop only.
func (d *Daemon) sendFrame(ctx context.Context, c captured, out *frameSender, scratch *[]byte) bool {
	if c.err != nil {
		if ctx.Err() == nil && !errors.Is(c.err, context.Canceled) {
			d.log.Error("frame source stopped; receiving continues", "err", c.err)
		}
		return false
	}
	f := c.f
	if !d.peer.wantsVideo(time.Now()) || !d.sess.Ready() { // no peer showing video, or no handshake finished yet
		d.tx.skipped.Add(1)
		return true
	}
	out.batch.Dest = *d.peerAddr.Load()
	if d.adapt.enabled() {
		d.adaptFrame(len(f.Data))
	}
	frame := c.framed(scratch)
	info, err := d.pk.PacketizeTo(frame, f.Captured.UnixNano(), out)
	out.flush()
	if err != nil {
		d.log.Debug("frame not sent", "bytes", len(frame), "err", err)
		return true
	}
	if f.Media.Keyframe() {
		d.tx.lastKey.Store(1<<32 | uint64(info.ID))
	}
	return true
}

// captured is a frame, or the error that stopped the source, and the
// buffer the source was given: its picture after room for the media
// prefix.
type captured struct {
	f   media.Frame
	err error
	buf []byte
}

// framed returns the frame as it goes to the packetizer, the media prefix
// and the picture: as the source has it ready (a replay); in place, the
// prefix written into the room left before the picture, when the source
// wrote the picture where it was asked to; else copied into scratch.
func (c captured) framed(scratch *[]byte) []byte {
	if c.f.Framed != nil {
		return c.f.Framed
	}
	const m = packetizer.MediaLen
	if n := len(c.f.Data); n > 0 && cap(c.buf) >= m+n && &c.buf[:m+1][m] == &c.f.Data[0] {
		b := c.buf[:m+n]
		c.f.Media.AppendTo(b[:0])
		return b
	}
	*scratch = append(c.f.Media.AppendTo((*scratch)[:0]), c.f.Data...)
	return *scratch
}

// reuse returns the buffer for the next frame: the one given, or the one
// the source grew when a frame did not fit (never the source's own bytes).
func (c captured) reuse() []byte {
	if c.f.Framed == nil && cap(c.f.Data) > cap(c.buf) {
		return c.f.Data[:0]
	}
	return c.buf[:0]
}

// captureLoop runs the source, at background priority on a thread of its
// own (daemon/sched): it grabs and encodes each frame into a free buffer,
// after room for the media prefix, and hands it to the send loop. It ends
// when ctx is done or after handing over the source's error.
func (d *Daemon) captureLoop(ctx context.Context, free <-chan []byte, ready chan<- captured) {
	if _, err := sched.Background(); err != nil {
		d.log.Warn("capture and encoding keep the transport's priority", "err", err)
	}
	for {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
			return
		}
		f, err := d.src.Next(ctx, buf[packetizer.MediaLen:packetizer.MediaLen])
		select {
		case ready <- captured{f, err, buf}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// adaptFrame sets the parity and pacing for a frame of n bytes from the
// adaptation, and moves the encoder to the level it asks for from the next
// frame on. Send loop only.
func (d *Daemon) adaptFrame(n int) {
	now := time.Now()
	parity, pace := d.adapt.frame(n, d.pk.MaxShard(), now)
	_ = d.pk.SetParity(parity) // within 0..fec.MaxRatio by construction
	d.pace.setRateBps(pace)
	if bps := d.adapt.bitrate(); bps > 0 && (bps < d.encoderBps*95/100 || bps > d.encoderBps*105/100) {
		d.src.SetBitrate(bps) // H.264: the encoder meets the budget itself
		d.encoderBps = bps
	}
	if lv, changed := d.adapt.level(n, now); changed {
		d.src.SetSize(lv.Width, lv.Height)
		d.src.SetFPS(lv.FPS)
		if lv.Quality > 0 {
			d.src.SetQuality(lv.Quality)
		}
		d.log.Debug("encoder level", "level", lv.String())
	}
}

// sendControl sends one control datagram to the peer. Safe for concurrent
// use; control messages are a few a second, so it may allocate.
func (d *Daemon) sendControl(kind packetizer.Kind, payload []byte) {
	peer := d.peerAddr.Load()
	if peer == nil || d.sock == nil {
		return
	}
	h := packetizer.Header{Kind: kind, Session: d.session, Packet: d.packets.Add(1), Sealed: d.sess.Encrypted()}
	dg := append(h.AppendTo(make([]byte, 0, packetizer.HeaderLen+len(payload)+session.Overhead)), payload...)
	dg, ok := d.sess.SealControl(dg)
	if !ok {
		return // no keys yet
	}
	if err := d.sock.WriteTo(dg, *peer); err != nil {
		d.sendErrs.Add(1)
	}
}

// sendHandshake sends a handshake message for the session layer.
func (d *Daemon) sendHandshake(dg []byte, to netip.AddrPort) {
	if d.sock == nil {
		return
	}
	if err := d.sock.WriteTo(dg, to); err != nil {
		d.sendErrs.Add(1)
	}
}
