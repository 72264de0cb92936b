package sdnotify_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/vstreamd/vstreamd/daemon/sdnotify"
)

// A daemon tells systemd it is ready once its sockets are bound, then pings
// the watchdog at half the interval from the loop whose progress shows it is
// healthy, and says when it stops. Outside systemd every call does nothing.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n := sdnotify.New()

	// ... bind the UDP and control sockets ...
	if err := n.Ready(); err != nil {
		slog.Warn("systemd notification failed", "err", err)
	}
	n.Status("waiting for the peer")

	var tick <-chan time.Time
	if interval, ok := n.WatchdogInterval(); ok {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			n.Watchdog()
		case <-ctx.Done():
			n.Stopping()
			return
		}
	}
}
