package replay

import (
	"math/rand/v2"
	"testing"
)

// naive is an obviously right filter: a set of every number accepted.
type naive struct {
	seen map[uint64]bool
	last uint64
	any  bool
}

func (f *naive) accept(n uint64) bool {
	if f.seen[n] || f.any && n < f.last && f.last-n >= Window {
		return false
	}
	f.seen[n] = true
	if !f.any || n > f.last {
		f.last, f.any = n, true
	}
	return true
}

func TestAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var f Filter
	ref := &naive{seen: map[uint64]bool{}}
	n := uint64(1000)
	for i := range 200000 {
		var p uint64
		switch r := rng.IntN(100); {
		case r < 60: // in order, sometimes skipping
			n += uint64(1 + rng.IntN(3))
			p = n
		case r < 85: // reordered or replayed within the window
			p = n - uint64(rng.IntN(Window))
		case r < 95: // just around the window's edge
			p = n - uint64(Window-5+rng.IntN(10))
		case r < 99: // far behind
			p = n - uint64(rng.IntN(1<<20))
		default: // a big jump ahead
			n += uint64(rng.IntN(10000))
			p = n
		}
		if p > n {
			p = n
		}
		want := ref.accept(p)
		if check := f.Check(p); check != want {
			t.Fatalf("step %d: Check(%d) = %v, want %v (last %d)", i, p, check, want, ref.last)
		}
		if got := f.Accept(p); got != want {
			t.Fatalf("step %d: Accept(%d) = %v, want %v (last %d)", i, p, got, want, ref.last)
		}
	}
}

func TestBasics(t *testing.T) {
	var f Filter
	steps := []struct {
		n    uint64
		want bool
	}{
		{5, true}, {5, false}, {4, true}, {4, false}, {6, true}, {3, true},
		{5 + Window, true}, {6, true /* 6 was seen but... */},
	}
	// 6 was accepted earlier; after jumping to 5+Window it is exactly Window-1
	// behind, still inside the window, so it must be refused as a replay.
	steps[len(steps)-1].want = false
	for i, s := range steps {
		if got := f.Accept(s.n); got != s.want {
			t.Fatalf("step %d: Accept(%d) = %v, want %v", i, s.n, got, s.want)
		}
	}
	if f.Accept(5) { // now Window behind: too old
		t.Fatal("Accept of a number Window behind succeeded")
	}
	if last, ok := f.Last(); !ok || last != 5+Window {
		t.Fatalf("Last = %d, %v", last, ok)
	}
	f.Reset()
	if !f.Accept(1) {
		t.Fatal("after Reset, 1 refused")
	}
}

func TestAllocs(t *testing.T) {
	var f Filter
	n := uint64(0)
	if a := testing.AllocsPerRun(1000, func() { n += 3; f.Accept(n); f.Accept(n - 1) }); a != 0 {
		t.Fatalf("Accept allocates %v times", a)
	}
}

func BenchmarkAccept(b *testing.B) {
	var f Filter
	b.ReportAllocs()
	n := uint64(0)
	for b.Loop() {
		n++
		f.Accept(n)
	}
}
