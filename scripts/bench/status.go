package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/daemon/control"
)

// status is the part of `vstreamd status -json` the benchmark reads. The
// field names follow daemon.Status; this package keeps its own copy so that
// it depends only on the documented JSON, not on the daemon package.
type status struct {
	State         string   `json:"state"`
	RTTms         float64  `json:"rtt_ms"`
	ClockOffsetMs float64  `json:"clock_offset_ms"`
	TX            txStatus `json:"tx"`
	RX            rxStatus `json:"rx"`
}

type txStatus struct {
	Frames        uint64  `json:"frames"`
	Packets       uint64  `json:"packets"`
	ParityPackets uint64  `json:"parity_packets"`
	Bytes         uint64  `json:"bytes"`
	BitrateBps    float64 `json:"bitrate_bps"`
	Parity        float64 `json:"parity"`
	SendErrors    uint64  `json:"send_errors"`
	FramesSkipped uint64  `json:"frames_skipped"`
	Source        struct {
		Frames   uint64  `json:"frames"`
		Dropped  uint64  `json:"dropped"` // captured frames the encoder had no time for
		EncodeMs float64 `json:"encode_ms"`
		Codec    string  `json:"codec"`
	} `json:"source"`
}

type rxStatus struct {
	FramesDelivered  uint64      `json:"frames_delivered"`
	FramesRecovered  uint64      `json:"frames_recovered"`
	FramesLate       uint64      `json:"frames_late"`
	FramesIncomplete uint64      `json:"frames_incomplete"`
	FramesLost       uint64      `json:"frames_lost"`
	FramesCorrupt    uint64      `json:"frames_corrupt"`
	Packets          uint64      `json:"packets"`
	PacketsInvalid   uint64      `json:"packets_invalid"`
	Invalid          invalidMap  `json:"invalid"`
	LatencyMs        percentiles `json:"latency_ms"`
	TransportMs      percentiles `json:"transport_latency_ms"`
	FramesFrozen     uint64      `json:"frames_frozen"`
	Recoveries       uint64      `json:"recoveries"`
	Sink             struct {
		Shown    uint64  `json:"shown"`
		DecodeMs float64 `json:"decode_ms"`
	} `json:"sink"`
}

type invalidMap map[string]uint64

// String lists the reasons in a stable order, e.g. "control=2 crc=1".
func (m invalidMap) String() string {
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

// percentiles are a latency distribution in milliseconds.
type percentiles struct {
	P50     float64 `json:"p50"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Samples int     `json:"samples"`
}

// queryStatus asks the daemon at the control socket for its status, the
// same exchange `vstreamd status -json` makes, without starting a process.
func queryStatus(ctx context.Context, socket string) (status, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := control.Query(ctx, socket, control.Request{Command: "status"})
	if err != nil {
		return status{}, fmt.Errorf("status of the daemon at %s: %w", socket, err)
	}
	var s status
	if err := json.Unmarshal(raw, &s); err != nil {
		return status{}, fmt.Errorf("status of the daemon at %s: decoding its JSON: %w", socket, err)
	}
	return s, nil
}
