package sched

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSomeTotal(t *testing.T) {
	good := "some avg10=0.00 avg60=0.02 avg300=0.52 total=10162004404\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	if v, err := SomeTotal([]byte(good)); err != nil || v != 10162004404 {
		t.Errorf("SomeTotal = %d, %v; want 10162004404", v, err)
	}
	// "full" first, no trailing newline
	if v, err := SomeTotal([]byte("full avg10=1 total=5\nsome avg10=0.00 total=42")); err != nil || v != 42 {
		t.Errorf("SomeTotal = %d, %v; want 42", v, err)
	}
	for _, bad := range []string{"", "full avg10=0.00 total=7\n", "some avg10=0.00\n", "some total=x\n", "some total=-1\n", "somewhat total=3\n"} {
		if v, err := SomeTotal([]byte(bad)); err == nil {
			t.Errorf("SomeTotal(%q) = %d, want an error", bad, v)
		}
	}
	for i := range len(good) { // no prefix panics
		_, _ = SomeTotal([]byte(good[:i]))
	}
}

// TestPressureMeter reads a pressure file written by the test: the share
// is the growth of the total (µs) over the time between samples.
func TestPressureMeter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu")
	write := func(total string) {
		t.Helper()
		if err := os.WriteFile(path, []byte("some avg10=0.00 avg60=0.00 avg300=0.00 total="+total+"\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("1000000")
	m, err := OpenPressure(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t0 := m.at
	write("1250000") // 250 ms of waiting in 1 s
	if share, err := m.Sample(t0.Add(time.Second)); err != nil || math.Abs(share-0.25) > 1e-9 {
		t.Errorf("Sample = %v, %v; want 0.25", share, err)
	}
	write("9250000") // more waiting than time: several tasks; capped at 1
	if share, err := m.Sample(t0.Add(2 * time.Second)); err != nil || share != 1 {
		t.Errorf("Sample = %v, %v; want 1", share, err)
	}
	write("100") // went backwards (a new counter): no share
	if share, err := m.Sample(t0.Add(3 * time.Second)); err != nil || share != 0 {
		t.Errorf("Sample = %v, %v; want 0", share, err)
	}
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sample(t0.Add(4 * time.Second)); err == nil {
		t.Errorf("Sample of a garbled file: no error")
	}
	if _, err := OpenPressure(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Errorf("OpenPressure of a missing file: no error")
	}
}

// TestContention walks the hysteresis: contended at the start, calm after
// CalmSeconds quiet seconds in a row, contended again at once on a busy
// second; a second between the thresholds keeps the state and restarts
// the calm count; an unreadable pressure counts as contended.
func TestContention(t *testing.T) {
	c := NewContention()
	check := func(step string, want bool) {
		t.Helper()
		if got := c.Contended(); got != want {
			t.Errorf("%s: contended %v, want %v (%+v)", step, got, want, c.Status())
		}
	}
	if s := c.Status(); !s.Contended || s.Pressure != nil || s.Error != "" {
		t.Errorf("new: %+v, want contended and no reading", s)
	}
	c.Observe(0.01, nil)
	check("one calm second", true)
	c.Observe(0.04, nil) // between the thresholds
	check("then one between", true)
	c.Observe(0.01, nil)
	check("one calm second again", true)
	c.Observe(0.02, nil)
	check("two calm seconds", false)
	if s := c.Status(); s.Pressure == nil || *s.Pressure != 0.02 {
		t.Errorf("status %+v, want pressure 0.02", s)
	}
	c.Observe(0.04, nil)
	check("between the thresholds while calm", false)
	c.Observe(PressureHigh, nil)
	check("a busy second", true)
	c.Observe(0, nil)
	c.Observe(0, nil)
	check("calm again", false)
	c.Observe(0, errors.New("gone"))
	check("unreadable", true)
	if s := c.Status(); s.Error != "gone" || s.Pressure != nil {
		t.Errorf("status %+v, want the error and no reading", s)
	}
	c.Observe(0, nil)
	check("readable again, one calm second", true)
}
