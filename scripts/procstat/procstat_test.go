package procstat

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	// A command name with spaces and parentheses, utime 250, stime 70.
	line := "4242 (srt (live) x) S 1 4242 4242 0 -1 4194304 500 0 0 0 250 70 0 0 20 0 3 0 100 1000 200"
	got, err := Parse(line)
	if want := 320 * ClockTick; err != nil || got != want {
		t.Errorf("Parse = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "1 (x S 1", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 abc 70", "1 (x) S 1 2 3 4 5 6 7 8 9 10 -5 70"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
	// This process's own line parses, and its time does not go backwards.
	a, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	if b, err := CPU(os.Getpid()); err != nil || b < a {
		t.Errorf("CPU went from %v to %v (%v)", a, b, err)
	}
}

func TestLoadAvg(t *testing.T) {
	for n, fields := range map[int]int{0: 1, 1: 1, 2: 2, 3: 3, 9: 3} {
		got := LoadAvg(n)
		if f := strings.Fields(got); len(f) != fields {
			t.Errorf("LoadAvg(%d) = %q, want %d figures", n, got, fields)
		}
	}
}
