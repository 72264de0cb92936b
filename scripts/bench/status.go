package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/control"
	"github.com/vstreamd/vstreamd/daemon/media"
)

// queryStatus asks the daemon at the control socket for its status, the
// same exchange `vstreamd status -json` makes, without starting a process,
// and decodes it into the daemon's own type: the benchmark reads the
// schema the daemon writes, not a copy of it. It gives up after timeout.
func queryStatus(ctx context.Context, socket string, timeout time.Duration) (daemon.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := control.Query(ctx, socket, control.Request{Command: "status"})
	if err != nil {
		return daemon.Status{}, fmt.Errorf("status of the daemon at %s: %w", socket, err)
	}
	var s daemon.Status
	if err := json.Unmarshal(raw, &s); err != nil {
		return daemon.Status{}, fmt.Errorf("status of the daemon at %s: decoding its JSON: %w", socket, err)
	}
	return s, nil
}

// source is what a status says about the frame source; zero without one.
func source(s daemon.Status) media.SourceStatus {
	if s.TX.Source == nil {
		return media.SourceStatus{}
	}
	return *s.TX.Source
}

// sink is what a status says about the frame sink; zero without one.
func sink(s daemon.Status) media.SinkStatus {
	if s.RX.Sink == nil {
		return media.SinkStatus{}
	}
	return *s.RX.Sink
}

// reasons lists the counts of rejected datagrams by reason in a stable
// order, e.g. "control=2 crc=1".
func reasons(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}
