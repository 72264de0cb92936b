package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/web"
	"github.com/vstreamd/vstreamd/display"
)

// webSide is the HTTP side when [http] listen is set: metrics, the live
// page and the previews' taps.
type webSide struct {
	ln      net.Listener
	metrics *web.Metrics
	tx, rx  *web.Tap
	log     *slog.Logger
	anyHost bool // [http] allow_remote
}

// openWeb binds [http] listen, so that a taken port fails the start, and
// attaches preview taps to the source and sink (either may be nil). It
// returns nil when HTTP is off.
func openWeb(cfg *config.Config, src *capture.Source, snk *display.Sink, log *slog.Logger) (*webSide, error) {
	if !cfg.HTTP.Listen.IsValid() {
		return nil, nil
	}
	ln, err := web.Listen(cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("%s: [http] listen = %q: %w", cfg.File, cfg.HTTP.Listen, err)
	}
	w := &webSide{ln: ln, metrics: web.NewMetrics(), log: log, anyHost: cfg.HTTP.AllowRemote}
	if src != nil {
		w.tx = web.NewTap(0)
		src.SetPreview(w.tx)
	}
	if snk != nil {
		w.rx = web.NewTap(0)
		snk.SetPreview(w.rx)
	}
	return w, nil
}

// observer is what the daemon reports delivered frames to.
func (w *webSide) observer() daemon.FrameObserver {
	if w == nil {
		return nil
	}
	return w.metrics
}

// close releases the listener when serve will not run.
func (w *webSide) close() {
	if w != nil {
		w.ln.Close()
	}
}

// serve serves until ctx is done; it returns at once when HTTP is off.
func (w *webSide) serve(ctx context.Context, d *daemon.Daemon) error {
	if w == nil {
		return nil
	}
	srv, err := web.New(web.Options{Status: d.Status, Metrics: w.metrics, Tx: w.tx, Rx: w.rx, Logger: w.log, AnyHost: w.anyHost})
	if err != nil {
		w.ln.Close()
		return err
	}
	return srv.Serve(ctx, w.ln)
}
