package daemon

import (
	"testing"
	"time"
)

// The tick loop's next wake-up stays on its grid, and ticks missed while
// the loop was held up are dropped rather than made up in a burst.
func TestLater(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const every = 250 * time.Millisecond
	for _, c := range []struct {
		now, want time.Duration // after t0
	}{
		{0, every},
		{every - 1, every},
		{every, 2 * every},                 // due now: the next one
		{3*every + 7, 3*every + 7 + every}, // held up past several ticks: one, a period on
	} {
		if got := later(t0, every, t0.Add(c.now)); !got.Equal(t0.Add(c.want)) {
			t.Errorf("later(t0, %v, t0+%v) = t0+%v, want t0+%v", every, c.now, got.Sub(t0), c.want)
		}
	}
}
