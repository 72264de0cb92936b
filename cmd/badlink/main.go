// Command badlink is a user-space UDP relay that impairs the link between
// two endpoints on purpose: loss (independent or Gilbert-Elliott bursts),
// delay with jitter, reordering, duplication, and a bandwidth cap with a
// tail-drop queue, set for both directions or each on its own. It exists
// because the kernel here has no netem; vstreamd's tests and benchmarks put
// it between two daemons, and users can rehearse a bad link with it.
//
// Run "badlink -h" for the flags. The models live in package impair, the
// sockets and scheduling in package relay.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/relay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status: 0 after a clean
// stop, 1 if the relay failed, 2 for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "badlink: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("component", "badlink")

	r, err := start(opts, log)
	if err != nil {
		fmt.Fprintf(stderr, "badlink: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if opts.statsEvery > 0 {
		wg.Go(func() { progress(ctx, r, opts.statsEvery, stdout) })
	}
	runErr := r.Run(ctx)
	cancel()
	wg.Wait()

	snap := r.Stats()
	if err := snap.WriteTable(stdout); err != nil {
		log.Error("writing summary", "err", err)
	}
	code := 0
	if runErr != nil {
		log.Error("relay failed", "err", runErr)
		code = 1
	}
	if opts.statsJSON != "" {
		if err := writeJSON(opts.statsJSON, snap); err != nil {
			log.Error("writing stats", "path", opts.statsJSON, "err", err)
			code = 1
		}
	}
	return code
}

// start binds both sockets and builds the relay.
func start(opts options, log *slog.Logger) (*relay.Relay, error) {
	connA, err := listen("-a-listen", opts.listenA, log)
	if err != nil {
		return nil, err
	}
	connB, err := listen("-b-listen", opts.listenB, log)
	if err != nil {
		connA.Close()
		return nil, err
	}
	return relay.New(opts.cfg, connA, connB, log)
}

// listen binds one side's socket and sizes its buffers.
func listen(flag string, ap netip.AddrPort, log *slog.Logger) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("%s %v: %w", flag, ap, err)
	}
	rcvbuf, err := relay.Prepare(c)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s %v: %w", flag, ap, err)
	}
	log.Info("listening", "side", flag[1:2], "addr", c.LocalAddr(), "rcvbuf", rcvbuf)
	if rcvbuf > 0 && rcvbuf < relay.SocketBuffer {
		log.Warn("the kernel granted a smaller receive buffer than asked; a stall of the relay may drop datagrams (counted as kernel drops)",
			"side", flag[1:2], "asked", relay.SocketBuffer, "got", rcvbuf, "fix", "sysctl -w net.core.rmem_max=8388608")
	}
	return c, nil
}

// progress prints a line of counters every interval until ctx is done.
func progress(ctx context.Context, r *relay.Relay, every time.Duration, w io.Writer) {
	t := time.NewTicker(every)
	defer t.Stop()
	var prev relay.Snapshot
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := r.Stats()
			fmt.Fprintln(w, s.Line(prev))
			prev = s
		}
	}
}

// writeJSON writes snap to path through a temporary file and a rename, so
// that a script never reads half a file.
func writeJSON(path string, snap relay.Snapshot) error {
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".badlink-stats-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
