// Command srtcompare measures the CPU that vstreamd's transport and SRT
// (srt-live-transmit from Debian's srt-tools) spend on this machine to move
// the same bitrate over loopback, both encrypted with AES, one after the
// other, and prints CPU per 10 Mb/s for each and the ratio.
//
// vstreamd: two daemons in this process, A sending to B, with parity on and
// encryption on, fed by the fake source (pre-made frames of -frame bytes at
// -fps: no capture, no encoding) and shown on the fake sink (no decoding),
// so the CPU is the transport's: packetize, parity, seal, send; receive,
// open, reassemble, check. The sink's check and the source's fill are a
// CRC-32 each per frame, tens of microseconds. CPU is this process's time
// on CPU (getrusage).
//
// SRT: srt-live-transmit as a listener receiving SRT and writing UDP, and a
// caller reading UDP and sending SRT, with the passphrase set (AES-256),
// fed by this program with 1316-byte UDP datagrams at vstreamd's media
// bitrate, the output read and discarded here. CPU is the two processes'
// user and system time, from /proc/PID/stat; the feeder's is not counted.
//
// Both are reported per 10 Mb/s of media carried: vstreamd's frame bytes
// (it sends its parity on top), SRT's payload.
//
//	go run ./scripts/srtcompare -seconds 20
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/session"
)

type settings struct {
	seconds time.Duration
	warmup  time.Duration
	fps     int
	frame   int
	parity  float64
	srt     string
	profile string // CPU profile of the vstreamd window
}

func main() {
	var s settings
	flag.DurationVar(&s.seconds, "seconds", 20*time.Second, "measuring time for each")
	flag.DurationVar(&s.warmup, "warmup", 3*time.Second, "time to settle before measuring")
	flag.IntVar(&s.fps, "fps", 30, "vstreamd frames per second")
	flag.IntVar(&s.frame, "frame", 100_000, "vstreamd frame size in bytes (a 720p JPEG is about 100 KB)")
	flag.Float64Var(&s.parity, "parity", 0.25, "vstreamd parity ratio")
	flag.StringVar(&s.srt, "srt", "srt-live-transmit", "the srt-live-transmit binary")
	flag.StringVar(&s.profile, "cpuprofile", "", "write a CPU profile of the vstreamd window to this file")
	vstreamdOnly := flag.Bool("vstreamd-only", false, "measure vstreamd only, not SRT")
	flag.Parse()
	if err := run(s, !*vstreamdOnly, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "srtcompare:", err)
		os.Exit(1)
	}
}

// measurement is one side's result.
type measurement struct {
	cpu     time.Duration // on CPU over wall
	wall    time.Duration
	mediaMb float64 // media Mb/s carried
	wireMb  float64 // Mb/s on the wire (vstreamd: datagrams; SRT: payload in)
}

// perTen is the share of one core per 10 Mb/s of media, in percent.
func (m measurement) perTen() float64 {
	return 100 * m.cpu.Seconds() / m.wall.Seconds() / (m.mediaMb / 10)
}

func run(s settings, withSRT bool, out io.Writer) error {
	v, err := measureVstreamd(s)
	if err != nil {
		return fmt.Errorf("vstreamd: %w", err)
	}
	fmt.Fprintf(out, "vstreamd: %.1f Mb/s media (%.1f on the wire, parity %g), %.1f%% of a core: %.2f%% per 10 Mb/s\n",
		v.mediaMb, v.wireMb, s.parity, 100*v.cpu.Seconds()/v.wall.Seconds(), v.perTen())
	if !withSRT {
		return nil
	}
	r, err := measureSRT(s, v.mediaMb)
	if err != nil {
		return fmt.Errorf("srt: %w", err)
	}
	fmt.Fprintf(out, "srt-live-transmit: %.1f Mb/s, %.1f%% of a core: %.2f%% per 10 Mb/s\n",
		r.mediaMb, 100*r.cpu.Seconds()/r.wall.Seconds(), r.perTen())
	fmt.Fprintf(out, "vstreamd / srt: %.2f\n", v.perTen()/r.perTen())
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

func measureVstreamd(s settings) (measurement, error) {
	dir, err := os.MkdirTemp("", "srtcompare")
	if err != nil {
		return measurement{}, err
	}
	defer os.RemoveAll(dir)
	key, err := session.GenerateKey()
	if err != nil {
		return measurement{}, err
	}
	keyFile := filepath.Join(dir, "psk")
	if err := os.WriteFile(keyFile, []byte(key.String()+"\n"), 0o600); err != nil {
		return measurement{}, err
	}
	pa, err := freePort()
	if err != nil {
		return measurement{}, err
	}
	pb, err := freePort()
	if err != nil {
		return measurement{}, err
	}
	cfg := func(name string, listen, peer netip.AddrPort) *config.Config {
		c := config.Default()
		c.File = name + ".toml"
		c.Listen, c.Peer = listen, peer.String()
		c.Control.Socket = filepath.Join(dir, name+".sock")
		c.Security.Encryption, c.Security.KeyFile = true, keyFile
		c.Capture.FPS = s.fps
		c.Transport.Parity = s.parity
		c.Transport.Adaptive = false // a fixed stream: the same frames and parity throughout
		return c
	}
	log := slog.New(slog.DiscardHandler)
	a, err := daemon.New(daemon.Options{Config: cfg("a", pa, pb), Source: fake.NewSource(s.fps, 80, s.frame), Logger: log})
	if err != nil {
		return measurement{}, err
	}
	sink := fake.NewSink()
	b, err := daemon.New(daemon.Options{Config: cfg("b", pb, pa), Sink: sink, Logger: log})
	if err != nil {
		return measurement{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- a.Run(ctx) }()
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		<-done
	}()
	time.Sleep(s.warmup)
	frames0, bytes0 := frameBytes(sink)
	wire0 := a.Status().TX.Bytes
	cpu0, err := selfCPU()
	if err != nil {
		return measurement{}, err
	}
	if s.profile != "" {
		f, err := os.Create(s.profile)
		if err != nil {
			return measurement{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return measurement{}, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	time.Sleep(s.seconds)
	cpu1, err := selfCPU()
	if err != nil {
		return measurement{}, err
	}
	wall := time.Since(start)
	frames1, bytes1 := frameBytes(sink)
	wire1 := a.Status().TX.Bytes
	if frames1-frames0 < s.fps*int(s.seconds/time.Second)*9/10 {
		return measurement{}, fmt.Errorf("only %d frames arrived in %v at %d fps", frames1-frames0, wall, s.fps)
	}
	return measurement{
		cpu: cpu1 - cpu0, wall: wall,
		mediaMb: float64(bytes1-bytes0) * 8 / wall.Seconds() / 1e6,
		wireMb:  float64(wire1-wire0) * 8 / wall.Seconds() / 1e6,
	}, nil
}

// frameBytes returns how many intact frames the sink has and their bytes.
func frameBytes(sink *fake.Sink) (int, int) {
	n, total := 0, 0
	for _, f := range sink.Frames() {
		if f.Intact {
			n++
			total += f.Bytes
		}
	}
	return n, total
}

// selfCPU returns the user and system time of this process, all threads.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU returns the user and system time of process pid, all threads,
// from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStat(string(b))
}

// parseStat reads utime and stime, fields 14 and 15 of /proc/PID/stat
// (counted after the command name, which may hold spaces, in parentheses).
func parseStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("stat %q: too few fields", s)
	}
	var total int64
	for _, field := range f[11:13] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat %q: %w", s, err)
		}
		total += n
	}
	return time.Duration(total) * clockTick, nil
}

// srtPayload is the UDP payload srt-live-transmit carries per packet
// (seven 188-byte MPEG-TS packets).
const srtPayload = 1316

func measureSRT(s settings, mbps float64) (measurement, error) {
	in, err := freePort() // the caller reads UDP here
	if err != nil {
		return measurement{}, err
	}
	mid, err := freePort() // SRT between the two
	if err != nil {
		return measurement{}, err
	}
	sinkConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return measurement{}, err
	}
	defer sinkConn.Close()
	out := sinkConn.LocalAddr().(*net.UDPAddr).AddrPort()
	const pass = "srtcompare-passphrase"
	recv := exec.Command(s.srt, "-q",
		fmt.Sprintf("srt://:%d?mode=listener&passphrase=%s&pbkeylen=32", mid.Port(), pass),
		fmt.Sprintf("udp://%v", out))
	send := exec.Command(s.srt, "-q",
		fmt.Sprintf("udp://:%d", in.Port()),
		fmt.Sprintf("srt://%v?mode=caller&passphrase=%s&pbkeylen=32", mid, pass))
	for _, c := range []*exec.Cmd{recv, send} {
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			return measurement{}, err
		}
		defer func() {
			_ = c.Process.Kill()
			_ = c.Wait()
		}()
		time.Sleep(300 * time.Millisecond) // the listener first
	}
	var received atomic.Int64
	sinkDone := make(chan struct{})
	go func() { // read and discard, counting payload bytes, until closed
		defer close(sinkDone)
		buf := make([]byte, 65536)
		for {
			n, _, err := sinkConn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			received.Add(int64(n))
		}
	}()
	defer func() {
		sinkConn.Close()
		<-sinkDone
	}()
	feed, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(in))
	if err != nil {
		return measurement{}, err
	}
	defer feed.Close()
	stopFeed := make(chan struct{})
	feedDone := make(chan error, 1)
	go func() { feedDone <- feedAt(feed, mbps, stopFeed) }()
	time.Sleep(s.warmup)
	b0 := received.Load()
	c0, err := procsCPU(recv, send)
	if err != nil {
		return measurement{}, err
	}
	start := time.Now()
	time.Sleep(s.seconds)
	c1, err := procsCPU(recv, send)
	if err != nil {
		return measurement{}, err
	}
	wall := time.Since(start)
	b1 := received.Load()
	close(stopFeed)
	if err := <-feedDone; err != nil {
		return measurement{}, err
	}
	m := measurement{cpu: c1 - c0, wall: wall, mediaMb: float64(b1-b0) * 8 / wall.Seconds() / 1e6}
	m.wireMb = m.mediaMb
	if m.mediaMb < mbps*0.9 {
		fmt.Fprintf(os.Stderr, "srtcompare: SRT delivered %.1f Mb/s of %.1f fed; the machine may be busy\n", m.mediaMb, mbps)
	}
	return m, nil
}

func procsCPU(cmds ...*exec.Cmd) (time.Duration, error) {
	var total time.Duration
	for _, c := range cmds {
		t, err := procCPU(c.Process.Pid)
		if err != nil {
			return 0, err
		}
		total += t
	}
	return total, nil
}

// feedAt sends srtPayload-byte datagrams on c at mbps until stop closes,
// a millisecond's worth at a time.
func feedAt(c *net.UDPConn, mbps float64, stop <-chan struct{}) error {
	buf := make([]byte, srtPayload)
	for i := range buf {
		buf[i] = byte(i)
	}
	perSecond := mbps * 1e6 / 8 / srtPayload
	start := time.Now()
	sent := 0.0
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case now := <-t.C:
			for due := now.Sub(start).Seconds() * perSecond; sent < due; sent++ {
				if _, err := c.Write(buf); err != nil && !errors.Is(err, net.ErrClosed) {
					var ne net.Error
					if !errors.As(err, &ne) {
						return err
					}
				}
			}
		}
	}
}
