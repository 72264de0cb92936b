package alarm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// Until returns at the time asked, never before it, and at once for a time
// that has passed; For sleeps at least as long as asked.
func TestUntil(t *testing.T) {
	a := New()
	defer a.Close()
	ctx := context.Background()
	for _, d := range []time.Duration{0, -time.Second, 50 * time.Microsecond, 3 * time.Millisecond, 12 * time.Millisecond} {
		at := time.Now().Add(d)
		if err := a.Until(ctx, at); err != nil {
			t.Fatalf("Until %v ahead: %v", d, err)
		}
		if now := time.Now(); now.Before(at) {
			t.Fatalf("Until %v ahead returned %v early", d, at.Sub(now))
		}
	}
	start := time.Now()
	if err := a.For(ctx, 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 5*time.Millisecond {
		t.Fatalf("For 5 ms slept %v", got)
	}
}

// A done context ends a sleep an hour long, and the next sleep with
// another context works; a context done before the call ends it at once.
func TestUntilContext(t *testing.T) {
	a := New()
	defer a.Close()
	for round := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		w := a.waits.Load()
		go func() { done <- a.Until(ctx, time.Now().Add(time.Hour)) }()
		sleeping(t, a, w)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: Until after cancel = %v, want context.Canceled", round, err)
		}
		if err := a.For(context.Background(), time.Millisecond); err != nil {
			t.Fatalf("round %d: For after a cancelled sleep: %v", round, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Until(ctx, time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Until with a done context = %v, want context.Canceled", err)
	}
}

// Stop ends a sleep an hour long and every later one; so does Close, from
// another goroutine, also with a context that never ends.
func TestStopAndClose(t *testing.T) {
	for _, how := range []string{"Stop", "Close"} {
		t.Run(how, func(t *testing.T) {
			a := New()
			defer a.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- a.Until(ctx, time.Now().Add(time.Hour)) }()
			sleeping(t, a, 0)
			if how == "Stop" {
				a.Stop()
			} else {
				_ = a.Close()
			}
			if err := <-done; !errors.Is(err, ErrStopped) {
				t.Fatalf("Until after %s = %v, want ErrStopped", how, err)
			}
			if err := a.For(context.Background(), time.Millisecond); !errors.Is(err, ErrStopped) {
				t.Fatalf("For after %s = %v, want ErrStopped", how, err)
			}
		})
	}
}

// A sleeper that passes the same context each time allocates nothing.
func TestUntilAllocs(t *testing.T) {
	a := New()
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = a.For(ctx, 10*time.Microsecond) // registers ctx
	if n := testing.AllocsPerRun(50, func() {
		if err := a.For(ctx, 10*time.Microsecond); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per sleep, want 0", n)
	}
}

// The fallback (no timerfd) keeps the same contract.
func TestTimerFallback(t *testing.T) {
	a := &Alarm{stopCh: make(chan struct{})}
	at := time.Now().Add(2 * time.Millisecond)
	if err := a.Until(context.Background(), at); err != nil || time.Now().Before(at) {
		t.Fatalf("Until: %v, returned early: %v", err, time.Now().Before(at))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Until(ctx, time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Until with a done context = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Until(context.Background(), time.Now().Add(time.Hour)) }()
	a.Stop()
	if err := <-done; !errors.Is(err, ErrStopped) {
		t.Fatalf("Until after Stop = %v, want ErrStopped", err)
	}
}

// sleeping waits until a has begun a sleep after the first w.
func sleeping(t *testing.T, a *Alarm, w uint64) {
	t.Helper()
	testutil.WaitFor(t, "the sleep to begin", 5*time.Second, func() bool { return a.waits.Load() > w })
}
