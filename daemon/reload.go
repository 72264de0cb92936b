package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vstreamd/vstreamd/daemon/config"
)

// Reload applies a new configuration while running. What can change without
// dropping the call (quality, fps, parity, max_delay_ms, peer, log level)
// is applied; changes to anything else are logged as needing a restart and
// otherwise ignored. A peer whose name no longer resolves refuses the whole
// reload: the old configuration stays. Safe for concurrent use.
func (d *Daemon) Reload(ctx context.Context, next *config.Config) error {
	if next == nil {
		return errors.New("daemon: reload without a configuration")
	}
	_ = d.notify.Reloading()
	defer func() { _ = d.notify.Ready() }()
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cfg

	var peer, oldPeer = d.peerAddr.Load(), d.peerAddr.Load()
	if next.Peer != old.Peer || peer == nil {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		a, err := next.ResolvePeer(rctx)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", next.File, err)
		}
		peer = &a
	}
	if restart := needsRestart(old, next); len(restart) > 0 {
		d.log.Warn("reload: these keys only change on restart; keeping the running values", "keys", restart)
		// carry the running values so status and later reloads stay truthful
		c := *next
		c.Listen, c.Capture.Source, c.Capture.Kind, c.Capture.Device, c.Capture.Path = old.Listen, old.Capture.Source, old.Capture.Kind, old.Capture.Device, old.Capture.Path
		c.Capture.Width, c.Capture.Height = old.Capture.Width, old.Capture.Height
		c.Display, c.Control, c.Security = old.Display, old.Control, old.Security
		c.Transport.MaxDatagram, c.Transport.MaxFrameBytes = old.Transport.MaxDatagram, old.Transport.MaxFrameBytes
		next = &c
	}
	if err := d.pk.SetParity(next.Transport.Parity); err != nil {
		return fmt.Errorf("%s: [transport] parity: %w", next.File, err)
	}
	if d.src != nil {
		d.src.SetQuality(next.Capture.Quality)
		d.src.SetFPS(next.Capture.FPS)
	}
	d.maxDelay.Store(int64(next.Transport.MaxDelay))
	if peer != oldPeer {
		d.peerAddr.Store(peer)
		d.peer.setAddr(*peer)
	}
	if d.level != nil {
		d.level.Set(next.Log.Level)
	}
	d.cfg = next
	d.log.Info("reloaded", "file", next.File, "peer", *peer, "quality", next.Capture.Quality,
		"fps", next.Capture.FPS, "parity", next.Transport.Parity, "max_delay", next.Transport.MaxDelay)
	return nil
}

// needsRestart lists the keys that differ between old and next but only
// take effect on restart.
func needsRestart(old, next *config.Config) []string {
	var keys []string
	add := func(changed bool, key string) {
		if changed {
			keys = append(keys, key)
		}
	}
	add(old.Listen != next.Listen, "listen")
	add(old.Capture.Source != next.Capture.Source, "[capture] source")
	add(old.Capture.Width != next.Capture.Width || old.Capture.Height != next.Capture.Height, "[capture] width/height")
	add(old.Display != next.Display, "[display]")
	add(old.Transport.MaxDatagram != next.Transport.MaxDatagram, "[transport] max_datagram")
	add(old.Transport.MaxFrameBytes != next.Transport.MaxFrameBytes, "[transport] max_frame_bytes")
	add(old.Control != next.Control, "[control] socket")
	add(old.Security != next.Security, "[security]")
	return keys
}
