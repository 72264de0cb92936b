package relay

import (
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
)

// counters are one direction's running totals, updated by its reader and
// sender goroutines and read by Stats at any time.
type counters struct {
	in, bytesIn, filtered, tooBig, lost, duplicated  atomic.Uint64
	queueDrops, limitDrops, delayed, reordered       atomic.Uint64
	out, bytesOut, sendErrors, readErrors, discarded atomic.Uint64
}

// snapshot returns the counts, with kernelDrops, the reading socket's
// drop count.
func (c *counters) snapshot(kernelDrops uint64) DirStats {
	return DirStats{
		In: c.in.Load(), BytesIn: c.bytesIn.Load(), Filtered: c.filtered.Load(),
		TooBig: c.tooBig.Load(), Lost: c.lost.Load(), Duplicated: c.duplicated.Load(),
		QueueDrops: c.queueDrops.Load(), LimitDrops: c.limitDrops.Load(),
		Delayed: c.delayed.Load(), Reordered: c.reordered.Load(),
		Out: c.out.Load(), BytesOut: c.bytesOut.Load(), SendErrors: c.sendErrors.Load(),
		ReadErrors: c.readErrors.Load(), Discarded: c.discarded.Load(),
		KernelDrops: kernelDrops,
	}
}

// DirStats are one direction's counts of datagrams (and bytes where
// named). Every datagram accepted from the right peer (In) and every extra
// copy (Duplicated) ends up in exactly one of Lost, TooBig, QueueDrops,
// LimitDrops, SendErrors, Discarded or Out, or is still held (InFlight):
//
//	In + Duplicated = Lost + TooBig + QueueDrops + LimitDrops + SendErrors + Discarded + Out + InFlight
//
// Delayed and Reordered describe copies that were sent or are held.
// KernelDrops counts datagrams that never reached the relay: the kernel
// dropped them at the receiving socket because the relay fell behind. They
// are not in In; a benchmark should add them to the loss it asked for.
type DirStats struct {
	In         uint64 `json:"in"`          // datagrams read from the expected peer
	BytesIn    uint64 `json:"in_bytes"`    // their payload bytes
	Filtered   uint64 `json:"filtered"`    // datagrams from any other address, dropped, not in In
	TooBig     uint64 `json:"too_big"`     // larger than the relay's maximum size
	Lost       uint64 `json:"lost"`        // dropped by the loss model
	Duplicated uint64 `json:"duplicated"`  // extra copies made
	QueueDrops uint64 `json:"queue_drops"` // tail-dropped at the rate cap's queue
	LimitDrops uint64 `json:"limit_drops"` // dropped because the relay already held its limit
	Delayed    uint64 `json:"delayed"`     // copies held for any time (delay, jitter, rate cap)
	Reordered  uint64 `json:"reordered"`   // copies released before one that entered earlier
	Out        uint64 `json:"out"`         // copies sent to the far endpoint
	BytesOut   uint64 `json:"out_bytes"`   // their payload bytes
	SendErrors uint64 `json:"send_errors"` // copies the socket refused
	ReadErrors uint64 `json:"read_errors"` // failed reads (not datagrams)
	Discarded  uint64 `json:"discarded"`   // copies still held when the relay stopped
	// KernelDrops is the receiving socket's drop count as of the last
	// datagram read (Linux only; 0 elsewhere).
	KernelDrops uint64 `json:"kernel_drops"`
}

// InFlight returns the copies held at the time of the snapshot. The
// counters are read one by one while datagrams move, so for a running relay
// it is approximate; once Run has returned it is 0.
func (s DirStats) InFlight() int64 {
	in := int64(s.In + s.Duplicated)
	gone := int64(s.Lost + s.TooBig + s.QueueDrops + s.LimitDrops + s.SendErrors + s.Discarded + s.Out)
	return max(in-gone, 0)
}

// Snapshot is the state of both directions at one moment.
type Snapshot struct {
	Elapsed              time.Duration
	Seed                 uint64
	A2B, B2A             DirStats
	A2BParams, B2AParams impair.Params
}

// paramsJSON is the JSON form of impair.Params, with units in the names.
type paramsJSON struct {
	Summary    string  `json:"summary"`
	Loss       float64 `json:"loss"`
	Burst      float64 `json:"burst"`
	DelayMS    float64 `json:"delay_ms"`
	JitterMS   float64 `json:"jitter_ms"`
	Reorder    bool    `json:"reorder"`
	Dup        float64 `json:"dup"`
	RateBPS    int64   `json:"rate_bps"`
	QueueBytes int64   `json:"queue_bytes,omitempty"`
	QueueMS    float64 `json:"queue_ms,omitempty"`
}

func toParamsJSON(p impair.Params) paramsJSON {
	j := paramsJSON{
		Summary: p.String(), Loss: p.Loss, Burst: p.Burst, Reorder: p.Reorder, Dup: p.Dup,
		DelayMS: ms(p.Delay), JitterMS: ms(p.Jitter), RateBPS: p.Rate,
	}
	if p.Rate > 0 {
		q := p.Queue.OrDefault()
		j.QueueBytes, j.QueueMS = q.Bytes, ms(q.Time)
	}
	return j
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type dirJSON struct {
	Params paramsJSON `json:"params"`
	DirStats
	InFlight int64 `json:"in_flight"`
}

// MarshalJSON writes s as
//
//	{"elapsed_s": 12.5, "seed": 1,
//	 "a2b": {"params": {"summary": "loss 0.05", "loss": 0.05, ...}, "in": 37500, "lost": 1875, ..., "in_flight": 0},
//	 "b2a": {...}}
func (s Snapshot) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ElapsedS float64 `json:"elapsed_s"`
		Seed     uint64  `json:"seed"`
		A2B      dirJSON `json:"a2b"`
		B2A      dirJSON `json:"b2a"`
	}{
		ElapsedS: s.Elapsed.Seconds(), Seed: s.Seed,
		A2B: dirJSON{toParamsJSON(s.A2BParams), s.A2B, s.A2B.InFlight()},
		B2A: dirJSON{toParamsJSON(s.B2AParams), s.B2A, s.B2A.InFlight()},
	})
}

// WriteTable writes s as a human-readable table, one row per counter and
// one column per direction, under a line per direction saying what it
// applied.
func (s Snapshot) WriteTable(w io.Writer) error {
	a, b := s.A2B, s.B2A
	rows := []struct {
		name string
		a, b uint64
	}{
		{"in", a.In, b.In},
		{"in bytes", a.BytesIn, b.BytesIn},
		{"lost", a.Lost, b.Lost},
		{"duplicated", a.Duplicated, b.Duplicated},
		{"queue drops (rate cap)", a.QueueDrops, b.QueueDrops},
		{"limit drops (relay full)", a.LimitDrops, b.LimitDrops},
		{"too big", a.TooBig, b.TooBig},
		{"delayed", a.Delayed, b.Delayed},
		{"reordered", a.Reordered, b.Reordered},
		{"out", a.Out, b.Out},
		{"out bytes", a.BytesOut, b.BytesOut},
		{"send errors", a.SendErrors, b.SendErrors},
		{"discarded at stop", a.Discarded, b.Discarded},
		{"in flight", uint64(a.InFlight()), uint64(b.InFlight())},
		{"filtered (wrong source)", a.Filtered, b.Filtered},
		{"read errors", a.ReadErrors, b.ReadErrors},
		{"kernel drops (relay behind)", a.KernelDrops, b.KernelDrops},
	}
	buf := fmt.Appendf(nil, "badlink ran %v, seed %d\n%s (A to B): %s\n%s (B to A): %s\n",
		s.Elapsed.Round(time.Millisecond), s.Seed, NameA2B, s.A2BParams, NameB2A, s.B2AParams)
	buf = fmt.Appendf(buf, "%-28s %14s %14s\n", "", NameA2B, NameB2A)
	for _, r := range rows {
		buf = fmt.Appendf(buf, "%-28s %14d %14d\n", r.name, r.a, r.b)
	}
	_, err := w.Write(buf)
	return err
}

// Line formats s as one line for periodic progress, with input rates
// computed against an earlier snapshot prev (zero for none).
func (s Snapshot) Line(prev Snapshot) string {
	dt := (s.Elapsed - prev.Elapsed).Seconds()
	dir := func(name string, cur, old DirStats) string {
		rate := 0.0
		if dt > 0 {
			rate = float64(cur.In-old.In) / dt
		}
		return fmt.Sprintf("%s in %d (%.0f/s) lost %d dup %d qdrop %d limit %d out %d kdrop %d",
			name, cur.In, rate, cur.Lost, cur.Duplicated, cur.QueueDrops, cur.LimitDrops, cur.Out, cur.KernelDrops)
	}
	return fmt.Sprintf("%7.1fs  %s | %s", s.Elapsed.Seconds(),
		dir(NameA2B, s.A2B, prev.A2B), dir(NameB2A, s.B2A, prev.B2A))
}
