package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/control"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
)

const defaultSocket = "/run/vstreamd/vstreamd.sock"

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vstreamd status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "control socket of the daemon (default: the one -config names)")
	path := fs.String("config", "", "config file whose [control] socket to use (default "+defaultConfig+")")
	asJSON := fs.Bool("json", false, "print JSON")
	watch := fs.Bool("watch", false, "refresh every second until interrupted")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	sock, err := findSocket(*socket, *path)
	if err != nil {
		fmt.Fprintf(stderr, "vstreamd: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return showStatus(ctx, sock, *asJSON, *watch, time.Second, stdout, stderr)
}

// showStatus prints the status once, or with watch every interval until
// ctx is done or the daemon stops answering.
func showStatus(ctx context.Context, sock string, asJSON, watch bool, interval time.Duration, stdout, stderr io.Writer) int {
	for {
		code := statusOnce(ctx, sock, asJSON, watch, stdout, stderr)
		if !watch || code != exitOK {
			return code
		}
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(interval):
		}
	}
}

// findSocket picks the control socket: -socket, else the one in -config,
// else the one in the default config if it exists, else the default.
func findSocket(socket, path string) (string, error) {
	if socket != "" {
		return socket, nil
	}
	if path == "" {
		if _, err := os.Stat(defaultConfig); err != nil {
			return defaultSocket, nil
		}
		path = defaultConfig
	}
	cfg, err := config.Load(path)
	if err != nil {
		return "", fmt.Errorf("finding the control socket: %w", err)
	}
	return cfg.Control.Socket, nil
}

func statusOnce(ctx context.Context, sock string, asJSON, watch bool, stdout, stderr io.Writer) int {
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	raw, err := control.Query(qctx, sock, control.Request{Command: "status"})
	if err != nil {
		fmt.Fprintf(stderr, "vstreamd: %v\n", err)
		if errors.Is(err, control.ErrNotRunning) {
			return exitNotRunning
		}
		return exitFailure
	}
	if asJSON {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			fmt.Fprintf(stderr, "vstreamd: bad answer from the daemon: %v\n", err)
			return exitFailure
		}
		enc := json.NewEncoder(stdout)
		if !watch {
			enc.SetIndent("", "  ")
		}
		_ = enc.Encode(v)
		return exitOK
	}
	var st daemon.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		fmt.Fprintf(stderr, "vstreamd: bad answer from the daemon: %v\n", err)
		return exitFailure
	}
	if watch {
		fmt.Fprint(stdout, "\033[H\033[2J") // clear the terminal
	}
	fmt.Fprint(stdout, render(&st))
	return exitOK
}

// render formats a status for people, in the spirit of `wg show`.
func render(s *daemon.Status) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("vstreamd %s: %s (up %s)\n", s.Version, s.State, dur(s.UptimeSeconds))
	heard := "never heard"
	if s.LastHeardSeconds >= 0 {
		heard = fmt.Sprintf("heard %s ago, session %s", dur(s.LastHeardSeconds), short(s.PeerSession))
		if s.PeerRestarts > 0 {
			heard += fmt.Sprintf(", restarted %d times", s.PeerRestarts)
		}
	}
	p("  peer:       %s (%s), %s\n", s.Peer, s.PeerAddr, heard)
	p("  local:      %s, session %s, UDP offload: %s\n", s.Listen, short(s.Session), s.Offload)
	p("  rx wait:    %s\n", realtime(s.RX))
	if s.Encryption == "off" {
		p("  security:   UNENCRYPTED: [security] encryption = \"off\"\n")
	} else {
		p("  security:   %s\n", s.Encryption)
		if h := s.Handshake; h != nil && h.KeyEpoch > 0 {
			p("              keys #%d, %s old (renewed every %s); handshakes done: %d\n", h.KeyEpoch, dur(h.LastRekeySeconds), dur(h.RekeyAfterSecond), h.Handshakes)
		} else if h != nil {
			p("              no keys yet: handshaking (%d tried)\n", h.Initiated)
		}
	}
	p("  clock:      rtt %.2f ms, offset %+.2f ms; latency %s\n", s.RTTms, s.ClockOffsetMs, s.LatencyMethod)

	t := s.TX
	switch {
	case !t.Enabled:
		p("\n  sending:    no (source = \"none\")\n")
	default:
		what := "paused: the peer is not there or shows no video"
		if t.Sending {
			what = "streaming"
		}
		p("\n  sending:    %s\n", what)
		pacing := ""
		if t.PaceMbps > 0 {
			pacing = fmt.Sprintf(", paced at %.1f Mb/s", t.PaceMbps)
		}
		enc := fmt.Sprintf("quality %d", t.Quality)
		if src := t.Source; src != nil && src.Codec == "h264" {
			enc = "h264 target " + bps(float64(src.BitrateBps))
		}
		p("              %.1f fps, %s, parity %.2f, %s%s\n", t.FPS, bps(t.BitrateBps), t.Parity, enc, pacing)
		p("              frames %d, packets %d (%d parity) in %d system calls, frames skipped %d, too big %d, send errors %d\n",
			t.Frames, t.Packets, t.ParityPackets, t.SendCalls, t.FramesSkipped, t.FramesTooBig, t.SendErrors)
		if src := t.Source; src != nil {
			p("              source %s %dx%d, %.1f of %d fps, encode %.1f ms, dropped %d\n",
				src.Kind, src.Width, src.Height, src.FPS, src.ConfiguredFPS, src.EncodeMs, src.Dropped)
			if src.Note != "" {
				p("              (%s)\n", src.Note)
			}
			if src.Codec == "h264" {
				p("              keyframes %d (%d forced for %d recovery requests from the peer)\n",
					src.Keyframes, t.KeyframesForced, t.RecoverRequests)
			}
		}
		if a := t.Adapt; a != nil {
			p("              adapting: %s; link estimate %s, target %s (media %s), queue %.1f ms, loss %.2f%% (burst %.1f)\n",
				a.State, bps(a.EstimateBps), bps(a.TargetBps), bps(a.MediaBps), a.QueueDelayMs, a.Loss*100, a.Burst)
			level := fmt.Sprintf("%dx%d@%d q%d", a.Width, a.Height, a.FPS, a.Quality)
			if a.EncoderBps > 0 {
				level = fmt.Sprintf("%dx%d@%d at %s", a.Width, a.Height, a.FPS, bps(float64(a.EncoderBps)))
			}
			p("              level %s; rate: %s (%.0f s ago); level: %s (%.0f s ago)\n",
				level, a.Reason, a.ReasonAgo, a.LevelReason, a.LevelAgo)
		} else {
			p("              adaptation off: [transport] adaptive = false\n")
		}
		if r := t.PeerReport; r != nil {
			p("              peer reports: delivered %d (FEC %d), late %d, incomplete %d, lost %d, corrupt %d; loss %.1f%%; latency p50/p95/p99 %.1f/%.1f/%.1f ms\n",
				r.FramesDelivered, r.FramesRecovered, r.FramesLate, r.FramesIncomplete, r.FramesLost, r.FramesCorrupt,
				r.LossRatio*100, r.LatencyMs.P50, r.LatencyMs.P95, r.LatencyMs.P99)
		}
	}
	r := s.RX
	if !r.Enabled {
		p("\n  receiving:  no (sink = \"none\")\n")
		return b.String()
	}
	p("\n  receiving:  %.1f fps, %s, packet loss %.1f%%, max delay %.0f ms\n", r.FPS, bps(r.BitrateBps), r.LossRatio*100, r.MaxDelayMs)
	p("              frames delivered %d, recovered by FEC %d, late %d, incomplete %d, lost %d, corrupt %d\n",
		r.FramesDelivered, r.FramesRecovered, r.FramesLate, r.FramesIncomplete, r.FramesLost, r.FramesCorrupt)
	if r.LatencyMs.Samples > 0 {
		p("              latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, capture to complete (last %d frames)\n", r.LatencyMs.P50, r.LatencyMs.P95, r.LatencyMs.P99, r.LatencyMs.Samples)
		p("                of which transport p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, first datagram sent to complete\n", r.TransportMs.P50, r.TransportMs.P95, r.TransportMs.P99)
	}
	p("              packets %d in %d system calls, invalid %d, duplicate %d, late %d, from strangers %d\n",
		r.Packets, r.ReadCalls, r.PacketsInvalid, r.PacketsDuplicate, r.PacketsLate, r.PacketsForeign)
	if len(r.Invalid) > 0 {
		var parts []string
		for k, v := range r.Invalid {
			parts = append(parts, fmt.Sprintf("%s %d", k, v))
		}
		p("              invalid by reason: %s\n", strings.Join(sorted(parts), ", "))
	}
	if r.Codec != "" {
		p("              codec %s: frozen %d frames (joined mid-stream, or a frame lost), recovered %d times (last freeze %.0f ms), recovery requests %d, bad media prefix %d\n",
			r.Codec, r.FramesFrozen, r.Recoveries, r.LastFreezeMs, r.RecoverRequests, r.BadMedia)
	}
	if k := r.Sink; k != nil && k.Kind == media.SinkDiscard {
		p("              display discard: %s, %d frames discarded undecoded, %.1f MB\n", k.State, k.Shown, float64(k.Bytes)/1e6)
	} else if k != nil {
		p("              display %s: %s, shown %d, skipped %d, decode errors %d, held %d, decode %.1f ms\n",
			k.Kind, k.State, k.Shown, k.Skipped, k.DecodeErrors, k.Held, k.DecodeMs)
	}
	return b.String()
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

func short(session string) string {
	if len(session) > 8 {
		return session[:8]
	}
	return session
}

func dur(seconds float64) string {
	return time.Duration(seconds * float64(time.Second)).Round(100 * time.Millisecond).String()
}

func bps(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1f Mb/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f kb/s", v/1e3)
	}
	return fmt.Sprintf("%.0f b/s", v)
}

// realtime describes for people where the receive loop waits and at what
// priority.
func realtime(rx daemon.RXStatus) string {
	r, cpu := rx.Realtime, pressure(rx.CPU)
	switch {
	case r.Priority == 0:
		return "in Go's poller (realtime_priority = 0)"
	case r.Refused != "":
		return "in Go's poller, normal priority: the kernel refused real-time priority: " + r.Refused
	case !r.OnThread:
		now := "calm"
		if rx.CPU.Contended {
			now = "contended, but reads are on time"
		}
		return fmt.Sprintf("in Go's poller: the CPU is %s (%s; %d reads late by 1 ms or more so far); on its own real-time thread (priority %d) while it is contended and reads are late (realtime_mode = %q; moved %d times)", now, cpu, rx.ReadsLate, r.Priority, rx.RealtimeMode, r.Switches)
	case r.Raised:
		why := "realtime_mode = \"always\""
		if rx.RealtimeMode != "always" {
			why = fmt.Sprintf("the CPU is contended (%s) and reads were late (%d by 1 ms or more so far)", cpu, rx.ReadsLate)
		}
		return fmt.Sprintf("on its own thread, real-time priority %d: %s (lowered %d times for a flood, moved %d times)", r.Priority, why, r.Lowered, r.Switches)
	default:
		return fmt.Sprintf("on its own thread, lowered for a flood (%d times so far), back to real-time priority %d when it catches up", r.Lowered, r.Priority)
	}
}

// pressure describes the CPU's last pressure reading.
func pressure(c sched.ContentionStatus) string {
	switch {
	case c.Error != "":
		return "pressure unknown: " + c.Error
	case c.Pressure == nil:
		return "no pressure reading yet"
	default:
		return fmt.Sprintf("tasks waited for a CPU %.1f%% of the last second", *c.Pressure*100)
	}
}
