package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// condition is one network condition the benchmark runs. The relay
// applies it to both directions; the table reports the A to B direction.
type condition struct {
	Name  string   // short name for -conditions
	Label string   // what the table says
	Relay []string // badlink impairment flags
	Loss  lossModel
	// NoBound marks conditions where the MDS bound does not apply.
	NoBound bool
	// Cap is a bandwidth cap at a fraction of the clean bitrate measured
	// at the same parity; the relay flag is added at run time.
	Cap bool
	// Parities are run in addition to the ones asked for.
	Parities []float64
	// Extra conditions help diagnose the others; they run only when
	// -conditions names them.
	Extra bool
	// Sched is the relay's rate cap over time, when it changes.
	Sched *schedule
	// Timeline samples the run once a second and draws it.
	Timeline bool
	// Window replaces -duration for this condition.
	Window time.Duration
	// Shared runs two one-way calls through the relay at once, sharing its
	// rate cap and queue; each gets a row.
	Shared bool
	// Adapt marks the conditions of the adaptation's table
	// (-conditions adapt): links narrower than the stream, capacity that
	// changes, heavy random loss.
	Adapt bool
}

// conditions returns every condition, in the order they run: clean first,
// because the bandwidth cap is set from its bitrate.
func conditions() []condition {
	return []condition{
		{Name: "clean", Label: "clean", Timeline: true},
		iidLoss(0.01, nil),
		iidLoss(0.05, nil),
		iidLoss(0.10, []float64{0.5}),
		iidLoss(0.20, nil),
		{
			Name: "burst", Label: "burst loss 2%, mean burst 4",
			Relay: []string{"-loss", "0.02", "-burst", "4"},
			Loss:  lossModel{Loss: 0.02, Burst: 4},
		},
		{
			Name: "jitter", Label: "delay 30ms +/-10ms, reorder",
			Relay: []string{"-delay", "30ms", "-jitter", "10ms", "-reorder"},
		},
		{
			Name: "loss5delay", Label: "loss 5% + delay 30ms",
			Relay: []string{"-loss", "0.05", "-delay", "30ms"},
			Loss:  lossModel{Loss: 0.05},
		},
		{Name: "cap", Label: "rate cap", Cap: true, NoBound: true},
		bottleneck("bn10", "10 Mbit/s, 64 KB queue", 10),
		bottleneck("bn5", "5 Mbit/s, 64 KB queue", 5),
		// A fat link with a short queue: the stream fits, its frames'
		// bursts do not (the calm pacing must learn that).
		bottleneck("fat100", "100 Mbit/s, 32 KB queue", 100, "-queue", "32KB"),
		bottleneck("bn10lossy", "10 Mbit/s + loss 2% + delay 30ms", 10, "-loss", "0.02", "-delay", "30ms"),
		drawn(adapt(iidLoss(0.15, nil))),
		func() condition {
			c := bottleneck("shared20", "two calls, one 20 Mbit/s bottleneck", 20)
			c.Shared, c.Timeline, c.Window = true, false, 30*time.Second
			return c
		}(),
		stepCondition("step", "40 -> 8 -> 40 Mbit/s", schedule{StartMbps: 40, Steps: []rateStep{{12 * time.Second, 8}, {27 * time.Second, 40}}}),
		{
			Name: "delay30", Label: "delay 30ms", Extra: true,
			Relay: []string{"-delay", "30ms"},
		},
	}
}

// stepCondition is a bottleneck whose capacity changes during the run; it
// is drawn as a timeline and its window covers the whole schedule plus
// 20 s after the last step.
func stepCondition(name, label string, s schedule) condition {
	last := s.Steps[len(s.Steps)-1].At
	return condition{
		Name: name, Label: label, NoBound: true, Relay: s.relayFlags(),
		Sched: &s, Timeline: true, Window: last + 20*time.Second - 3*time.Second, Adapt: true,
	}
}

// bottleneck is a rate cap of mbps with a 64 KB tail-drop queue, plus
// more relay flags, for the adaptation's table, drawn as a timeline.
func bottleneck(name, label string, mbps float64, more ...string) condition {
	s := schedule{StartMbps: mbps}
	return condition{
		Name: name, Label: label, NoBound: true, Adapt: true, Timeline: true,
		Sched: &s, Relay: append(s.relayFlags(), more...),
	}
}

func adapt(c condition) condition {
	c.Adapt = true
	return c
}

func drawn(c condition) condition {
	c.Timeline = true
	return c
}

func iidLoss(p float64, extra []float64) condition {
	pct := fmt.Sprintf("%g", p*100)
	return condition{
		Name: "loss" + pct, Label: "loss " + pct + "%",
		Relay:    []string{"-loss", fmt.Sprint(p)},
		Loss:     lossModel{Loss: p},
		Parities: extra,
	}
}

// selectConditions returns the conditions named in a comma-separated list,
// in their canonical order; for "" or "all" the loss table's (neither
// extra nor the adaptation's); for "adapt" the adaptation's table, clean
// first.
func selectConditions(list string) ([]condition, error) {
	all := conditions()
	switch list {
	case "", "all":
		return slices.DeleteFunc(all, func(c condition) bool { return c.Extra || c.Adapt }), nil
	case "adapt":
		return slices.DeleteFunc(all, func(c condition) bool { return !c.Adapt && c.Name != "clean" }), nil
	}
	known := map[string]bool{}
	var names []string
	for _, c := range all {
		known[c.Name] = true
		names = append(names, c.Name)
	}
	want := map[string]bool{}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if !known[name] {
			return nil, fmt.Errorf("-conditions: unknown condition %q; known: %s", name, strings.Join(names, ", "))
		}
		want[name] = true
	}
	var out []condition
	for _, c := range all {
		if want[c.Name] {
			out = append(out, c)
		}
	}
	return out, nil
}
