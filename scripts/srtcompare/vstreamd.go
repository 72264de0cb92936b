package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/scripts/procstat"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/control"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/session"
)

// Setup of the vstreamd side.
const (
	frameWidth, frameHeight = 1280, 720
	// jpegFiles is how many distinct files the sender cycles through: a
	// second of pattern at 30 fps.
	jpegFiles = 30
	// startTimeout bounds the wait for the first frame at the receiver.
	startTimeout = 20 * time.Second
	stopGrace    = 5 * time.Second
)

// vstreamdSide is what the vstreamd measurements share: the binary, the
// JPEG files and the key, in a temporary directory.
type vstreamdSide struct {
	dir     string
	bin     string
	jpegs   string
	key     string
	sizes   []int // of the JPEG files
	quality int   // they were encoded at
}

func setUp(s settings) (*vstreamdSide, error) {
	dir, err := os.MkdirTemp("", "srtcompare")
	if err != nil {
		return nil, err
	}
	v := &vstreamdSide{dir: dir, bin: s.vstreamd, jpegs: filepath.Join(dir, "jpegs"), key: filepath.Join(dir, "psk")}
	if err := v.prepare(s); err != nil {
		v.cleanUp()
		return nil, err
	}
	return v, nil
}

func (v *vstreamdSide) prepare(s settings) error {
	if v.bin == "" {
		v.bin = filepath.Join(v.dir, "vstreamd")
		build := exec.Command("go", "build", "-o", v.bin, "./cmd/vstreamd")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/vstreamd (run this from the repository's root, or give -vstreamd): %w", err)
		}
	}
	key, err := session.GenerateKey()
	if err != nil {
		return err
	}
	if err := os.WriteFile(v.key, []byte(key.String()+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Mkdir(v.jpegs, 0o755); err != nil {
		return err
	}
	files, q, err := patternJPEGs(s.frame)
	if err != nil {
		return err
	}
	v.quality = q
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(v.jpegs, fmt.Sprintf("frame-%06d.jpg", i+1)), f, 0o644); err != nil {
			return err
		}
		v.sizes = append(v.sizes, len(f))
	}
	return nil
}

func (v *vstreamdSide) cleanUp() { os.RemoveAll(v.dir) }

// patternJPEGs encodes jpegFiles frames of the synthetic pattern at the
// quality whose mean size comes closest to want bytes.
func patternJPEGs(want int) ([][]byte, int, error) {
	var best [][]byte
	bestQ, bestGap := 0, -1
	for q := 30; q <= 95; q += 5 {
		files, err := encodePattern(q)
		if err != nil {
			return nil, 0, err
		}
		total := 0
		for _, f := range files {
			total += len(f)
		}
		gap := total/len(files) - want
		if gap < 0 {
			gap = -gap
		}
		if bestGap < 0 || gap < bestGap {
			best, bestQ, bestGap = files, q, gap
		}
	}
	return best, bestQ, nil
}

func encodePattern(quality int) ([][]byte, error) {
	src, err := capture.Open(capture.Config{Kind: media.SourcePattern, Width: frameWidth, Height: frameHeight,
		FPS: capture.MaxFPS, Quality: quality}, nil)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var files [][]byte
	for range jpegFiles {
		f, err := src.Next(context.Background(), nil)
		if err != nil {
			return nil, err
		}
		files = append(files, f.Data)
	}
	return files, nil
}

// configText is a daemon's config file: send the JPEG files (source
// "jpegs:DIR", sink "none") or receive them (source "none", sink
// "discard").
func (v *vstreamdSide) configText(s settings, name string, listen, peer netip.AddrPort, send bool) string {
	source, sink := "none", "discard"
	if send {
		source, sink = "jpegs:"+v.jpegs, "none"
	}
	return fmt.Sprintf(`# srtcompare's %s: %s
listen = %q
peer = %q
[capture]
source = %q
fps = %d
[display]
sink = %q
[transport]
adaptive = false
parity = %g
[control]
socket = %q
[security]
key_file = %q
encryption = "on"
[log]
level = "warn"
`, name, map[bool]string{true: "the sender", false: "the receiver"}[send], listen.String(), peer.String(),
		source, s.fps, sink, s.parity, filepath.Join(v.dir, name+".sock"), v.key)
}

// daemonProc is one running vstreamd.
type daemonProc struct {
	name, sock, log string
	cmd             *exec.Cmd
	done            chan error
}

func (v *vstreamdSide) start(s settings, name string, listen, peer netip.AddrPort, send bool) (*daemonProc, error) {
	cfg := filepath.Join(v.dir, name+".toml")
	if err := os.WriteFile(cfg, []byte(v.configText(s, name, listen, peer, send)), 0o600); err != nil {
		return nil, err
	}
	p := &daemonProc{name: name, sock: filepath.Join(v.dir, name+".sock"), log: filepath.Join(v.dir, name+".log"), done: make(chan error, 1)}
	logFile, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(v.bin, "run", "-config", cfg)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() {
		p.done <- p.cmd.Wait()
		logFile.Close()
	}()
	return p, nil
}

// stop ends the daemon with SIGTERM, or kills it after stopGrace.
func (p *daemonProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// failed says why the daemon is not running, with the end of its log, or
// returns nil while it runs.
func (p *daemonProc) failed() error {
	select {
	case err := <-p.done:
		p.done <- err // for stop
		b, _ := os.ReadFile(p.log)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return fmt.Errorf("%s exited (%v); its log ends:\n%s", p.name, err, strings.Join(lines[max(0, len(lines)-10):], "\n"))
	default:
		return nil
	}
}

func (p *daemonProc) status() (daemon.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := control.Query(ctx, p.sock, control.Request{Command: "status"})
	if err != nil {
		return daemon.Status{}, err
	}
	var st daemon.Status
	return st, json.Unmarshal(raw, &st)
}

// sample is what one measurement reads at each end of its window.
type sample struct {
	cpuA, cpuB  time.Duration
	frames      uint64 // taken by B's sink
	media, wire uint64 // bytes: B's sink took, A sent
	packets     uint64 // datagrams A sent
	sendCalls   uint64 // A's system calls that sent them
	readCalls   uint64 // B's that read them
	onThread    int    // receive loops (of 2) waiting on their real-time threads
	switches    uint64 // times the two loops moved between thread and poller
}

func takeSample(a, b *daemonProc) (sample, error) {
	cpuA, err := procstat.CPU(a.cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	cpuB, err := procstat.CPU(b.cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	sa, err := a.status()
	if err != nil {
		return sample{}, fmt.Errorf("%s status: %w", a.name, err)
	}
	sb, err := b.status()
	if err != nil {
		return sample{}, fmt.Errorf("%s status: %w", b.name, err)
	}
	if sb.RX.Sink == nil {
		return sample{}, errors.New("the receiver's status has no sink")
	}
	smp := sample{cpuA: cpuA, cpuB: cpuB, frames: sb.RX.Sink.Shown, media: sb.RX.Sink.Bytes, wire: sa.TX.Bytes,
		packets: sa.TX.Packets, sendCalls: sa.TX.SendCalls, readCalls: sb.RX.ReadCalls,
		switches: sa.RX.Realtime.Switches + sb.RX.Realtime.Switches}
	for _, rt := range []bool{sa.RX.Realtime.OnThread, sb.RX.Realtime.OnThread} {
		if rt {
			smp.onThread++
		}
	}
	return smp, nil
}

// waits says where the two daemons' receive loops waited over a window.
func waits(s0, s1 sample) string {
	where := fmt.Sprintf("%d of 2 on their real-time threads", s1.onThread)
	switch {
	case s1.onThread == 0:
		where = "in Go's poller"
	case s1.onThread == 2:
		where = "on their real-time threads (CPU contended, reads late)"
	}
	if n := s1.switches - s0.switches; n > 0 {
		return fmt.Sprintf("receive loops moved %d times, at the end %s", n, where)
	}
	return "receive loops " + where
}

// measure runs the two daemons, waits for frames to flow and for the
// warm-up, and measures over s.seconds; with perf set, the first window is
// recorded by perf too.
func (v *vstreamdSide) measure(s settings, first bool) (measurement, error) {
	pa, err := freePort()
	if err != nil {
		return measurement{}, err
	}
	pb, err := freePort()
	if err != nil {
		return measurement{}, err
	}
	b, err := v.start(s, "b", pb, pa, false)
	if err != nil {
		return measurement{}, err
	}
	defer b.stop()
	a, err := v.start(s, "a", pa, pb, true)
	if err != nil {
		return measurement{}, err
	}
	defer a.stop()
	if err := waitForFrames(a, b); err != nil {
		return measurement{}, err
	}
	time.Sleep(s.warmup)
	s0, err := takeSample(a, b)
	if err != nil {
		return measurement{}, err
	}
	start := time.Now()
	if first && s.perf != "" {
		err = perfRecord(s.perf, s.seconds, a.cmd.Process.Pid, b.cmd.Process.Pid)
	} else {
		time.Sleep(s.seconds)
	}
	s1, serr := takeSample(a, b)
	wall := time.Since(start)
	if err := errors.Join(err, serr, a.failed(), b.failed()); err != nil {
		return measurement{}, err
	}
	if got, want := s1.frames-s0.frames, uint64(float64(s.fps)*s.seconds.Seconds()*0.9); got < want {
		return measurement{}, fmt.Errorf("only %d frames arrived in %v at %d fps (want at least %d): the machine may be too busy", got, wall, s.fps, want)
	}
	mb := func(n uint64) float64 { return float64(n) * 8 / wall.Seconds() / 1e6 }
	frames := float64(s1.frames - s0.frames)
	return measurement{
		cpu: s1.cpuA - s0.cpuA + s1.cpuB - s0.cpuB, wall: wall, mediaMb: mb(s1.media - s0.media), wireMb: mb(s1.wire - s0.wire),
		detail: fmt.Sprintf("sender %.1f%%, receiver %.1f%% of a core; per frame %.0f datagrams, %.1f send and %.1f read system calls; %s",
			100*(s1.cpuA-s0.cpuA).Seconds()/wall.Seconds(), 100*(s1.cpuB-s0.cpuB).Seconds()/wall.Seconds(),
			float64(s1.packets-s0.packets)/frames, float64(s1.sendCalls-s0.sendCalls)/frames, float64(s1.readCalls-s0.readCalls)/frames,
			waits(s0, s1)),
	}, nil
}

// waitForFrames waits until the receiver's sink has taken a frame.
func waitForFrames(a, b *daemonProc) error {
	deadline := time.Now().Add(startTimeout)
	for {
		if err := errors.Join(a.failed(), b.failed()); err != nil {
			return err
		}
		if st, err := b.status(); err == nil && st.RX.Sink != nil && st.RX.Sink.Shown > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no frame reached the receiver within %v (logs in %s)", startTimeout, filepath.Dir(a.log))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// perfRecord records the processes with perf, call graphs on, for d.
func perfRecord(out string, d time.Duration, pids ...int) error {
	ids := make([]string, len(pids))
	for i, p := range pids {
		ids[i] = strconv.Itoa(p)
	}
	cmd := exec.Command("perf", "record", "-g", "-o", out, "-p", strings.Join(ids, ","), "--", "sleep", strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("perf record: %w", err)
	}
	return nil
}

func freePort() (netip.AddrPort, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort(), nil
}
