package sched

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// CPUPressureFile is where Linux reports CPU pressure (PSI, Linux 4.20 and
// later): how long runnable tasks waited for a CPU.
const CPUPressureFile = "/proc/pressure/cpu"

// PressureMeter reads the machine's CPU pressure: the share of wall time
// in which at least one runnable task waited for a CPU (the "some" line's
// total). That is the wait a woken normal thread risks; where it is near
// zero, a thread of its own at real-time priority buys nothing.
type PressureMeter struct {
	f     *os.File
	buf   [512]byte
	total uint64 // µs, at the last sample
	at    time.Time
}

// OpenPressure opens the pressure file (CPUPressureFile) and takes a first
// sample. It fails where the kernel has no pressure information (before
// Linux 4.20, other systems, or booted with psi=0).
func OpenPressure(path string) (*PressureMeter, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("CPU pressure: %w", err)
	}
	m := &PressureMeter{f: f}
	total, err := m.read()
	if err != nil {
		f.Close()
		return nil, err
	}
	m.total, m.at = total, time.Now()
	return m, nil
}

// Sample returns the share of the time since the last sample (or the
// opening) in which some task waited for a CPU, 0 to 1.
func (m *PressureMeter) Sample(now time.Time) (float64, error) {
	total, err := m.read()
	if err != nil {
		return 0, err
	}
	dt := now.Sub(m.at)
	prev := m.total
	m.total, m.at = total, now
	if dt <= 0 || total < prev {
		return 0, nil
	}
	return min(float64(total-prev)/float64(dt.Microseconds()), 1), nil
}

// Close closes the file.
func (m *PressureMeter) Close() error { return m.f.Close() }

func (m *PressureMeter) read() (uint64, error) {
	n, err := m.f.ReadAt(m.buf[:], 0)
	if n == 0 && err != nil {
		return 0, fmt.Errorf("CPU pressure: reading %s: %w", m.f.Name(), err)
	}
	total, err := SomeTotal(m.buf[:n])
	if err != nil {
		return 0, fmt.Errorf("CPU pressure: %s: %w", m.f.Name(), err)
	}
	return total, nil
}

// errPressureFormat reports a pressure file without a "some" line and its
// total.
var errPressureFormat = errors.New(`no "some ... total=N" line`)

// SomeTotal parses the total of the "some" line of a pressure file, in
// microseconds:
//
//	some avg10=0.00 avg60=0.02 avg300=0.52 total=10162004404
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
func SomeTotal(b []byte) (uint64, error) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		rest, ok := bytes.CutPrefix(line, []byte("some "))
		if !ok {
			continue
		}
		for f := range bytes.FieldsSeq(rest) {
			if v, ok := bytes.CutPrefix(f, []byte("total=")); ok {
				return strconv.ParseUint(string(v), 10, 64)
			}
		}
	}
	return 0, errPressureFormat
}

// Thresholds of Contention. One second in which tasks waited for a CPU at
// least PressureHigh of the time makes the CPU contended; CalmSeconds
// seconds in a row under PressureLow make it calm again. Measured here
// (docs/benchmarks.md): two daemons at 25 Mb/s with nothing to encode,
// 1-2%; a two-way 720p call encoding JPEG on two cores, 18-22%.
const (
	PressureHigh = 0.05
	PressureLow  = 0.03
	CalmSeconds  = 2
)

// Contention follows the CPU pressure, a sample a second, and says whether
// the CPU is contended: whether a receive loop that reads late (the
// daemon measures that) should wait on its own real-time thread rather
// than in the runtime's poller. It starts contended, the side that keeps
// latency low until the samples say otherwise. Observe is for one goroutine; Contended and Status may be
// called from any.
type Contention struct {
	calm      int // seconds in a row under PressureLow
	contended atomic.Bool
	pressure  atomic.Uint64 // last sample, float64 bits; NaN: none
	err       atomic.Pointer[string]
}

// NewContention returns a Contention that counts the CPU as contended.
func NewContention() *Contention {
	c := &Contention{}
	c.contended.Store(true)
	c.pressure.Store(math.Float64bits(math.NaN()))
	return c
}

// Observe takes one sample: the share of the last second in which some
// task waited for a CPU, or the error reading it. A CPU whose pressure
// cannot be read counts as contended.
func (c *Contention) Observe(share float64, err error) {
	if err != nil {
		msg := err.Error()
		c.err.Store(&msg)
		c.pressure.Store(math.Float64bits(math.NaN()))
		c.calm = 0
		c.contended.Store(true)
		return
	}
	c.err.Store(nil)
	c.pressure.Store(math.Float64bits(share))
	switch {
	case share >= PressureHigh:
		c.calm = 0
		c.contended.Store(true)
	case share < PressureLow:
		if c.calm++; c.calm >= CalmSeconds {
			c.contended.Store(false)
		}
	default:
		c.calm = 0
	}
}

// Contended reports whether the CPU counts as contended now.
func (c *Contention) Contended() bool { return c.contended.Load() }

// ContentionStatus is what a Contention reports.
type ContentionStatus struct {
	Contended bool `json:"contended"`
	// Pressure is the last second's share of time in which some task
	// waited for a CPU; nil before the first sample or when unreadable.
	Pressure *float64 `json:"pressure"`
	Error    string   `json:"error,omitempty"` // why the pressure is unknown
}

// Status reports c's state.
func (c *Contention) Status() ContentionStatus {
	s := ContentionStatus{Contended: c.contended.Load()}
	if p := math.Float64frombits(c.pressure.Load()); !math.IsNaN(p) {
		s.Pressure = &p
	}
	if e := c.err.Load(); e != nil {
		s.Error = *e
	}
	return s
}
