// Command glass measures vstreamd's glass-to-glass latency on a real
// window: two real daemons on loopback, the sender streaming the test
// pattern, the receiver showing it in its GoCV window on a private Xvfb
// display; the receiver's window is read many times a second with
// XGetImage and the frame number and capture time the pattern draws into
// each frame are decoded from it (package display/glass). It prints the
// glass-to-glass percentiles, the frames seen against the frames sent, and
// where the time goes.
//
//	scripts/glass.sh                       1280x720, 30 fps, 20 s
//	scripts/glass.sh -duration 60s -json out.json
//	scripts/glass.sh -h
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/display/glass"
)

// options are the command's flags.
type options struct {
	bin                string
	width, height, fps int
	warmup, duration   time.Duration
	interval           time.Duration
	keep               bool
	noShm              bool
	metrics            string // serve a glass-to-glass histogram here while measuring
	extra              string // appended to both daemons' config files
	codec              string // the sender's [capture] codec
	local              bool   // measure from Show to the screen in a window of our own
	showChild          bool   // be the local measurement's child
	title              string // the child's window title
	jsonOut            string
}

// report is what one measurement gives.
type report struct {
	Options struct {
		Width, Height, FPS int
		Seconds            float64
	}
	Glass       glass.Result `json:"-"`
	P50ms       float64      `json:"glass_p50_ms"`
	P95ms       float64      `json:"glass_p95_ms"`
	P99ms       float64      `json:"glass_p99_ms"`
	MinMs       float64      `json:"glass_min_ms"`
	MaxMs       float64      `json:"glass_max_ms"`
	FramesSeen  int          `json:"frames_seen"`
	FramesSent  int          `json:"frames_sent"` // frames the sender sent while the window was read
	FrameSpan   int          `json:"frame_span"`  // frame numbers from the first seen to the last
	Grabs       int          `json:"grabs"`
	Undecoded   int          `json:"grabs_undecoded"`
	Late        int          `json:"frames_left_out"` // seen while the reader was held up: no exact time
	GrabMs      float64      `json:"grab_ms"`         // one XGetImage
	PeriodMs    float64      `json:"grab_period_ms"`  // between grabs: the resolution of a sample
	Shm         bool         `json:"grab_shm"`        // reads through shared memory
	ReaderCPU   float64      `json:"reader_cpu"`      // cores the reading used, on average
	EncodeMs    float64      `json:"encode_ms"`       // sender: resize and JPEG encode, mean
	CompleteP50 float64      `json:"complete_p50_ms"`
	CompleteP95 float64      `json:"complete_p95_ms"`
	TransportMs float64      `json:"transport_p50_ms"`
	DecodeMs    float64      `json:"decode_ms"` // receiver: JPEG decode, mean
	Shown       uint64       `json:"shown"`     // frames the window showed, whole run
	Skipped     uint64       `json:"skipped"`   // replaced in the hand-off before shown
	Delivered   uint64       `json:"delivered"` // frames complete at the receiver, whole run
	Load        string       `json:"loadavg"`   // /proc/loadavg before and after: the machine may be shared
	// Complete (at the receiver) to the screen, per frame.
	AfterP50     float64 `json:"after_complete_p50_ms"`
	AfterP95     float64 `json:"after_complete_p95_ms"`
	AfterP99     float64 `json:"after_complete_p99_ms"`
	AfterMatched int     `json:"after_complete_frames"`
}

func main() {
	var o options
	flag.StringVar(&o.bin, "vstreamd", "", "vstreamd binary (default: build ./cmd/vstreamd)")
	flag.IntVar(&o.width, "width", 1280, "frame width")
	flag.IntVar(&o.height, "height", 720, "frame height")
	flag.IntVar(&o.fps, "fps", 30, "frames per second")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "streaming time before measuring")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measuring time")
	flag.DurationVar(&o.interval, "interval", 2*time.Millisecond, "least time between two reads of the window")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs)")
	flag.StringVar(&o.metrics, "metrics", "", "serve the glass-to-glass histogram for Prometheus at ADDR/metrics while measuring, e.g. 127.0.0.1:9470")
	flag.StringVar(&o.codec, "codec", "", `the sender's [capture] codec, "h264" or "jpeg" (default: the config's default)`)
	flag.StringVar(&o.extra, "config", "", "TOML appended to both daemons' configs, for a table they do not set yet, e.g. '[transport] adaptive = false' (newlines as \\n)")
	flag.BoolVar(&o.local, "local", false, "measure only what follows a frame's completion: from Show to the screen, in a window sink of this program's own, without daemons")
	flag.BoolVar(&o.showChild, "show-child", false, "internal: the -local measurement's window process")
	flag.StringVar(&o.title, "title", "vstreamd glass local", "internal: the -show-child window's title")
	flag.BoolVar(&o.noShm, "no-shm", false, "read the window through the X socket (XGetImage) instead of shared memory (XShmGetImage)")
	flag.StringVar(&o.jsonOut, "json", "", "also write the result as JSON to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch {
	case o.showChild:
		if err := showChild(ctx, o, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "glass child:", err)
			os.Exit(1)
		}
		return
	case o.local:
		r, err := measureLocal(ctx, o, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "glass:", err)
			os.Exit(1)
		}
		r.print(os.Stdout, o)
		return
	}
	r, err := measure(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "glass:", err)
		os.Exit(1)
	}
	r.print(os.Stdout)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "glass:", err)
			os.Exit(1)
		}
	}
}

// measure runs the whole measurement; progress goes to log.
func measure(ctx context.Context, o options, log io.Writer) (*report, error) {
	dir, err := os.MkdirTemp("", "vstreamd-glass")
	if err != nil {
		return nil, err
	}
	defer func() {
		if o.keep {
			fmt.Fprintln(log, "glass: kept", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	if o.bin == "" {
		o.bin = filepath.Join(dir, "vstreamd")
		fmt.Fprintln(log, "glass: building vstreamd")
		if out, err := exec.Command("go", "build", "-o", o.bin, "./cmd/vstreamd").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/vstreamd (run from the repository root): %v\n%s", err, out)
		}
	}
	// The screen must hold the whole window (XGetImage reads only what is
	// on it), and Qt's toolbar makes a small picture's window 1500 wide.
	x, err := glass.StartXvfb(fmt.Sprintf("%dx%dx24", max(o.width+320, 1920), max(o.height+320, 1080)))
	if err != nil {
		return nil, err
	}
	defer x.Stop()
	title := fmt.Sprintf("vstreamd glass %d", os.Getpid())
	rxHTTP, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	a, b, err := startCall(o.bin, dir, x.Display, callConfig{Width: o.width, Height: o.height, FPS: o.fps, Title: title,
		Extra: strings.ReplaceAll(o.extra, `\n`, "\n"), RxHTTP: rxHTTP, Codec: o.codec})
	if err != nil {
		return nil, err
	}
	defer a.stop()
	defer b.stop()
	fmt.Fprintf(log, "glass: sender and receiver started on X display %s; logs in %s\n", x.Display, dir)
	win, err := glass.FindWindow(x.Display, title, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (receiver's log: %s)", err, b.logPath)
	}
	if _, err := b.waitStatus(ctx, 30*time.Second, func(s daemon.Status) bool {
		return s.State == daemon.StateStreaming && s.RX.Sink != nil && s.RX.Sink.Shown > 0
	}); err != nil {
		return nil, err
	}
	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	sa0, err := a.status()
	if err != nil {
		return nil, err
	}
	load0 := loadavg()
	fmt.Fprintf(log, "glass: reading window %#x for %v\n", win, o.duration)
	gopt := glass.Options{Display: x.Display, Window: win, Width: o.width, Duration: o.duration, Interval: o.interval, NoShm: o.noShm}
	if o.metrics != "" {
		_, stopMetrics, observe, err := serveMetrics(o.metrics, log)
		if err != nil {
			return nil, err
		}
		defer stopMetrics()
		gopt.Observe = observe
	}
	res, err := glass.Measure(ctx, gopt)
	if err != nil {
		return nil, err
	}
	sa, err := a.status()
	if err != nil {
		return nil, err
	}
	sb, err := b.status()
	if err != nil {
		return nil, err
	}
	r := newReport(o, res, sa, sb)
	// Per frame: from complete at the receiver to the screen, joined on the
	// capture time the frame carried and the screen showed.
	if done, err := frameTimes(rxHTTP); err != nil {
		fmt.Fprintf(log, "glass: the receiver's frame times: %v\n", err)
	} else {
		var after []time.Duration
		for _, smp := range res.Samples {
			if c, ok := done[smp.Captured.UnixMilli()]; ok {
				after = append(after, smp.Seen.Sub(c))
			}
		}
		r.AfterMatched = len(after)
		p50, p95, p99 := percentiles(after)
		r.AfterP50, r.AfterP95, r.AfterP99 = ms(p50), ms(p95), ms(p99)
	}
	r.FramesSent = int(sa.TX.Frames - sa0.TX.Frames)
	r.Load = load0 + " / " + loadavg()
	return r, nil
}

// loadavg is the first three fields of /proc/loadavg, or "?".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// percentiles returns the nearest-rank p50, p95 and p99 of d (sorted in
// place); zeros when d is empty.
func percentiles(d []time.Duration) (p50, p95, p99 time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(d))+0.999999) - 1
		return d[max(0, min(i, len(d)-1))]
	}
	return at(0.5), at(0.95), at(0.99)
}

func newReport(o options, res glass.Result, sa, sb daemon.Status) *report {
	r := &report{Glass: res,
		P50ms: ms(res.P50), P95ms: ms(res.P95), P99ms: ms(res.P99), MinMs: ms(res.Min), MaxMs: ms(res.Max),
		FramesSeen: res.Frames(), FrameSpan: res.Span(), Grabs: res.Grabs, Undecoded: res.Undecoded, Late: res.Late,
		GrabMs: ms(res.GrabMean), PeriodMs: ms(res.Period), Shm: res.Shm, ReaderCPU: res.CPU.Seconds() / o.duration.Seconds(),
		CompleteP50: sb.RX.LatencyMs.P50, CompleteP95: sb.RX.LatencyMs.P95, TransportMs: sb.RX.TransportMs.P50,
		Delivered: sb.RX.FramesDelivered,
	}
	r.Options.Width, r.Options.Height, r.Options.FPS, r.Options.Seconds = o.width, o.height, o.fps, o.duration.Seconds()
	if src := sa.TX.Source; src != nil {
		r.EncodeMs = src.EncodeMs
	}
	if sk := sb.RX.Sink; sk != nil {
		r.DecodeMs, r.Shown, r.Skipped = sk.DecodeMs, sk.Shown, sk.Skipped
	}
	return r
}

func (r *report) print(w io.Writer) {
	how := "XGetImage"
	if r.Shm {
		how = "XShmGetImage"
	}
	fmt.Fprintf(w, "glass to glass, %dx%d at %d fps on loopback, %.0f s, window read every %.2f ms (one read %.2f ms, %s; the reader used %.0f%% of a core)\n",
		r.Options.Width, r.Options.Height, r.Options.FPS, r.Options.Seconds, r.PeriodMs, r.GrabMs, how, 100*r.ReaderCPU)
	if r.Glass.Width != 0 && r.Glass.Width != r.Options.Width {
		fmt.Fprintf(w, "  (the receiver's window shows the picture %d wide: its first frame came at a lower step of the ladder)\n", r.Glass.Width)
	}
	fmt.Fprintf(w, "  glass to glass   p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (min %.1f, max %.1f)\n", r.P50ms, r.P95ms, r.P99ms, r.MinMs, r.MaxMs)
	pct := 0.0
	if r.FramesSent > 0 {
		pct = 100 * float64(r.FramesSeen) / float64(r.FramesSent)
	}
	fmt.Fprintf(w, "  frames seen      %d of %d sent (%.1f%%; frame numbers %d apart); %d reads, %d without a readable code\n",
		r.FramesSeen, r.FramesSent, pct, r.FrameSpan, r.Grabs, r.Undecoded)
	fmt.Fprintf(w, "                   %d of them timed (left out: %d seen after the reader was held up > 5 ms)\n", r.FramesSeen-r.Late, r.Late)
	fmt.Fprintf(w, "  where it goes    encode %.1f ms (sender, mean); capture to complete p50 %.1f ms, p95 %.1f ms (of which transport p50 %.1f ms);\n",
		r.EncodeMs, r.CompleteP50, r.CompleteP95, r.TransportMs)
	fmt.Fprintf(w, "                   complete to screen, per frame: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (%d frames), of which decode %.1f ms (receiver, mean);\n",
		r.AfterP50, r.AfterP95, r.AfterP99, r.AfterMatched, r.DecodeMs)
	fmt.Fprintf(w, "                   the rest is the hand-off to the sink, the overlay, the window's refresh (Qt) and X\n")
	fmt.Fprintf(w, "  receiver         delivered %d, shown %d, skipped in the hand-off %d (whole run)\n", r.Delivered, r.Shown, r.Skipped)
	fmt.Fprintf(w, "  load average     %s (before / after: this machine may be shared)\n", r.Load)
}
