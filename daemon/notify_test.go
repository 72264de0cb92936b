package daemon_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/fake"
	"github.com/vstreamd/vstreamd/daemon/sdnotify"
)

// TestSystemdNotify runs a daemon as systemd would: READY=1 once its
// sockets are bound, a STATUS= line, watchdog pings at half the interval,
// STOPPING=1 on the way out.
func TestSystemdNotify(t *testing.T) {
	ln := fakeSystemd(t, 400*time.Millisecond) // pings every 200 ms
	pa, pb := freePort(t), freePort(t)
	d, err := daemon.New(daemon.Options{Config: testConfig(t, pa, pb), Sink: fake.NewSink(), Notifier: sdnotify.New()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	var got []string
	buf := make([]byte, 4096)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		_ = ln.SetReadDeadline(deadline)
		n, err := ln.Read(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
		if len(got) == 1 {
			// READY=1 comes only once the UDP socket is bound.
			if d.LocalAddr() != pa {
				t.Errorf("READY=1 before the socket was bound (local %v)", d.LocalAddr())
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = ln.SetReadDeadline(time.Now().Add(time.Second))
	for {
		n, err := ln.Read(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
		if strings.HasPrefix(got[len(got)-1], "STOPPING=1") {
			break
		}
	}
	count := func(prefix string) int {
		n := 0
		for _, m := range got {
			if strings.HasPrefix(m, prefix) {
				n++
			}
		}
		return n
	}
	if len(got) == 0 || got[0] != "READY=1" {
		t.Fatalf("first notification %q, want READY=1 (all: %q)", first(got), got)
	}
	if count("STATUS=waiting") == 0 {
		t.Errorf("no STATUS= line naming the state: %q", got)
	}
	if w := count("WATCHDOG=1"); w < 4 || w > 9 {
		t.Errorf("%d watchdog pings in about 1.5 s with a 400 ms watchdog, want one every 200 ms", w)
	}
	if got[len(got)-1] != "STOPPING=1" {
		t.Errorf("last notification %q, want STOPPING=1", got[len(got)-1])
	}
}

// fakeSystemd listens where systemd would for notifications and points
// this test's environment at it, with a watchdog of the given interval.
func fakeSystemd(t *testing.T, watchdog time.Duration) *net.UnixConn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", strconv.FormatInt(watchdog.Microseconds(), 10))
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	return ln
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
