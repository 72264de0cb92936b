package daemon

import (
	"testing"
	"time"
)

// TestLateness: a second is late when at least lateReadsMin of its reads,
// and at least one in lateReadsShare, found their datagram waiting
// lateRead or longer; the verdict holds for the next second, and a second
// is judged only once it has ended.
func TestLateness(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name        string
		reads, late int
		want        bool
	}{
		{"none", 0, 0, false},
		{"all on time", 500, 0, false},
		{"one late of ten", 10, 1, false},
		{"two late of a hundred", 100, 2, true},
		{"two late of three hundred", 300, 2, false},
		{"three late of three hundred", 300, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l lateness
			l.reset(t0, lateRead)
			lates := 0
			for i := range tc.reads {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				wait := 100 * time.Microsecond
				if i < tc.late {
					wait = lateRead
				}
				if l.add(now, now.Add(-wait)) {
					lates++
				}
				if l.roll(now) {
					t.Fatalf("read %d: late before the second ended", i)
				}
			}
			if lates != tc.late {
				t.Errorf("%d reads counted late, want %d", lates, tc.late)
			}
			end := t0.Add(time.Second)
			if got := l.roll(end); got != tc.want {
				t.Errorf("the second: late %v, want %v", got, tc.want)
			}
			if got := l.roll(end.Add(time.Second / 2)); got != tc.want {
				t.Errorf("half a second on: late %v, want the last second's %v", got, tc.want)
			}
			if l.roll(end.Add(time.Second)) {
				t.Errorf("a second without reads: late")
			}
		})
	}
}
