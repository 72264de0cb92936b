package main

import (
	"math"
	"slices"
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

	r := window(s, e)
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
