package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/testutil"
	"github.com/vstreamd/vstreamd/packetizer"
)

// relay forwards datagrams between A and B (each has it as its peer) and
// records what A sends, for replaying.
type relay struct {
	a, b     *net.UDPConn
	toA, toB netip.AddrPort
	mu       sync.Mutex
	recorded [][]byte
	wg       sync.WaitGroup
}

func newRelay(t *testing.T, toA, toB int) *relay {
	l := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadBuffer(4 << 20)
		return c
	}
	r := &relay{a: l(), b: l(),
		toA: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(toA)),
		toB: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(toB))}
	r.wg.Go(func() { r.pump(r.a, r.b, r.toB, true) })
	r.wg.Go(func() { r.pump(r.b, r.a, r.toA, false) })
	t.Cleanup(func() { r.a.Close(); r.b.Close(); r.wg.Wait() })
	return r
}

func (r *relay) pump(in, out *net.UDPConn, to netip.AddrPort, record bool) {
	buf := make([]byte, 70000)
	for {
		n, _, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if record {
			r.mu.Lock()
			if len(r.recorded) < 5000 {
				r.recorded = append(r.recorded, append([]byte(nil), buf[:n]...))
			}
			r.mu.Unlock()
		}
		_, _ = out.WriteToUDPAddrPort(buf[:n], to)
	}
}

func port(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

// procStatus reads a kB field of /proc/PID/status: VmHWM is the peak
// resident set, RssAnon the part that is the process's own (not pages of
// shared libraries).
func procStatus(t *testing.T, pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the daemon's memory: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestFlood: while two daemons stream (encrypted, through a recording
// relay), another process sends 200,000 garbage, forged and replayed
// datagrams to one of them. The call keeps at least 95% of its clean
// delivery ratio, the daemon's memory does not grow, nothing crashes.
func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	// The relay needs the daemons' ports before they start, and they its.
	dir := t.TempDir()
	pa, pb := freeUDPPort(t), freeUDPPort(t)
	rl := newRelay(t, pa, pb)
	cfgA, sockA := writeConfig(t, dir, "a", pa, port(rl.a), 80)
	cfgB, sockB := writeConfig(t, dir, "b", pb, port(rl.b), 80)
	a := startProc(t, "A", cfgA, sockA)
	b := startProc(t, "B", cfgB, sockB)

	// window measures B's delivery over d: frames delivered of the frames
	// that got an outcome, both from B's counters, so the ratio does not
	// depend on when each status query ran (each starts a process, slow
	// on a loaded machine).
	window := func(d time.Duration) (accounted, delivered float64) {
		outcomes := func(s map[string]any) (acc, del float64) {
			for _, k := range []string{"frames_delivered", "frames_late", "frames_incomplete", "frames_lost", "frames_corrupt"} {
				acc += num(s, "rx", k)
			}
			return acc, num(s, "rx", "frames_delivered")
		}
		sb0, err1 := b.status(t)
		time.Sleep(d)
		sb1, err2 := b.status(t)
		for _, err := range []error{err1, err2} {
			if err != nil {
				t.Fatalf("status: %v", err)
			}
		}
		acc0, del0 := outcomes(sb0)
		acc1, del1 := outcomes(sb1)
		return acc1 - acc0, del1 - del0
	}
	testutil.WaitFor(t, "B streaming", 20*time.Second, func() bool {
		s, err := b.status(t)
		return err == nil && num(s, "rx", "frames_delivered") > 30
	})
	cleanSent, cleanGot := window(4 * time.Second)
	clean := cleanGot / cleanSent
	hwmBefore := procStatus(t, b.cmd.Process.Pid, "VmHWM")

	// The flooder: this test binary again, as another process.
	rl.mu.Lock()
	var rec []byte
	for _, d := range rl.recorded {
		rec = binary.BigEndian.AppendUint16(rec, uint16(len(d)))
		rec = append(rec, d...)
	}
	rl.mu.Unlock()
	recFile := filepath.Join(dir, "recorded")
	if err := os.WriteFile(recFile, rec, 0o600); err != nil {
		t.Fatal(err)
	}
	sb, _ := b.status(t)
	flood := exec.Command(os.Args[0], "-test.run=^TestFloodProcess$")
	flood.Env = append(os.Environ(), "VSTREAMD_FLOOD_TARGET="+strconv.Itoa(pb), "VSTREAMD_FLOOD_REPLAY="+recFile,
		"VSTREAMD_FLOOD_SESSION="+str(sb, "peer_session"), "VSTREAMD_FLOOD_COUNT=200000")
	out := make(chan []byte, 1)
	go func() { o, _ := flood.CombinedOutput(); out <- o }()
	floodSent, floodGot := window(5 * time.Second)
	o := <-out
	if !strings.Contains(string(o), "flooded 200000") {
		t.Fatalf("the flooder did not finish: %s", o)
	}
	during := floodGot / floodSent
	sb, err := b.status(t)
	if err != nil {
		t.Fatalf("B after the flood: %v", err)
	}
	hwm, anon := procStatus(t, b.cmd.Process.Pid, "VmHWM"), procStatus(t, b.cmd.Process.Pid, "RssAnon")
	t.Logf("clean: %v of %v frames (%.3f); under flood: %v of %v (%.3f); B refused %v datagrams %v; B peak RSS %d kB before the flood, %d kB after, %d kB of it its own; flooder: %s",
		cleanGot, cleanSent, clean, floodGot, floodSent, during, num(sb, "rx", "packets_invalid"), sb["rx"].(map[string]any)["invalid"], hwmBefore, hwm, anon, strings.TrimSpace(string(o)))
	if during < 0.95*clean {
		t.Errorf("delivery under flood %.3f < 95%% of clean %.3f", during, clean)
	}
	// The bound: the flood may not grow the daemon. (About 70 MB of its
	// resident set are OpenCV's shared libraries; its own memory is the
	// anonymous part.)
	if hwm-hwmBefore > 8<<10 || anon > 100<<10 {
		t.Errorf("B peak RSS grew from %d to %d kB under the flood (own memory %d kB); want under 8 MB of growth and 100 MB own", hwmBefore, hwm, anon)
	}
	if num(sb, "rx", "frames_corrupt") != 0 || str(sb, "state") != "streaming" || num(sb, "peer_moves") != 0 {
		t.Errorf("after the flood: corrupt %v, state %q, peer moves %v", num(sb, "rx", "frames_corrupt"), str(sb, "state"), num(sb, "peer_moves"))
	}
	a.stopWithin(t, time.Second)
	b.stopWithin(t, time.Second)
}

// TestFloodProcess is the flooder TestFlood starts as a separate process;
// run directly it does nothing. It sends only to 127.0.0.1.
func TestFloodProcess(t *testing.T) {
	target := os.Getenv("VSTREAMD_FLOOD_TARGET")
	if target == "" {
		t.Skip("helper process for TestFlood")
	}
	p, _ := strconv.Atoi(target)
	count, _ := strconv.Atoi(os.Getenv("VSTREAMD_FLOOD_COUNT"))
	session, _ := strconv.ParseUint(os.Getenv("VSTREAMD_FLOOD_SESSION"), 16, 64)
	raw, _ := os.ReadFile(os.Getenv("VSTREAMD_FLOOD_REPLAY"))
	var replays [][]byte
	for len(raw) >= 2 {
		n := int(binary.BigEndian.Uint16(raw))
		replays = append(replays, raw[2:2+n])
		raw = raw[2+n:]
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p))
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1500)
	kinds := [3]int{}
	start := time.Now()
	for i := range count {
		var d []byte
		switch i % 3 {
		case 0: // garbage
			d = buf[:1+rng.IntN(1400)]
			for j := range d {
				d[j] = byte(rng.Uint32())
			}
		case 1: // forged: a well-formed sealed header of the real peer session
			kinds := [...]packetizer.Kind{packetizer.KindData, packetizer.KindParity, packetizer.KindHello, packetizer.KindReport,
				packetizer.KindNack, packetizer.KindBye, packetizer.KindHandshakeInit, packetizer.KindHandshakeResp}
			h := packetizer.Header{Kind: kinds[rng.IntN(len(kinds))], Session: session, Packet: rng.Uint64() >> 1, Sealed: true, KeyPhase: rng.IntN(2) == 0}
			if rng.IntN(2) == 0 {
				h.Session = rng.Uint64() // or any other session
			}
			d = h.AppendTo(buf[:0])
			d = d[:len(d)+16+rng.IntN(1100)]
		case 2: // replayed
			if len(replays) == 0 {
				continue
			}
			d = replays[rng.IntN(len(replays))]
		}
		kinds[i%3]++
		_, _ = c.WriteToUDPAddrPort(d, dst)
		if i%64 == 63 {
			time.Sleep(time.Millisecond / 2) // about 40,000 a second
		}
	}
	fmt.Printf("flooded %d datagrams (garbage %d, forged %d, replayed %d from %d recorded) in %v\n",
		count, kinds[0], kinds[1], kinds[2], len(replays), time.Since(start).Round(time.Millisecond))
}
