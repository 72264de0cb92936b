package impair

import (
	"testing"
	"time"
)

// everything turns on every model at once.
func everything() Params {
	return Params{
		Loss: 0.05, Burst: 3, Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond,
		Reorder: true, Dup: 0.02, Rate: 10_000_000, Queue: Queue{Bytes: 30_000},
	}
}

// verdicts runs n datagrams of varying size and spacing through a Link.
func verdicts(t *testing.T, p Params, seed, stream uint64, n int) []Verdict {
	t.Helper()
	l, err := NewLink(p, seed, stream)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Verdict, n)
	now := time.Duration(0)
	for i := range out {
		now += time.Duration(50+i%13*70) * time.Microsecond
		out[i] = l.Decide(now, 200+i%7*180)
	}
	return out
}

func countDiffs(a, b []Verdict) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func TestSameSeedSameDecisions(t *testing.T) {
	const n = 20_000
	a := verdicts(t, everything(), 42, 1, n)
	b := verdicts(t, everything(), 42, 1, n)
	if d := countDiffs(a, b); d != 0 {
		t.Errorf("same seed and stream: %d of %d verdicts differ, want 0", d, n)
	}
	var lost, dup, dropped, reordered int
	for _, v := range a {
		if v.Lost {
			lost++
		}
		if v.Copies == 2 {
			dup++
		}
		for _, c := range v.Copy[:v.Copies] {
			if c.Dropped {
				dropped++
			}
			if c.Reordered {
				reordered++
			}
		}
	}
	if lost == 0 || dup == 0 || dropped == 0 || reordered == 0 {
		t.Fatalf("lost %d, duplicated %d, tail-dropped %d, reordered %d: want every model exercised",
			lost, dup, dropped, reordered)
	}
	for _, other := range []struct {
		name         string
		seed, stream uint64
	}{{"seed", 43, 1}, {"stream", 42, 2}} {
		c := verdicts(t, everything(), other.seed, other.stream, n)
		if d := countDiffs(a, c); d < n/10 {
			t.Errorf("different %s: only %d of %d verdicts differ", other.name, d, n)
		}
	}
}

// TestLossPatternIndependentOfOtherSettings checks that each model draws
// from its own stream: turning jitter and duplication on does not change
// which datagrams are lost.
func TestLossPatternIndependentOfOtherSettings(t *testing.T) {
	const n = 10_000
	lossOnly := Params{Loss: 0.1, Burst: 2}
	a := verdicts(t, lossOnly, 9, 1, n)
	b := verdicts(t, Params{Loss: 0.1, Burst: 2, Delay: time.Millisecond, Jitter: time.Millisecond, Dup: 0.3}, 9, 1, n)
	for i := range a {
		if a[i].Lost != b[i].Lost {
			t.Fatalf("datagram %d: lost = %v with loss only, %v with jitter and dup too", i, a[i].Lost, b[i].Lost)
		}
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	l, err := NewLink(everything(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Duration(0)
	allocs := testing.AllocsPerRun(10_000, func() {
		now += 100 * time.Microsecond
		l.Decide(now, 1200)
	})
	if allocs != 0 {
		t.Errorf("Decide allocates %v times per datagram, want 0", allocs)
	}
}

func BenchmarkDecide(b *testing.B) {
	l, err := NewLink(everything(), 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(1200)
	now := time.Duration(0)
	for b.Loop() {
		now += 100 * time.Microsecond
		l.Decide(now, 1200)
	}
}
