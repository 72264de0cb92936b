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

// sendLoop takes frames from the capture goroutine and sends them to the
// peer, as long as the peer is there and shows video. It ends when ctx is
// done or the source stops, once the capture goroutine has ended.
func (d *Daemon) sendLoop(ctx context.Context) {
	// Two buffers take turns: the next frame is grabbed and encoded while
	// this one is sent.
	free := make(chan []byte, 2)
	free <- make([]byte, 0, 256<<10)
	free <- make([]byte, 0, 256<<10)
	ready := make(chan captured)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.captureLoop(ctx, free, ready)
	}()
	defer func() { <-done }()
	frame := make([]byte, 0, 256<<10) // media prefix + picture
	out := newFrameSender(d)
	for {
		var c captured
		select {
		case c = <-ready:
		case <-ctx.Done():
			return
		}
		f, err := c.f, c.err
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				d.log.Error("frame source stopped; receiving continues", "err", err)
			}
			return
		}
		if !d.peer.wantsVideo(time.Now()) || !d.sess.Ready() { // no peer showing video, or no handshake finished yet
			free <- f.Data[:0]
			d.tx.skipped.Add(1)
			continue
		}
		out.batch.Dest = *d.peerAddr.Load()
		if d.adapt.enabled() {
			d.adaptFrame(len(f.Data))
		}
		frame = append(f.Media.AppendTo(frame[:0]), f.Data...)
		free <- f.Data[:0]
		info, err := d.pk.PacketizeTo(frame, f.Captured.UnixNano(), out)
		out.flush()
		if err != nil {
			d.log.Debug("frame not sent", "bytes", len(frame), "err", err)
			continue
		}
		if f.Media.Keyframe() {
			d.tx.lastKey.Store(1<<32 | uint64(info.ID))
		}
	}
}

// captured is a frame, or the error that stopped the source.
type captured struct {
	f   media.Frame
	err error
}

// captureLoop runs the source, at background priority on a thread of its
// own (daemon/sched): it grabs and encodes each frame into a free buffer
// and hands it to the send loop. It ends when ctx is done or after handing
// over the source's error.
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
		f, err := d.src.Next(ctx, buf[:0])
		select {
		case ready <- captured{f, err}:
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
