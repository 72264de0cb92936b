package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// sharedCall is one of the two calls of a shared-bottleneck run: A sends,
// B receives, both through the one relay.
type sharedCall struct {
	*pair
	pts []point
}

// runShared runs two one-way calls through one relay whose rate cap and
// queue they share (badlink -a2/-b2), as two calls share a home uplink,
// and returns a row for each call. The timeline shows both calls' rates.
func (h *harness) runShared(ctx context.Context, cond condition, parity float64) ([]result, error) {
	h.runs++
	dir := filepath.Join(h.dir, fmt.Sprintf("%02d-%s", h.runs, cond.Name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	nw, err := h.net.withPorts()
	if err != nil {
		return nil, err
	}
	nw2, err := h.net.withPorts() // its daemon ports serve the second call
	if err != nil {
		return nil, err
	}
	relayA, relayB := netip.AddrPortFrom(nw.relayA, nw.relayPortA), netip.AddrPortFrom(nw.relayB, nw.relayPortB)
	addr := func(a netip.Addr, p uint16) netip.AddrPort { return netip.AddrPortFrom(a, p) }
	ends := []struct {
		name, source, sink string
		listen, peer       netip.AddrPort
	}{
		{"a", "pattern", "none", addr(nw.addrA, nw.portA), relayA},
		{"b", "none", "null", addr(nw.addrB, nw.portB), relayB},
		{"a2", "pattern", "none", addr(nw.addrA, nw2.portA), relayA},
		{"b2", "none", "null", addr(nw.addrB, nw2.portB), relayB},
	}
	relayJSON := filepath.Join(dir, "relay.json")
	relayArgs := append([]string{
		"-a-listen", relayA.String(), "-a", ends[0].listen.String(),
		"-b-listen", relayB.String(), "-b", ends[1].listen.String(),
		"-a2", ends[2].listen.String(), "-b2", ends[3].listen.String(),
		"-seed", strconv.FormatUint(h.set.Seed, 10), "-stats-json", relayJSON,
	}, cond.Relay...)
	relayStart := time.Now()
	relay, err := startProcess("badlink", nw.nsRelay, h.bins.badlink, relayArgs, filepath.Join(dir, "relay.log"))
	if err != nil {
		return nil, err
	}
	procs := []*process{relay}
	socks := make([]string, len(ends))
	var errs []error
	for i, e := range ends {
		cfg, sock, err := h.writeConfig(dir, e.name, e.listen, e.peer, parity, e.source, e.sink)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		socks[i] = sock
		p, err := startProcess("daemon "+e.name, "", h.bins.vstreamd, []string{"run", "-config", cfg}, filepath.Join(dir, e.name+".log"))
		errs = append(errs, err)
		procs = append(procs, p)
	}
	defer func() { _ = stopAll(3*time.Second, procs...) }()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	calls := []*sharedCall{
		{pair: &pair{a: procs[1], b: procs[2], relay: relay, sockA: socks[0], sockB: socks[1], portB: nw.portB, oneWay: true}},
		{pair: &pair{a: procs[3], b: procs[4], relay: relay, sockA: socks[2], sockB: socks[3], portB: nw2.portB, oneWay: true}},
	}
	var rows []result
	var wg sync.WaitGroup
	resErrs := make([]error, len(calls))
	rows = make([]result, len(calls))
	for i, c := range calls {
		wg.Go(func() {
			tc := cond
			tc.Timeline = true
			var pts []point
			rows[i], pts, resErrs[i] = h.measure(ctx, c.pair, tc, relayStart)
			c.pts = pts
		})
	}
	wg.Wait()
	if err := errors.Join(resErrs...); err != nil {
		return nil, err
	}
	if err := stopAll(3*time.Second, procs...); err != nil {
		return nil, err
	}
	relayStats, err := readRelayStats(relayJSON)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].relay = relayStats
		rows[i].Name, rows[i].Parity = cond.Name, parity
		rows[i].Condition = fmt.Sprintf("%s, call %d", cond.Label, i+1)
		rows[i].finish(cond, parity, h.set)
	}
	a, b := rows[0].WireBps, rows[1].WireBps
	note := fmt.Sprintf("two calls: %.1f and %.1f Mb/s on the wire, ratio %.2f", a/1e6, b/1e6, max(a, b)/max(min(a, b), 1))
	rows[0].StepNotes = []string{note}
	base := filepath.Join(cmp.Or(h.timelineDir, dir), "timeline-"+cond.Name)
	if err := writeSharedTimeline(calls[0].pts, calls[1].pts, cond.Label, base); err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	rows[0].Timeline = base + ".png"
	return rows, nil
}

// writeSharedTimeline draws both calls of a shared bottleneck: their
// targets and sending rates against the capacity, and their frame rates.
func writeSharedTimeline(p1, p2 []point, title, base string) error {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return err
	}
	rates, err := linePanel("Mb/s",
		series{"capacity", xy(p1, func(p point) float64 { return p.CapacityMbps })},
		series{"call 1 sent", xy(p1, func(p point) float64 { return p.WireMbps })},
		series{"call 2 sent", xy(p2, func(p point) float64 { return p.WireMbps })})
	if err != nil {
		return err
	}
	rates.Title.Text = title
	fps, err := linePanel("frames/s",
		series{"call 1 delivered", xy(p1, func(p point) float64 { return p.FPS })},
		series{"call 2 delivered", xy(p2, func(p point) float64 { return p.FPS })})
	if err != nil {
		return err
	}
	return savePanels(base+".png", rates, fps)
}
