package main

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
)

func TestWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s, e snap
	s.at, e.at = t0, t0.Add(2*time.Second)
	// A sends 60 frames of 10 data + 3 parity datagrams, 1000-byte shards.
	s.a.TX = daemon.TXStatus{Frames: 100, Packets: 1300, ParityPackets: 300, Bytes: 1300 * 1056}
	e.a.TX = daemon.TXStatus{Frames: 160, Packets: 2080, ParityPackets: 480, Bytes: 2080 * 1056}
	s.b.RX = daemon.RXStatus{FrameCounts: daemon.FrameCounts{FramesDelivered: 90, FramesLate: 5}}
	e.b.RX = daemon.RXStatus{FrameCounts: daemon.FrameCounts{FramesDelivered: 147, FramesRecovered: 20, FramesLate: 7, FramesIncomplete: 1}}
	s.cpuA, e.cpuA = 10*time.Second, 10600*time.Millisecond // 0.6 s in 2 s
	s.waitB, e.waitB = time.Second, 1200*time.Millisecond
	e.memA = memory{peak: 80 << 20, anon: 30 << 20}

	// B's latency: 30 slow frames before the window, 56 at 1 ms and one
	// at 4 ms in it.
	slow := slices.Repeat([]time.Duration{20 * time.Millisecond}, 30)
	s.b.RX.TransportMs = daemon.Percentiles{P99: 20, Histogram: daemon.NewHistogram(slow...)}
	s.b.RX.LatencyMs = daemon.Percentiles{P99: 30, Histogram: daemon.NewHistogram(slow...)}
	in := append(append(slow, slices.Repeat([]time.Duration{time.Millisecond}, 56)...), 4*time.Millisecond)
	e.b.RX.TransportMs = daemon.Percentiles{P99: 20, Histogram: daemon.NewHistogram(in...)}
	e.b.RX.LatencyMs = daemon.Percentiles{P99: 30, Histogram: daemon.NewHistogram(in...)}

	r, err := window(s, e)
	if err != nil {
		t.Fatal(err)
	}
	if r.LatencyOver != "window" || r.Transport.Samples != 57 || r.Transport.P50 < 1 || r.Transport.P50 > 1.01 || r.Transport.P99 < 4 || r.Transport.P99 > 4.04 {
		t.Errorf("transport latency %+v over %q, want the window's 57 frames: p50 1 ms, p99 4 ms", r.Transport, r.LatencyOver)
	}
	if r.WarmupTransport.Samples != 30 || r.WarmupTransport.P50 < 20 || r.WarmupTransport.P50 > 20.2 {
		t.Errorf("warm-up transport latency %+v, want the 30 frames at 20 ms before the window", r.WarmupTransport)
	}
	if r.Capture.Samples != 57 {
		t.Errorf("capture latency %+v, want the window's 57 frames", r.Capture)
	}
	if r.Sent != 60 || r.Delivered != 57 || r.Recovered != 20 || r.Late != 2 || r.Incomplete != 1 {
		t.Errorf("sent %d delivered %d recovered %d late %d incomplete %d, want 60 57 20 2 1",
			r.Sent, r.Delivered, r.Recovered, r.Late, r.Incomplete)
	}
	if r.Unaccounted != 0 {
		t.Errorf("unaccounted = %d, want 0", r.Unaccounted)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"delivered ratio", r.DeliveredRatio, 0.95},
		{"mean frame bytes", r.MeanFrameBytes, 10000},
		{"goodput", r.GoodputBps, 57 * 10000 * 8 / 2},
		{"wire", r.WireBps, 780 * 1056 * 8 / 2},
		{"CPU A", r.CPUA, 30},
		{"run-queue wait B", r.WaitB, 100},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r.RSSA != 80<<20 || r.AnonA != 30<<20 {
		t.Errorf("memory A = %d, %d; want %d, %d", r.RSSA, r.AnonA, 80<<20, 30<<20)
	}
}

func TestWindowWithoutHistograms(t *testing.T) {
	var s, e snap
	e.at = s.at.Add(time.Second)
	e.b.RX.TransportMs = daemon.Percentiles{P50: 1, P95: 2, P99: 3, Samples: 1024}
	r, err := window(s, e)
	if err != nil {
		t.Fatal(err)
	}
	if r.LatencyOver != "last 1024 frames" || r.Transport.P99 != 3 {
		t.Errorf("latency %+v over %q, want the end's own percentiles, said to be its last 1024 frames", r.Transport, r.LatencyOver)
	}
	if odd := oddities([]result{r}); len(odd) != 1 || !strings.Contains(odd[0], "not the window") {
		t.Errorf("oddities = %q, want a note that the latency is not the window's", odd)
	}
	e.b.RX.TransportMs.Histogram = &daemon.Histogram{Counts: [][2]int64{{-1, 1}}}
	e.b.RX.LatencyMs.Histogram = daemon.NewHistogram(time.Millisecond)
	if _, err := window(s, e); err == nil {
		t.Error("window accepted a malformed histogram")
	}
}

func TestFinishUsesTheRelaysLoss(t *testing.T) {
	r := result{MeanFrameBytes: 100_000, relay: relayDir{In: 10_000, Lost: 500}}
	r.finish(condition{Loss: lossModel{Loss: 0.2}}, 0.25, settings{MaxDatagram: 1200})
	if r.MDSLoss != 0.05 || r.MDSBound == nil || *r.MDSBound < 0.999 {
		t.Errorf("bound at loss %v = %v, want the bound at 0.05 (above 0.999)", r.MDSLoss, r.MDSBound)
	}
	r = result{MeanFrameBytes: 100_000}
	r.finish(condition{Cap: true, NoBound: true}, 0.25, settings{MaxDatagram: 1200})
	if r.MDSBound != nil {
		t.Errorf("rate cap: bound %v, want none", *r.MDSBound)
	}
}

func TestSelectConditions(t *testing.T) {
	cs, err := selectConditions("cap, clean,loss5")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if want := []string{"clean", "loss5", "cap"}; !slices.Equal(names, want) {
		t.Errorf("selectConditions = %v, want %v (canonical order)", names, want)
	}
	if _, err := selectConditions("clean,nosuch"); err == nil {
		t.Error("selectConditions accepted an unknown name")
	}
	all, _ := selectConditions("all")
	for _, c := range all {
		if c.Extra {
			t.Errorf("all includes the extra condition %s", c.Name)
		}
	}
	if len(all) != 9 {
		t.Errorf("all: %d conditions, want the issue's 9", len(all))
	}
	adapt, _ := selectConditions("adapt")
	var adaptNames []string
	for _, c := range adapt {
		adaptNames = append(adaptNames, c.Name)
	}
	if want := []string{"clean", "bn10", "bn5", "fat100", "bn10lossy", "loss15", "shared20", "step"}; !slices.Equal(adaptNames, want) {
		t.Errorf("adapt: %v, want %v", adaptNames, want)
	}
}

func TestParitiesFor(t *testing.T) {
	base := []float64{0.25, 0}
	for _, c := range conditions() {
		got := paritiesFor(c, base)
		want := []float64{0.25, 0}
		if c.Name == "loss10" {
			want = []float64{0.5, 0.25, 0}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: parities %v, want %v", c.Name, got, want)
		}
	}
}

func TestParseTopology(t *testing.T) {
	out := []byte("NS_A=x-a\nNS_B=x-b\nNS_RELAY=x-r\nADDR_A=10.77.1.1\nADDR_B=10.77.2.1\n" +
		"RELAY_A=10.77.1.2\nRELAY_B=10.77.2.2\nDAEMON_PORT=5600\nRELAY_PORT_A=7001\nRELAY_PORT_B=7002\n")
	n, err := parseTopology(out)
	if err != nil {
		t.Fatal(err)
	}
	if n.nsA != "x-a" || n.nsRelay != "x-r" || n.addrB.String() != "10.77.2.1" || n.relayA.String() != "10.77.1.2" ||
		n.portA != 5600 || n.portB != 5600 || n.relayPortB != 7002 {
		t.Errorf("parseTopology = %+v", n)
	}
	if _, err := parseTopology([]byte("NS_A=x-a\n")); err == nil {
		t.Error("parseTopology accepted an incomplete topology")
	}
}
