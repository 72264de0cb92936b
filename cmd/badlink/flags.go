package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
	"github.com/vstreamd/vstreamd/cmd/badlink/relay"
)

// options is everything the command line says.
type options struct {
	listenA, listenB netip.AddrPort
	cfg              relay.Config
	statsJSON        string
	statsEvery       time.Duration
}

// impairment describes one impairment flag. Each is registered three
// times: NAME for both directions, a2b-NAME and b2a-NAME for one.
type impairment struct {
	name, arg, usage string
	isBool           bool
	apply            func(p *impair.Params, flag, value string) error
}

func impairments() []impairment {
	return []impairment{
		{"loss", "RATIO", "average loss ratio, 0 to 1", false, func(p *impair.Params, f, v string) (err error) {
			p.Loss, err = parseRatio(f, v)
			return err
		}},
		{"burst", "N", "mean length of loss bursts, in datagrams: 0 for independent losses,\n" +
			"1 or more for the Gilbert-Elliott model at the same average loss", false,
			func(p *impair.Params, f, v string) error {
				b, err := strconv.ParseFloat(v, 64)
				if err != nil || !(b == 0 || b >= 1) {
					return fmt.Errorf("-%s %s: must be 0 (independent losses) or a number of datagrams of at least 1", f, v)
				}
				p.Burst = b
				return nil
			}},
		{"delay", "DURATION", "fixed one-way delay, e.g. 30ms", false, func(p *impair.Params, f, v string) (err error) {
			p.Delay, err = parseDelay(f, v)
			return err
		}},
		{"jitter", "DURATION", "spread of the delay: uniform within delay +/- jitter, clamped at 0", false,
			func(p *impair.Params, f, v string) (err error) {
				p.Jitter, err = parseDelay(f, v)
				return err
			}},
		{"reorder", "", "let jittered datagrams overtake earlier ones. Without it a datagram never\n" +
			"leaves before the one before it, which pushes delays towards delay+jitter\n" +
			"when datagrams arrive closer together than the jitter", true,
			func(p *impair.Params, f, v string) (err error) {
				p.Reorder, err = strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("-%s=%s: must be true or false", f, v)
				}
				return nil
			}},
		{"dup", "RATIO", "probability that a datagram is sent twice, 0 to 1", false,
			func(p *impair.Params, f, v string) (err error) {
				p.Dup, err = parseRatio(f, v)
				return err
			}},
		{"rate", "RATE", "bandwidth cap in bits per second: 8mbit, 500kbit, 1gbit; 0 for none", false,
			func(p *impair.Params, f, v string) (err error) {
				if p.Rate, err = impair.ParseRate(v); err != nil {
					return fmt.Errorf("-%s %s: %w", f, v, err)
				}
				return nil
			}},
		{"rate-steps", "LIST", "change the rate cap during the run: comma-separated TIME=RATE, times from\n" +
			"the relay's start in increasing order, e.g. 10s=8mbit,25s=40mbit (needs -rate)", false,
			func(p *impair.Params, f, v string) error {
				p.Steps = [impair.MaxRateSteps]impair.RateStep{}
				n := 0
				for item := range strings.SplitSeq(v, ",") {
					if n == impair.MaxRateSteps {
						return fmt.Errorf("-%s %s: at most %d steps", f, v, impair.MaxRateSteps)
					}
					at, rate, ok := strings.Cut(strings.TrimSpace(item), "=")
					d, err := time.ParseDuration(at)
					if !ok || err != nil || d < 0 {
						return fmt.Errorf("-%s %s: %q: want TIME=RATE, e.g. 10s=8mbit", f, v, item)
					}
					r, err := impair.ParseRate(rate)
					if err != nil || r <= 0 {
						return fmt.Errorf("-%s %s: %q: want a positive rate such as 8mbit", f, v, item)
					}
					p.Steps[n] = impair.RateStep{At: d, Rate: r}
					n++
				}
				return nil
			}},
		{"queue", "SIZE", fmt.Sprintf("queue in front of the rate cap, in bytes (64KB, 64KiB, 1500B) or as\n"+
			"the time it takes to drain (50ms); when full, arriving datagrams are\n"+
			"dropped (default %s)", impair.Queue{Bytes: impair.DefaultQueueBytes}), false,
			func(p *impair.Params, f, v string) (err error) {
				if p.Queue, err = impair.ParseQueue(v); err != nil {
					return fmt.Errorf("-%s %s: %w", f, v, err)
				}
				if err := (impair.Params{Queue: p.Queue}).Validate(); err != nil {
					return fmt.Errorf("-%s %s: %w", f, v, err)
				}
				return nil
			}},
	}
}

// rawValue records a flag's text for parsing once all flags are known.
type rawValue struct {
	text   string
	set    bool
	isBool bool
	arg    string // placeholder in the usage
}

func (v *rawValue) String() string     { return v.text }
func (v *rawValue) Set(s string) error { v.text, v.set = s, true; return nil }
func (v *rawValue) IsBoolFlag() bool   { return v.isBool }

func parseRatio(f, v string) (float64, error) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("-%s %s: not a number; give a ratio between 0 and 1, e.g. 0.05 for 5%%", f, v)
	}
	if !(x >= 0 && x <= 1) {
		return 0, fmt.Errorf("-%s %s: must be between 0 and 1", f, v)
	}
	return x, nil
}

func parseDelay(f, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		if _, nerr := strconv.ParseFloat(v, 64); nerr == nil && v != "0" {
			return 0, fmt.Errorf("-%s %s: missing unit; write e.g. %sms", f, v, v)
		}
		return 0, fmt.Errorf("-%s %s: not a duration; write e.g. 30ms", f, v)
	}
	if d < 0 || d > impair.MaxDelay {
		return 0, fmt.Errorf("-%s %s: must be between 0 and %v", f, v, impair.MaxDelay)
	}
	return d, nil
}

// parseArgs reads the command line. It returns flag.ErrHelp after printing
// the usage for -h.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("badlink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts                   options
		aListen, a, bListen, b string
		seed                   uint64
	)
	fs.StringVar(&aListen, "a-listen", "", "`host:port` of the relay's A side: endpoint A sends here and receives B's datagrams from here")
	fs.StringVar(&a, "a", "", "`host:port` of endpoint A")
	fs.StringVar(&bListen, "b-listen", "", "`host:port` of the relay's B side: endpoint B sends here and receives A's datagrams from here")
	fs.StringVar(&b, "b", "", "`host:port` of endpoint B")
	var a2, b2 string
	fs.StringVar(&a2, "a2", "", "`host:port` of a second endpoint on the A side, calling -b2 through the same\nsockets and impairments: two calls sharing one bottleneck (optional)")
	fs.StringVar(&b2, "b2", "", "`host:port` of the second call's endpoint on the B side (with -a2)")
	fs.Uint64Var(&seed, "seed", 1, "`seed` of the random decisions; the same seed and traffic give the same decisions")
	fs.IntVar(&opts.cfg.Limit, "limit", relay.DefaultLimit, "hold at most `N` datagrams per direction (delayed or queued); more are dropped and counted")
	fs.IntVar(&opts.cfg.MaxSize, "max-size", relay.DefaultMaxSize, "largest datagram carried, in `bytes`; larger ones are dropped and counted")
	fs.IntVar(&opts.cfg.RealtimePriority, "realtime-priority", 0, "read each direction on a thread of its own at this SCHED_FIFO `priority` (1..99), so\nthat the relay adds no scheduling delay of its own; 0: normal priority")
	fs.StringVar(&opts.statsJSON, "stats-json", "", "on exit, also write the counters as JSON to `path`")
	fs.DurationVar(&opts.statsEvery, "stats-every", 0, "print a line of counters at this `interval` (0: only on exit)")

	imps := impairments()
	raw := map[string]*rawValue{}
	for _, im := range imps {
		for _, prefix := range []string{"", relay.NameA2B + "-", relay.NameB2A + "-"} {
			v := &rawValue{isBool: im.isBool, arg: im.arg}
			raw[prefix+im.name] = v
			fs.Var(v, prefix+im.name, im.usage)
		}
	}
	fs.Usage = func() { usage(fs.Output(), fs, imps) }
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q; every setting is a flag (see -h)", fs.Arg(0))
	}
	opts.cfg.Seed = seed

	var err error
	if opts.listenA, opts.cfg.PeerA, opts.listenB, opts.cfg.PeerB, err = parseAddrs(aListen, a, bListen, b); err != nil {
		return options{}, err
	}
	if (a2 == "") != (b2 == "") {
		return options{}, errors.New("-a2 and -b2 go together: the second call's two endpoints")
	}
	if a2 != "" {
		if opts.cfg.PeerA2, err = resolve("-a2", a2, true); err != nil {
			return options{}, err
		}
		if opts.cfg.PeerB2, err = resolve("-b2", b2, true); err != nil {
			return options{}, err
		}
	}
	if opts.cfg.A2B, err = dirParams(relay.NameA2B, "A to B", imps, raw); err != nil {
		return options{}, err
	}
	if opts.cfg.B2A, err = dirParams(relay.NameB2A, "B to A", imps, raw); err != nil {
		return options{}, err
	}
	if opts.cfg.Limit < 1 || opts.cfg.Limit > 1<<20 {
		return options{}, fmt.Errorf("-limit %d: must be between 1 and %d datagrams", opts.cfg.Limit, 1<<20)
	}
	if opts.cfg.RealtimePriority < 0 || opts.cfg.RealtimePriority > 99 {
		return options{}, fmt.Errorf("-realtime-priority %d: must be between 0 (normal priority) and 99", opts.cfg.RealtimePriority)
	}
	if opts.cfg.MaxSize < 1 || opts.cfg.MaxSize > 65535 {
		return options{}, fmt.Errorf("-max-size %d: must be between 1 and 65535 bytes", opts.cfg.MaxSize)
	}
	if opts.statsEvery < 0 {
		return options{}, fmt.Errorf("-stats-every %v: must not be negative", opts.statsEvery)
	}
	if opts.statsJSON != "" {
		dir := filepath.Dir(opts.statsJSON)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return options{}, fmt.Errorf("-stats-json %s: directory %s does not exist", opts.statsJSON, dir)
		}
	}
	return opts, nil
}

// dirParams builds one direction's impairments: each a2b-NAME (or
// b2a-NAME) flag given wins over NAME.
func dirParams(dir, label string, imps []impairment, raw map[string]*rawValue) (impair.Params, error) {
	var p impair.Params
	for _, im := range imps {
		name := im.name
		v := raw[name]
		if o := raw[dir+"-"+name]; o.set {
			name, v = dir+"-"+name, o
		}
		if !v.set {
			continue
		}
		if err := im.apply(&p, name, v.text); err != nil {
			return impair.Params{}, err
		}
	}
	if err := p.Validate(); err != nil {
		return impair.Params{}, fmt.Errorf("%s (%s): %w", dir, label, err)
	}
	return p, nil
}

// parseAddrs resolves the four addresses and checks that they make sense
// together.
func parseAddrs(aListen, a, bListen, b string) (la, pa, lb, pb netip.AddrPort, err error) {
	var missing []string
	for _, m := range []struct{ flag, val string }{{"-a-listen", aListen}, {"-a", a}, {"-b-listen", bListen}, {"-b", b}} {
		if m.val == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return la, pa, lb, pb, fmt.Errorf("missing %s: the relay needs both endpoints' addresses and its own address on each side (see -h)",
			strings.Join(missing, ", "))
	}
	addrs := make([]netip.AddrPort, 4)
	for i, m := range []struct{ flag, val string }{{"-a-listen", aListen}, {"-a", a}, {"-b-listen", bListen}, {"-b", b}} {
		if addrs[i], err = resolve(m.flag, m.val, i%2 == 1); err != nil {
			return la, pa, lb, pb, err
		}
	}
	la, pa, lb, pb = addrs[0], addrs[1], addrs[2], addrs[3]
	if la == lb && la.Port() != 0 {
		return la, pa, lb, pb, fmt.Errorf("-a-listen and -b-listen are both %v: the relay needs a socket per side", la)
	}
	if pa == pb {
		return la, pa, lb, pb, fmt.Errorf("-a and -b are both %v: give the two endpoints' addresses", pa)
	}
	for _, l := range []struct {
		flag string
		ap   netip.AddrPort
	}{{"-a-listen", la}, {"-b-listen", lb}} {
		for _, p := range []struct {
			flag string
			ap   netip.AddrPort
		}{{"-a", pa}, {"-b", pb}} {
			if l.ap == p.ap {
				return la, pa, lb, pb, fmt.Errorf("%s and %s are both %v: the relay would send to itself", l.flag, p.flag, l.ap)
			}
		}
	}
	for _, s := range []struct {
		lflag, pflag string
		l, p         netip.AddrPort
	}{{"-a-listen", "-a", la, pa}, {"-b-listen", "-b", lb, pb}} {
		if !s.l.Addr().IsUnspecified() && s.l.Addr().Is4() != s.p.Addr().Is4() {
			return la, pa, lb, pb, fmt.Errorf("%s %v and %s %v are of different IP families; the relay sends to %s from %s",
				s.lflag, s.l, s.pflag, s.p, s.pflag, s.lflag)
		}
	}
	return la, pa, lb, pb, nil
}

// resolve turns host:port into an address; a peer must be a specific
// host and port.
func resolve(flag, s string, peer bool) (netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%s %s: %w (want host:port, e.g. 127.0.0.1:7001)", flag, s, err)
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if peer && (ap.Addr().IsUnspecified() || !ap.Addr().IsValid() || ap.Port() == 0) {
		return netip.AddrPort{}, fmt.Errorf("%s %s: must be a specific host and port, where the endpoint listens", flag, s)
	}
	return ap, nil
}

// usage prints the help: general flags in the flag package's format, then
// the impairments once with the override scheme explained.
func usage(w io.Writer, fs *flag.FlagSet, imps []impairment) {
	fmt.Fprint(w, `Usage: badlink -a-listen ADDR -a ADDR -b-listen ADDR -b ADDR [impairments] [options]

Command badlink relays UDP datagrams both ways between two endpoints, A and B,
and makes the link between them bad on purpose.

Point endpoint A at -a-listen and endpoint B at -b-listen. What A sends to
-a-listen leaves -b-listen towards B; what B sends to -b-listen leaves
-a-listen towards A. So each endpoint sees its peer's datagrams come from the
address it was configured with. Datagrams from any other source are counted
and dropped.

Example: two local vstreamd daemons, 5% loss in bursts of 4, 30ms +/- 10ms:

  badlink -a-listen 127.0.0.1:7001 -a 127.0.0.1:5601 \
          -b-listen 127.0.0.1:7002 -b 127.0.0.1:5602 \
          -loss 0.05 -burst 4 -delay 30ms -jitter 10ms -reorder

Addresses (required):
`)
	general := map[string]bool{}
	for _, name := range []string{"a-listen", "a", "b-listen", "b"} {
		printFlag(w, fs.Lookup(name))
		general[name] = true
	}
	fmt.Fprint(w, `
Impairments apply to both directions. Prefix a2b- or b2a- to set one for a
single direction; that wins over the plain flag. For example
"-loss 0.05 -b2a-loss 0" loses 5% from A to B and nothing from B to A.
Each datagram goes through: loss, duplication, rate cap, delay and jitter.
`)
	for _, im := range imps {
		printFlag(w, fs.Lookup(im.name))
		general[im.name] = true
		general[relay.NameA2B+"-"+im.name] = true
		general[relay.NameB2A+"-"+im.name] = true
	}
	fmt.Fprint(w, "\nOptions:\n")
	fs.VisitAll(func(f *flag.Flag) {
		if !general[f.Name] {
			printFlag(w, f)
		}
	})
	fmt.Fprint(w, `
Timing: a datagram never leaves before its time. Delayed ones may leave up to
about 1 ms late (the resolution of Go's timers); with no delay and no rate cap
the relay adds some tens of microseconds.

The random decisions (loss, burst state, duplication, jitter) come from a
generator seeded per direction and drawn in datagram order, so the same seed
and the same traffic give the same decisions. Drops at the rate cap depend on
arrival times as well.

On SIGINT or SIGTERM badlink stops and prints, for each direction: datagrams
and bytes in; lost; duplicated; dropped at the rate cap's queue (queue drops);
dropped because the relay already held -limit datagrams (limit drops); too
big; delayed; reordered; out; and datagrams the kernel dropped before the relay
could read them (kernel drops, not part of "in"). -stats-json writes the same
as JSON: {"elapsed_s": ..., "seed": ..., "a2b": {"params": {...}, "in": ...,
"lost": ..., "out": ..., ...}, "b2a": {...}}.
`)
}

// printFlag prints one flag the way flag.PrintDefaults does.
func printFlag(w io.Writer, f *flag.Flag) {
	arg, text := flag.UnquoteUsage(f)
	if v, ok := f.Value.(*rawValue); ok {
		arg = v.arg
	}
	line := "  -" + f.Name
	if arg != "" {
		line += " " + arg
	}
	text = strings.ReplaceAll(text, "\n", "\n    \t")
	if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" {
		text += fmt.Sprintf(" (default %v)", f.DefValue)
	}
	fmt.Fprintf(w, "%s\n    \t%s\n", line, text)
}
