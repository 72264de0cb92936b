package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/asticode/go-astiav"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sdnotify"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/display"
	"github.com/vstreamd/vstreamd/packetizer"
)

// loadConfig parses a command's only flag, -config, and loads that file;
// on failure it has said why and returns the exit code.
func loadConfig(command string, args []string, stderr io.Writer) (*config.Config, string, int) {
	fs := flag.NewFlagSet("vstreamd "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", defaultConfig, "config file")
	if err := fs.Parse(args); err != nil {
		return nil, "", exitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "vstreamd: %v\n", err)
		return nil, "", exitUsage
	}
	return cfg, *path, exitOK
}

func cmdRun(args []string, stderr io.Writer) int {
	cfg, path, code := loadConfig("run", args, stderr)
	if cfg == nil {
		return code
	}
	level := new(slog.LevelVar)
	level.Set(cfg.Log.Level)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(cfg, path, level, log); err != nil {
		log.Error("vstreamd failed", "err", err)
		return exitFailure
	}
	return exitOK
}

// serve opens the source and sink the config names, runs the daemon until
// SIGTERM or SIGINT, reloads on SIGHUP, and closes everything it opened.
func serve(cfg *config.Config, path string, level *slog.LevelVar, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// FFmpeg logs to stderr itself; the daemon counts what it would say.
	astiav.SetLogLevel(astiav.LogLevelError)
	opt := daemon.Options{Config: cfg, Logger: log, LogLevel: level, Notifier: sdnotify.New(), Version: version()}
	var src *capture.Source
	var snk *display.Sink
	if cfg.Capture.Kind != media.SourceNone {
		var err error
		src, err = capture.Open(captureConfig(cfg), log.With("component", "capture"))
		if err != nil {
			return fmt.Errorf("%s: [capture] source = %q: %w", cfg.File, cfg.Capture.Source, err)
		}
		defer src.Close()
		opt.Source = src
	}
	if cfg.Display.Kind != media.SinkNone {
		var err error
		snk, err = display.Open(displayConfig(cfg), log.With("component", "display"))
		if err != nil {
			return fmt.Errorf("%s: [display] sink = %q: %w", cfg.File, cfg.Display.Sink, err)
		}
		defer func() {
			if err := snk.Close(); err != nil {
				log.Warn("closing the display", "err", err)
			}
		}()
		opt.Sink = snk
	}
	ws, err := openWeb(cfg, src, snk, log)
	if err != nil {
		return err
	}
	opt.Observer = ws.observer()
	d, err := daemon.New(opt)
	if err != nil {
		ws.close()
		return err
	}
	webCtx, stopWeb := context.WithCancel(ctx)
	webDone := make(chan error, 1)
	go func() { webDone <- ws.serve(webCtx, d) }()
	defer func() {
		stopWeb()
		if err := <-webDone; err != nil {
			log.Error("http side failed", "err", err)
		}
	}()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-hup:
			next, err := config.Load(path)
			if err != nil {
				log.Error("reload refused: the config has errors; still running on the previous one", "err", err)
				continue
			}
			if err := d.Reload(ctx, next); err != nil {
				log.Error("reload refused; still running on the previous config", "err", err)
			}
		}
	}
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	cfg, path, code := loadConfig("check-config", args, stderr)
	if cfg == nil {
		return code
	}
	enc := "on, key " + cfg.Security.KeyFile
	if !cfg.Security.Encryption {
		enc = "OFF: the call is not encrypted"
	}
	fmt.Fprintf(stdout, "%s: OK\n  listen %s, peer %s\n  source %s %dx%d@%d %s, sink %s\n  datagrams %d bytes, parity %.2f, max delay %v\n  control socket %s\n  encryption %s\n",
		path, cfg.Listen, cfg.Peer, cfg.Capture.Source, cfg.Capture.Width, cfg.Capture.Height, cfg.Capture.FPS, codecSummary(cfg),
		cfg.Display.Sink, cfg.Transport.MaxDatagram, cfg.Transport.Parity, cfg.Transport.MaxDelay, cfg.Control.Socket, enc)
	return exitOK
}

func cmdGenkey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vstreamd genkey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the key to this new file (mode 0600) instead of standard output")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vstreamd genkey [-o FILE]\n\nPrints a new random pre-shared key. Both endpoints of a call need the same key,\nin the file their [security] key_file names, readable only by the daemon's user:\n\n  umask 077; vstreamd genkey > /etc/vstreamd/psk     (or: vstreamd genkey -o /etc/vstreamd/psk)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	k, err := session.GenerateKey()
	if err != nil {
		fmt.Fprintf(stderr, "vstreamd: genkey: %v\n", err)
		return exitFailure
	}
	if *out == "" {
		fmt.Fprintln(stdout, k.String())
		return exitOK
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "vstreamd: genkey: %v (an existing key is never overwritten)\n", err)
		return exitFailure
	}
	if _, err := fmt.Fprintln(f, k.String()); err != nil {
		f.Close()
		fmt.Fprintf(stderr, "vstreamd: genkey: %v\n", err)
		return exitFailure
	}
	if err := f.Close(); err != nil {
		fmt.Fprintf(stderr, "vstreamd: genkey: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "vstreamd: wrote a new key to %s; copy it to the other endpoint over a secure channel (scp, ssh)\n", *out)
	return exitOK
}

// codecSummary says how frames are encoded, for check-config.
func codecSummary(cfg *config.Config) string {
	if cfg.Capture.Kind == media.SourceJPEGs {
		return "jpeg, the files as they are"
	}
	if cfg.Capture.Codec == packetizer.CodecH264 {
		return fmt.Sprintf("h264 %g Mb/s", cfg.Capture.BitrateMbps)
	}
	return fmt.Sprintf("jpeg q%d", cfg.Capture.Quality)
}
