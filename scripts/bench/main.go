// Command bench measures vstreamd end to end: for each network condition
// it starts the badlink relay and two real vstreamd daemons that stream the
// synthetic test pattern to each other through it, measures a window after
// a warm-up, and prints one table: frames sent and delivered, the MDS
// bound, latency, goodput, CPU and peak memory of each daemon.
//
// Run it from the repository root (scripts/bench.sh does):
//
//	go run ./scripts/bench -duration 30s            the full run
//	go run ./scripts/bench -quick                   2 s per condition, for CI
//	go run ./scripts/bench -conditions clean,loss5  a subset
//	go run ./scripts/bench -netns                   across network namespaces
//
// The relay impairs both directions alike; the table reports the A to B
// direction: frames A sent, what B made of them. docs/benchmarks.md
// explains every column.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/scripts/procstat"
)

// options is the command line.
type options struct {
	args        []string // as given, for the report
	set         settings
	conditions  []condition
	parities    []float64
	codecs      []string // each condition runs with each, one after the other
	capFraction float64
	netns       bool
	netnsScript string
	bins        binaries
	markdown    string
	jsonPath    string
	keep        bool
	timelineDir string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	if err := bench(ctx, opts, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		if errors.Is(err, errSkip) {
			return 0
		}
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o                       options
		quick                   bool
		conds, parities, size   string
		codecs                  string
		vstreamdBin, badlinkBin string
	)
	fs.DurationVar(&o.set.Duration, "duration", 30*time.Second, "measured `window` per condition and parity")
	fs.DurationVar(&o.set.Warmup, "warmup", time.Second, "time to stream before the window starts")
	fs.BoolVar(&quick, "quick", false, "quick run for CI: -duration 2s unless given")
	fs.StringVar(&conds, "conditions", "all", "comma-separated `names` of the conditions to run, \"all\" (the loss table) or \"adapt\" (the adaptation's table): "+conditionNames())
	fs.StringVar(&parities, "parity", "0.25,0", "comma-separated parity `ratios` to run every condition at (loss10 also runs at 0.5)")
	fs.Float64Var(&o.capFraction, "cap", 0.7, "the rate cap condition caps at this `fraction` of the clean bitrate at the same parity")
	fs.StringVar(&size, "size", "1280x720", "frame size, `WIDTHxHEIGHT`")
	fs.IntVar(&o.set.FPS, "fps", 30, "frames per second")
	fs.IntVar(&o.set.Quality, "quality", 80, "JPEG quality")
	fs.StringVar(&codecs, "codec", "h264,jpeg", "comma-separated `codecs` to run every condition with, side by side: h264, jpeg")
	fs.Float64Var(&o.set.BitrateMbps, "bitrate", 3, "[capture] bitrate_mbps: the H.264 target, `Mb/s`")
	fs.IntVar(&o.set.MaxDatagram, "max-datagram", 1200, "[transport] max_datagram, `bytes`")
	fs.IntVar(&o.set.MaxDelayMs, "max-delay-ms", 100, "[transport] max_delay_ms")
	fs.Uint64Var(&o.set.Seed, "seed", 1, "the relay's random seed")
	fs.BoolVar(&o.set.OneWay, "one-way", false, "A only sends and B only receives, instead of a two-way call (half the CPU load)")
	fs.Float64Var(&o.set.MaxRateMbps, "max-rate", 0, "the daemons' [transport] max_rate_mbps: pace each frame at this many Mb/s (0: off)")
	fs.BoolVar(&o.set.Fixed, "fixed", false, "turn the adaptation off ([transport] adaptive = false): configured size, quality and parity whatever the link")
	fs.IntVar(&o.set.Realtime, "realtime", 1, "the daemons' [transport] realtime_priority: their receive threads' SCHED_FIFO `priority` (0: normal)")
	fs.IntVar(&o.set.RelayRealtime, "relay-realtime", 1, "the relay's -realtime-priority: its readers' SCHED_FIFO `priority` (0: normal)")
	fs.BoolVar(&o.set.Plain, "plain", false, "run with encryption off (by default the daemons encrypt, with a fresh key per run)")
	fs.BoolVar(&o.netns, "netns", false, "run the daemons and the relay in three network namespaces (needs root) instead of on loopback")
	fs.StringVar(&o.netnsScript, "netns-script", "scripts/netns.sh", "`path` of netns.sh, for -netns")
	fs.StringVar(&vstreamdBin, "vstreamd", "", "vstreamd `binary`; empty builds ./cmd/vstreamd")
	fs.StringVar(&badlinkBin, "badlink", "", "badlink `binary`; empty builds ./cmd/badlink")
	fs.StringVar(&o.markdown, "markdown", "", "also write the table as Markdown to `file`")
	fs.StringVar(&o.jsonPath, "json", "", "also write every row as JSON to `file`")
	fs.StringVar(&o.timelineDir, "timeline-dir", "", "write the timelines (PNG and CSV) of the conditions that draw one into `dir` (default: the work directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (configs and logs of every run)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; every setting is a flag (see -h)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if quick && !set["duration"] {
		o.set.Duration = 2 * time.Second
	}
	if o.set.Duration < 500*time.Millisecond || o.set.Warmup < 0 {
		return o, fmt.Errorf("-duration %v: want at least 500ms (and -warmup not negative)", o.set.Duration)
	}
	var err error
	if o.conditions, err = selectConditions(conds); err != nil {
		return o, err
	}
	if o.parities, err = parseParities(parities); err != nil {
		return o, err
	}
	w, h, ok := strings.Cut(size, "x")
	o.set.Width, err = strconv.Atoi(w)
	if err == nil {
		o.set.Height, err = strconv.Atoi(h)
	}
	if !ok || err != nil {
		return o, fmt.Errorf("-size %q: want WIDTHxHEIGHT, e.g. 1280x720", size)
	}
	if !(o.capFraction > 0 && o.capFraction <= 2) {
		return o, fmt.Errorf("-cap %v: want a fraction of the clean bitrate, e.g. 0.7", o.capFraction)
	}
	for _, c := range strings.Split(codecs, ",") {
		if c != "h264" && c != "jpeg" {
			return o, fmt.Errorf("-codec %q: want h264, jpeg or both (h264,jpeg)", codecs)
		}
		o.codecs = append(o.codecs, c)
	}
	o.bins = binaries{vstreamd: vstreamdBin, badlink: badlinkBin}
	o.args = args
	return o, nil
}

func conditionNames() string {
	var names []string
	for _, c := range conditions() {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

func parseParities(list string) ([]float64, error) {
	var out []float64
	for s := range strings.SplitSeq(list, ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || p < 0 || p > 2 {
			return nil, fmt.Errorf("-parity: %q is not a ratio from 0 to 2", s)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// paritiesFor returns the parities a condition runs at, highest first.
func paritiesFor(c condition, base []float64) []float64 {
	ps := slices.Clone(base)
	for _, p := range c.Parities {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	slices.Reverse(ps)
	return ps
}

// bench runs every condition and prints the table.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "vstreamd-bench-")
	if err != nil {
		return err
	}
	var failures []error
	defer func() { // failures is filled in by runAll below
		if o.keep || len(failures) > 0 {
			fmt.Fprintf(stderr, "work directory with the configs and logs of every run (kept): %s\n", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	bins := o.bins
	if bins.vstreamd == "" || bins.badlink == "" {
		fmt.Fprintln(stderr, "building vstreamd and badlink...")
		built, err := buildBinaries(ctx, filepath.Join(dir, "bin"))
		if err != nil {
			return err
		}
		bins.vstreamd = cmp.Or(bins.vstreamd, built.vstreamd)
		bins.badlink = cmp.Or(bins.badlink, built.badlink)
	}
	h := &harness{bins: bins, set: o.set, net: loopbackNetwork(), dir: dir, timelineDir: o.timelineDir}
	where := "loopback (127.0.0.1)"
	if o.netns {
		n, down, err := setupNetns(o.netnsScript)
		if err != nil {
			return err
		}
		defer func() {
			if err := down(); err != nil {
				fmt.Fprintf(stderr, "bench: removing the namespaces: %v\n", err)
			}
		}()
		h.net = n
		where = fmt.Sprintf("network namespaces %s, %s, %s (veth, 10.77.x.y)", n.nsA, n.nsRelay, n.nsB)
	}

	info := describeMachine()
	if out, err := commandOutput(bins.vstreamd, "version"); err == nil {
		info.Version = strings.TrimSpace(string(out))
	}
	started := time.Now()
	rows, loads, failures, err := runAll(ctx, h, o, stderr)
	if err != nil {
		return err
	}

	hdr := header{
		command: "scripts/bench.sh " + strings.Join(o.args, " "), where: where, set: o.set,
		machine: info, started: started, elapsed: time.Since(started), loads: loads,
	}
	if err := report(stdout, hdr, rows); err != nil {
		return err
	}
	if o.markdown != "" {
		if err := writeFile(o.markdown, func(w io.Writer) error { return writeMarkdownReport(w, hdr, rows) }); err != nil {
			return err
		}
	}
	if o.jsonPath != "" {
		if err := writeFile(o.jsonPath, func(w io.Writer) error { return writeJSON(w, hdr, rows) }); err != nil {
			return err
		}
	}
	return errors.Join(failures...)
}

// runAll runs every condition at its parities, reporting progress on
// stderr. A row that fails is reported and skipped; only cancellation stops
// the run.
func runAll(ctx context.Context, h *harness, o options, stderr io.Writer) (rows []result, loads []string, failures []error, err error) {
	total := 0
	for _, c := range o.conditions {
		total += len(paritiesFor(c, o.parities)) * len(o.codecs)
	}
	loads = []string{procstat.LoadAvg(1)}
	n := 0
	for _, c := range o.conditions {
		for _, p := range paritiesFor(c, o.parities) {
			for _, codec := range o.codecs {
				n++
				h.set.Codec = codec
				var rs []result
				var err error
				if c.Shared {
					rs, err = h.runShared(ctx, c, p)
				} else {
					var res result
					res, err = runCondition(ctx, h, c, p, o.capFraction, rows)
					rs = []result{res}
				}
				loads = append(loads, procstat.LoadAvg(1))
				if ctx.Err() != nil {
					return nil, nil, nil, ctx.Err()
				}
				if err != nil {
					fmt.Fprintf(stderr, "[%d/%d] %s, %s, parity %g: FAILED: %v\n", n, total, c.Label, codec, p, err)
					failures = append(failures, fmt.Errorf("%s, %s, parity %g: %w", c.Label, codec, p, err))
					continue
				}
				for _, res := range rs {
					fmt.Fprintf(stderr, "[%d/%d] %s, %s, parity %g: sent %d, delivered %s, shown %d, frozen %d, transport p99 %.1f ms (before the window: %d frames, p99 %.1f ms) (load %s)\n",
						n, total, res.Condition, codec, p, res.Sent, pct(res.DeliveredRatio), res.Shown, res.Frozen, res.Transport.P99,
						res.WarmupTransport.Samples, res.WarmupTransport.P99, loads[len(loads)-1])
					for _, note := range res.StepNotes {
						fmt.Fprintf(stderr, "      %s\n", note)
					}
					if res.Timeline != "" {
						fmt.Fprintf(stderr, "      timeline: %s\n", res.Timeline)
					}
				}
				rows = append(rows, rs...)
			}
		}
	}
	return rows, loads, failures, nil
}

// runCondition runs one condition at one parity. The rate cap takes its
// rate from the clean row at the same parity in done, or from a short
// clean run of its own.
func runCondition(ctx context.Context, h *harness, c condition, parity, capFraction float64, done []result) (result, error) {
	flags := slices.Clone(c.Relay)
	var capBps float64
	if c.Cap {
		clean := -1.0
		for _, r := range done {
			if r.Name == "clean" && r.Parity == parity && r.Codec == h.set.Codec {
				clean = r.WireBps
			}
		}
		if clean < 0 {
			probe := *h
			probe.set.Duration = min(h.set.Duration, 3*time.Second)
			r, err := probe.run(ctx, conditions()[0], parity, nil)
			h.runs = probe.runs
			if err != nil {
				return result{}, fmt.Errorf("measuring the clean bitrate for the cap: %w", err)
			}
			clean = r.WireBps
		}
		capBps = clean * capFraction
		flags = append(flags, "-rate", fmt.Sprintf("%.0fkbit", capBps/1e3))
		c.Label = fmt.Sprintf("rate cap %.0f%% of clean,", capFraction*100)
	}
	res, err := h.run(ctx, c, parity, flags)
	res.CapBps = capBps
	return res, err
}

// writeFile writes through a temporary file and a rename.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".bench-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
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
