package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/vstreamd/vstreamd/scripts/procstat"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/session"
	"github.com/vstreamd/vstreamd/packetizer"
)

// settings are what every run shares.
type settings struct {
	Width, Height, FPS, Quality int
	Codec                       string  // [capture] codec: "h264" or "jpeg"
	BitrateMbps                 float64 // [capture] bitrate_mbps (H.264)
	MaxDatagram                 int     // [transport] max_datagram
	MaxDelayMs                  int     // [transport] max_delay_ms
	MaxRateMbps                 float64 // [transport] max_rate_mbps: pacing, 0 off
	Warmup                      time.Duration
	Duration                    time.Duration // the measured window
	Seed                        uint64        // the relay's seed
	// OneWay makes B receive only and A send only, instead of a two-way
	// call: half the encoding and decoding work on the machine.
	OneWay bool
	// Plain turns encryption off; by default the daemons encrypt, as
	// deployed, with a key the harness makes for each run.
	Plain bool
	// Fixed turns the adaptation off ([transport] adaptive = false): the
	// stream keeps the configured size, quality and parity.
	Fixed bool
	// Realtime is the daemons' [transport] realtime_priority (1, their
	// default, is not written, so that older binaries still run), and
	// RelayRealtime the relay's -realtime-priority: the relay stands for
	// the network, which adds no scheduling delay of its own.
	Realtime, RelayRealtime int
}

// shardPayload is the most a datagram carries of a shard: max_datagram
// less the header, and less the AEAD tag when encrypting.
func (s settings) shardPayload() int {
	n := s.MaxDatagram - packetizer.HeaderLen
	if !s.Plain {
		n -= session.Overhead
	}
	return n
}

// network says where the two daemons and the relay run. The zero
// namespace names mean the current namespace; zero ports mean free
// loopback ports picked for each run.
type network struct {
	nsA, nsB, nsRelay            string
	addrA, addrB, relayA, relayB netip.Addr
	portA, portB                 uint16 // the daemons' ports
	relayPortA, relayPortB       uint16 // the relay's A and B sides
}

func loopbackNetwork() network {
	lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	return network{addrA: lo, addrB: lo, relayA: lo, relayB: lo}
}

// withPorts returns n with any zero port replaced by a free loopback port.
func (n network) withPorts() (network, error) {
	ports := []*uint16{&n.portA, &n.portB, &n.relayPortA, &n.relayPortB}
	var held []*net.UDPConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for _, p := range ports {
		if *p != 0 {
			continue
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return n, fmt.Errorf("finding a free UDP port on loopback: %w", err)
		}
		held = append(held, c)
		*p = uint16(c.LocalAddr().(*net.UDPAddr).Port)
	}
	return n, nil
}

// binaries are the programs under test.
type binaries struct{ vstreamd, badlink string }

// harness runs one condition at a time: a relay and two daemons, fresh for
// every run. It is not safe for concurrent use.
type harness struct {
	bins binaries
	set  settings
	net  network
	dir  string // work directory; each run gets a subdirectory
	runs int
	// timelineDir is where timelines go; "" puts each in its run's
	// directory.
	timelineDir string
}

// run measures one condition at one parity; relayFlags are the relay's
// impairment flags.
func (h *harness) run(ctx context.Context, cond condition, parity float64, relayFlags []string) (result, error) {
	h.runs++
	dir := filepath.Join(h.dir, fmt.Sprintf("%02d-%s-p%g", h.runs, cond.Name, parity))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	nw, err := h.net.withPorts()
	if err != nil {
		return result{}, err
	}
	source, sink := "pattern", "null"
	if h.set.OneWay {
		sink = "none"
	}
	cfgA, sockA, err := h.writeConfig(dir, "a", netip.AddrPortFrom(nw.addrA, nw.portA), netip.AddrPortFrom(nw.relayA, nw.relayPortA), parity, source, sink)
	if err != nil {
		return result{}, err
	}
	if h.set.OneWay {
		source, sink = "none", "null"
	}
	cfgB, sockB, err := h.writeConfig(dir, "b", netip.AddrPortFrom(nw.addrB, nw.portB), netip.AddrPortFrom(nw.relayB, nw.relayPortB), parity, source, sink)
	if err != nil {
		return result{}, err
	}
	relayJSON := filepath.Join(dir, "relay.json")
	relayArgs := append([]string{
		"-a-listen", netip.AddrPortFrom(nw.relayA, nw.relayPortA).String(),
		"-a", netip.AddrPortFrom(nw.addrA, nw.portA).String(),
		"-b-listen", netip.AddrPortFrom(nw.relayB, nw.relayPortB).String(),
		"-b", netip.AddrPortFrom(nw.addrB, nw.portB).String(),
		"-seed", strconv.FormatUint(h.set.Seed, 10),
		"-stats-json", relayJSON,
		"-realtime-priority", strconv.Itoa(h.set.RelayRealtime),
	}, relayFlags...)

	relayStart := time.Now()
	relay, err := startProcess("badlink", nw.nsRelay, h.bins.badlink, relayArgs, filepath.Join(dir, "relay.log"))
	if err != nil {
		return result{}, err
	}
	a, errA := startProcess("daemon A", nw.nsA, h.bins.vstreamd, []string{"run", "-config", cfgA}, filepath.Join(dir, "a.log"))
	b, errB := startProcess("daemon B", nw.nsB, h.bins.vstreamd, []string{"run", "-config", cfgB}, filepath.Join(dir, "b.log"))
	if err := errors.Join(errA, errB); err != nil {
		return result{}, errors.Join(err, stopAll(2*time.Second, a, b, relay))
	}
	pair := &pair{a: a, b: b, relay: relay, sockA: sockA, sockB: sockB, portB: nw.portB, oneWay: h.set.OneWay}

	res, pts, err := h.measure(ctx, pair, cond, relayStart)
	stopErr := stopAll(3*time.Second, a, b, relay)
	if err != nil {
		return result{}, errors.Join(err, stopErr)
	}
	if stopErr != nil {
		return result{}, stopErr
	}
	if res.relay, err = readRelayStats(relayJSON); err != nil {
		return result{}, err
	}
	res.Name, res.Condition, res.Parity = cond.Name, cond.Label, parity
	res.finish(cond, parity, h.set)
	if pts != nil {
		dir := cmp.Or(h.timelineDir, dir)
		base := filepath.Join(dir, fmt.Sprintf("timeline-%s", cond.Name))
		if h.set.OneWay {
			base += "-one-way"
		}
		if err := writeTimeline(pts, cond.Label, base); err != nil {
			return result{}, fmt.Errorf("timeline: %w", err)
		}
		res.Timeline = base + ".png"
		res.StepNotes = stepNotes(pts, cond.Sched)
	}
	return res, nil
}

// pair is one run's processes.
type pair struct {
	a, b, relay  *process
	sockA, sockB string
	portB        uint16
	oneWay       bool // B sends nothing
}

// measure waits for both daemons to stream, warms up, and measures the
// window between two snapshots. For a condition with a timeline it also
// samples both daemons once a second from the start of the stream to the
// end of the window.
func (h *harness) measure(ctx context.Context, p *pair, cond condition, relayStart time.Time) (result, []point, error) {
	if err := p.waitStreaming(ctx, 15*time.Second); err != nil {
		return result{}, nil, err
	}
	var pts []point
	tctx, stopTimeline := context.WithCancel(ctx)
	done := make(chan struct{})
	if cond.Timeline {
		go func() { pts = timeline(tctx, p, cond.Sched, relayStart); close(done) }()
	} else {
		close(done)
	}
	defer func() { stopTimeline(); <-done }()
	if err := sleep(ctx, h.set.Warmup); err != nil {
		return result{}, nil, err
	}
	start, err := p.snapshot(ctx, false)
	if err != nil {
		return result{}, nil, p.explain(err)
	}
	if err := sleep(ctx, cmp.Or(cond.Window, h.set.Duration)); err != nil {
		return result{}, nil, err
	}
	end, err := p.snapshot(ctx, true)
	if err != nil {
		return result{}, nil, p.explain(err)
	}
	stopTimeline()
	<-done
	r, err := window(start, end)
	return r, pts, err
}

// explain returns err, or, if a process has died, why: a failed snapshot
// is usually the consequence.
func (p *pair) explain(err error) error {
	for _, proc := range []*process{p.a, p.b, p.relay} {
		select {
		case <-proc.done:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		why := "exit status 0: something sent it SIGTERM or SIGINT"
		if proc.waitErr != nil {
			why = proc.waitErr.Error()
		}
		return fmt.Errorf("%s (pid %d) exited during the run (%s); its log ends:\n%s", proc.name, proc.pid(), why, proc.logTail(20))
	}
	return err
}

// waitStreaming polls both daemons until each says it is streaming and has
// sent a frame (B only in a two-way call).
func (p *pair) waitStreaming(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		for _, proc := range []*process{p.a, p.b, p.relay} {
			if proc.exited() {
				return fmt.Errorf("%s exited while starting: %v\n%s", proc.name, proc.waitErr, proc.logTail(20))
			}
		}
		sa, errA := queryStatus(ctx, p.sockA, 5*time.Second)
		sb, errB := queryStatus(ctx, p.sockB, 5*time.Second)
		if errA == nil && errB == nil && sa.State == "streaming" && sb.State == "streaming" && sa.TX.Frames > 0 && (sb.TX.Frames > 0 || p.oneWay) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemons did not both stream within %v (A: %s %v, B: %s %v)\nA:\n%s\nB:\n%s",
				limit, sa.State, errA, sb.State, errB, p.a.logTail(10), p.b.logTail(10))
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// snap is the state of a run at one moment.
type snap struct {
	at         time.Time
	a, b       daemon.Status
	cpuA, cpuB time.Duration
	cpuRelay   time.Duration
	waitA      time.Duration // run-queue wait
	waitB      time.Duration
	dropsB     uint64 // kernel drops at B's socket
	memA, memB memory // only at the end
}

// snapshot reads both daemons' counters, asking both at once so that
// their windows line up to well under a frame interval.
func (p *pair) snapshot(ctx context.Context, end bool) (snap, error) {
	s := snap{at: time.Now()}
	var errs [10]error
	s.cpuA, errs[0] = procstat.CPU(p.a.pid())
	s.cpuB, errs[1] = procstat.CPU(p.b.pid())
	s.cpuRelay, errs[7] = procstat.CPU(p.relay.pid())
	s.waitA, errs[8] = runqueueWait(p.a.pid())
	s.waitB, errs[9] = runqueueWait(p.b.pid())
	var wg sync.WaitGroup
	wg.Go(func() { s.a, errs[2] = queryStatus(ctx, p.sockA, 5*time.Second) })
	s.b, errs[3] = queryStatus(ctx, p.sockB, 5*time.Second)
	wg.Wait()
	s.dropsB, errs[4] = udpDrops(p.b.pid(), p.portB)
	if end {
		s.memA, errs[5] = readMemory(p.a.pid())
		s.memB, errs[6] = readMemory(p.b.pid())
	}
	return s, errors.Join(errs[:]...)
}

// relayDir is the part of badlink's -stats-json the benchmark reads, for
// one direction.
type relayDir struct {
	In          uint64 `json:"in"`
	Lost        uint64 `json:"lost"`
	QueueDrops  uint64 `json:"queue_drops"`
	LimitDrops  uint64 `json:"limit_drops"`
	TooBig      uint64 `json:"too_big"`
	KernelDrops uint64 `json:"kernel_drops"`
}

// dropRatio is the share of datagrams that did not make it through the
// relay, for whatever reason, counting the ones the kernel dropped before
// the relay read them.
func (d relayDir) dropRatio() float64 {
	total := d.In + d.KernelDrops
	if total == 0 {
		return 0
	}
	return float64(d.Lost+d.QueueDrops+d.LimitDrops+d.TooBig+d.KernelDrops) / float64(total)
}

func readRelayStats(path string) (relayDir, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return relayDir{}, fmt.Errorf("reading the relay's counters: %w", err)
	}
	var s struct {
		A2B relayDir `json:"a2b"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return relayDir{}, fmt.Errorf("%s: %w", path, err)
	}
	return s.A2B, nil
}

// writeConfig writes one daemon's config and returns its path and control
// socket.
func (h *harness) writeConfig(dir, name string, listen, peer netip.AddrPort, parity float64, source, sink string) (cfg, sock string, err error) {
	cfg = filepath.Join(dir, name+".toml")
	sock = filepath.Join(dir, name+".sock")
	body := fmt.Sprintf(`# written by scripts/bench
listen = %q
peer = %q

[capture]
source = %q
width = %d
height = %d
fps = %d
quality = %d
codec = %q
bitrate_mbps = %g

[display]
sink = %q

[transport]
max_datagram = %d
max_delay_ms = %d
parity = %g
max_rate_mbps = %g
adaptive = %v
%s
[control]
socket = %q

[security]
%s
`, listen, peer, source, h.set.Width, h.set.Height, h.set.FPS, h.set.Quality, cmp.Or(h.set.Codec, "h264"), cmp.Or(h.set.BitrateMbps, 3), sink, h.set.MaxDatagram, h.set.MaxDelayMs, parity, h.set.MaxRateMbps, !h.set.Fixed, h.realtime(), sock, h.security(dir))
	return cfg, sock, os.WriteFile(cfg, []byte(body), 0o600)
}

// realtime is the [transport] realtime_priority line, empty for the
// daemon's default.
func (h *harness) realtime() string {
	if h.set.Realtime == 1 {
		return ""
	}
	return fmt.Sprintf("realtime_priority = %d\n", h.set.Realtime)
}

// security is the [security] table: encryption off, or on with a key file
// shared by both daemons of the run, made on first use.
func (h *harness) security(dir string) string {
	if h.set.Plain {
		return `encryption = "off"`
	}
	path := filepath.Join(dir, "psk")
	if _, err := os.Stat(path); err != nil {
		k, err := session.GenerateKey()
		if err == nil {
			err = os.WriteFile(path, []byte(k.String()+"\n"), 0o600)
		}
		if err != nil {
			return fmt.Sprintf("# cannot make a key: %v", err) // the daemons will refuse to start and say why
		}
	}
	return fmt.Sprintf("key_file = %q", path)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
