package main

import (
	"math"
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, utime 250, stime 70.
	line := "4242 (srt (live) x) S 1 4242 4242 0 -1 4194304 500 0 0 0 250 70 0 0 20 0 3 0 100 1000 200"
	got, err := parseStat(line)
	if want := 320 * clockTick; err != nil || got != want {
		t.Errorf("parseStat = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "1 (x S 1", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 abc 70"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
	// This process's own line parses, and its time does not go backwards.
	a, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	if b, err := procCPU(os.Getpid()); err != nil || b < a {
		t.Errorf("procCPU went from %v to %v (%v)", a, b, err)
	}
}

func TestPerTen(t *testing.T) {
	m := measurement{cpu: 600 * time.Millisecond, wall: 10 * time.Second, mediaMb: 20}
	// 6% of a core for 20 Mb/s: 3% per 10 Mb/s.
	if got := m.perTen(); math.Abs(got-3) > 1e-9 {
		t.Errorf("perTen = %v, want 3", got)
	}
}
