package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// buildBinaries builds vstreamd and badlink into dir. It must run inside
// the module.
func buildBinaries(ctx context.Context, dir string) (binaries, error) {
	b := binaries{vstreamd: filepath.Join(dir, "vstreamd"), badlink: filepath.Join(dir, "badlink")}
	for _, t := range []struct{ out, pkg string }{
		{b.vstreamd, "github.com/vstreamd/vstreamd/cmd/vstreamd"},
		{b.badlink, "github.com/vstreamd/vstreamd/cmd/badlink"},
	} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", t.out, t.pkg).CombinedOutput()
		if err != nil {
			return b, fmt.Errorf("go build %s: %w\n%s", t.pkg, err, out)
		}
	}
	return b, nil
}

// machine describes the host for the report.
type machine struct {
	CPU     string `json:"cpu"`
	Cores   int    `json:"cores"`
	Kernel  string `json:"kernel"`
	Go      string `json:"go"`
	Version string `json:"vstreamd_version,omitempty"`
}

func describeMachine() machine {
	m := machine{CPU: "unknown", Cores: runtime.NumCPU(), Kernel: "unknown", Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// header is what the report says about the run as a whole.
type header struct {
	command string
	where   string
	set     settings
	machine machine
	started time.Time
	elapsed time.Duration
	loads   []string // 1-minute load average before the first run and after each
}

func (h header) lines() []string {
	return []string{
		fmt.Sprintf("command:  %s", h.command),
		fmt.Sprintf("date:     %s (took %s)", h.started.UTC().Format("2006-01-02 15:04 MST"), h.elapsed.Round(time.Second)),
		fmt.Sprintf("machine:  %s, %d cores, Linux %s, %s; %s", h.machine.CPU, h.machine.Cores, h.machine.Kernel, h.machine.Go, h.machine.Version),
		fmt.Sprintf("network:  %s; the relay impairs both directions, figures are for A to B", h.where),
		fmt.Sprintf("stream:   %s, pattern %dx%d at %d fps, H.264 %g Mb/s or JPEG q%d (the codec column), max_datagram %d, max_delay_ms %d, max_rate_mbps %g, %s; warm-up %v, window %v per row",
			callKind(h.set.OneWay), h.set.Width, h.set.Height, h.set.FPS, h.set.BitrateMbps, h.set.Quality, h.set.MaxDatagram, h.set.MaxDelayMs, h.set.MaxRateMbps, encryptionKind(h.set.Plain), h.set.Warmup, h.set.Duration),
		fmt.Sprintf("load:     1-min load average before the first row and after each: %s", strings.Join(h.loads, " ")),
	}
}

func callKind(oneWay bool) string {
	if oneWay {
		return "one-way (A sends, B receives)"
	}
	return "two-way call"
}

// report writes the header, the table and the targets as plain text.
func report(w io.Writer, h header, rows []result) error {
	fmt.Fprintln(w, strings.Join(h.lines(), "\n"))
	fmt.Fprintln(w)
	if err := writeText(w, rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, t := range checkTargets(rows) {
		fmt.Fprintln(w, t)
	}
	if odd := oddities(rows); len(odd) > 0 {
		fmt.Fprintln(w)
		for _, o := range odd {
			fmt.Fprintln(w, o)
		}
	}
	return nil
}

func writeMarkdownReport(w io.Writer, h header, rows []result) error {
	fmt.Fprintln(w, "```")
	fmt.Fprintln(w, strings.Join(h.lines(), "\n"))
	fmt.Fprintln(w, "```")
	fmt.Fprintln(w)
	if err := writeMarkdown(w, rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, t := range checkTargets(rows) {
		fmt.Fprintf(w, "- %s\n", t)
	}
	for _, o := range oddities(rows) {
		fmt.Fprintf(w, "- %s\n", o)
	}
	return nil
}

func writeJSON(w io.Writer, h header, rows []result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Command string   `json:"command"`
		Date    string   `json:"date"`
		Network string   `json:"network"`
		Machine machine  `json:"machine"`
		Loads   []string `json:"load_averages"`
		Rows    []result `json:"rows"`
	}{h.command, h.started.UTC().Format(time.RFC3339), h.where, h.machine, h.loads, rows})
}

// checkTargets evaluates the targets on the rows that exist.
func checkTargets(rows []result) []string {
	find := func(name string, parity float64) (result, bool) {
		for _, r := range rows {
			if r.Name == name && r.Parity == parity {
				return r, true
			}
		}
		return result{}, false
	}
	verdict := func(ok bool) string {
		if ok {
			return "MET"
		}
		return "MISSED"
	}
	var out []string
	if r, ok := find("clean", 0.25); ok {
		out = append(out, fmt.Sprintf("target clean, parity 0.25: transport p99 < 5 ms: %.2f ms: %s", r.Transport.P99, verdict(r.Transport.P99 < 5)))
	}
	if r, ok := find("loss5", 0.25); ok && r.MDSBound != nil {
		gap := (*r.MDSBound - r.DeliveredRatio) * 100
		out = append(out, fmt.Sprintf("target loss 5%%, parity 0.25: delivered >= 99%% and within 1 point of the MDS bound (%s): %s, %.2f points below: %s",
			pct(*r.MDSBound), pct(r.DeliveredRatio), gap, verdict(r.DeliveredRatio >= 0.99 && gap <= 1)))
	}
	if r, ok := find("loss10", 0.5); ok {
		out = append(out, fmt.Sprintf("target loss 10%%, parity 0.5: delivered >= 99%%: %s: %s", pct(r.DeliveredRatio), verdict(r.DeliveredRatio >= 0.99)))
	}
	if r, ok := find("loss5delay", 0.25); ok {
		out = append(out, fmt.Sprintf("target loss 5%% + delay 30ms, parity 0.25: transport p99 <= 35 ms: %.2f ms: %s", r.Transport.P99, verdict(r.Transport.P99 <= 35)))
	}
	corrupt, rss := uint64(0), uint64(0)
	for _, r := range rows {
		corrupt += r.Corrupt
		rss = max(rss, r.RSSA, r.RSSB)
	}
	if len(rows) > 0 {
		out = append(out, fmt.Sprintf("target no corrupt frame in any row: %d corrupt: %s", corrupt, verdict(corrupt == 0)))
		out = append(out, fmt.Sprintf("target peak RSS < 100 MB per daemon: largest %.1f MB: %s", float64(rss)/(1<<20), verdict(rss < 100<<20)))
	}
	return out
}

// oddities lists what a reader should know about individual rows.
func oddities(rows []result) []string {
	var out []string
	for _, r := range rows {
		name := fmt.Sprintf("%s, parity %.2f", r.Condition, r.Parity)
		if r.Unaccounted > 2 || r.Unaccounted < -2 {
			out = append(out, fmt.Sprintf("note %s: %d frames sent but not accounted for at B (in flight at the snapshots is at most a few)", name, r.Unaccounted))
		}
		if r.Invalid > 0 {
			out = append(out, fmt.Sprintf("note %s: B rejected %d datagrams in the window (reasons since B started: %s)", name, r.Invalid, r.InvalidWhy))
		}
		if r.SendErrors > 0 {
			out = append(out, fmt.Sprintf("note %s: A had %d send errors", name, r.SendErrors))
		}
		if r.ClockOffsetMs > 1 || r.ClockOffsetMs < -1 {
			out = append(out, fmt.Sprintf("note %s: B estimated its clock %+.2f ms off A's (rtt %.2f ms); latency figures carry that error", name, r.ClockOffsetMs, r.RTTms))
		}
		if r.LatencyOver != "window" {
			out = append(out, fmt.Sprintf("note %s: latency is over B's %s at the end, not the window: this vstreamd keeps no latency histogram", name, r.LatencyOver))
		}
		if r.relay.KernelDrops > 0 {
			out = append(out, fmt.Sprintf("note %s: the kernel dropped %d datagrams at the relay's socket (relay behind; included in relay drop)", name, r.relay.KernelDrops))
		}
	}
	return out
}

func encryptionKind(plain bool) string {
	if plain {
		return "encryption off"
	}
	return "encrypted (Noise NNpsk0 handshake, AES-256-GCM)"
}
