package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/fec"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Reload applies a new configuration while running. What can change without
// dropping the call (config.Live: peer, fps, quality, parity, max_delay_ms,
// max_rate_mbps, log level) is applied; changes to anything else are logged as needing a
// restart and otherwise ignored. A peer whose name no longer resolves
// refuses the whole reload: the old configuration stays. Safe for
// concurrent use.
func (d *Daemon) Reload(ctx context.Context, next *config.Config) error {
	if next == nil {
		return errors.New("daemon: reload without a configuration")
	}
	_ = d.notify.Reloading()
	defer func() { _ = d.notify.Ready() }()
	// Only Reload changes cfg, one at a time, so old stays current while
	// the name is looked up without mu: a slow resolver must not hold up
	// the loops (the tick loop needs mu for the status line, and without
	// it the watchdog would go unpinged).
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	old := d.config()

	peer := d.peerAddr.Load()
	if next.Peer != old.Peer || peer == nil {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		a, err := d.resolve(rctx, next)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", next.File, err)
		}
		peer = &a
	}
	if err := fec.CheckRatio(next.Transport.Parity); err != nil {
		return fmt.Errorf("%s: [transport] parity: %w", next.File, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var restart []string
	for _, k := range config.Diff(old, next) {
		if !config.Live(k) {
			restart = append(restart, k)
		}
	}
	if len(restart) > 0 {
		d.log.Warn("reload: these keys only change on restart; keeping the running values", "keys", restart)
	}
	// The running configuration with the live keys of the new one.
	applied := *old
	applied.File = next.File
	applied.Peer = next.Peer
	applied.Capture.FPS, applied.Capture.Quality = next.Capture.FPS, next.Capture.Quality
	applied.Transport.Parity, applied.Transport.MaxDelay = next.Transport.Parity, next.Transport.MaxDelay
	applied.Transport.MaxRateMbps = next.Transport.MaxRateMbps
	applied.Transport.Adaptive = next.Transport.Adaptive
	applied.Transport.MinBitrateMbps, applied.Transport.MaxBitrateMbps = next.Transport.MinBitrateMbps, next.Transport.MaxBitrateMbps
	applied.Transport.TargetFrameLoss = next.Transport.TargetFrameLoss
	applied.Log = next.Log

	d.adapt.apply(&applied)
	if !applied.Transport.Adaptive {
		// Back to the configured stream; with the adaptation on, the send
		// loop sets all of these per frame, within the new ceiling.
		_ = d.pk.SetParity(applied.Transport.Parity) // checked above
		d.pace.setRate(applied.Transport.MaxRateMbps)
		if d.src != nil {
			d.src.SetSize(0, 0)
			d.src.SetQuality(applied.Capture.Quality)
			d.src.SetFPS(applied.Capture.FPS)
		}
	} else if d.src != nil && applied.Capture.Codec != packetizer.CodecJPEG {
		// The H.264 ladder steps sizes and rates only; the JPEG quality
		// (which H.264 does not use) is the source's own.
		d.src.SetQuality(applied.Capture.Quality)
	}
	d.maxDelay.Store(int64(applied.Transport.MaxDelay))
	if cur := d.peerAddr.Load(); cur == nil || *cur != *peer {
		d.peerAddr.Store(peer)
		d.peer.setAddr(*peer)
	}
	if d.level != nil {
		d.level.Set(applied.Log.Level)
	}
	d.cfg = &applied
	d.log.Info("reloaded", "file", applied.File, "peer", *peer, "quality", applied.Capture.Quality,
		"fps", applied.Capture.FPS, "parity", applied.Transport.Parity, "max_delay", applied.Transport.MaxDelay)
	return nil
}
