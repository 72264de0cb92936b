package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listen opens a unixgram socket standing in for systemd's notify socket
// and points $NOTIFY_SOCKET at it.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	return conn
}

// receive returns the next datagram, failing the test if none comes.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification received: %v", err)
	}
	return string(buf[:n])
}

func TestDatagrams(t *testing.T) {
	conn := listen(t, filepath.Join(t.TempDir(), "notify"))
	n := New()
	if !n.Enabled() {
		t.Fatal("Enabled() = false with NOTIFY_SOCKET set")
	}
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"Ready", n.Ready, "READY=1"},
		{"Stopping", n.Stopping, "STOPPING=1"},
		{"Watchdog", n.Watchdog, "WATCHDOG=1"},
		{"Status", func() error { return n.Status("streaming: 30 fps") }, "STATUS=streaming: 30 fps"},
		{"Status with newlines", func() error { return n.Status("a\nREADY=1\r\x00b") }, "STATUS=a READY=1  b"},
		{"Status too long", func() error { return n.Status(strings.Repeat("é", 600)) }, "STATUS=" + strings.Repeat("é", 512)},
		{"Send", func() error { return n.Send("READY=1", "STATUS=up") }, "READY=1\nSTATUS=up"},
	}
	for _, tc := range tests {
		if err := tc.send(); err != nil {
			t.Fatalf("%s() error: %v", tc.name, err)
		}
		if got := receive(t, conn); got != tc.want {
			t.Errorf("%s() sent %q, want %q", tc.name, got, tc.want)
		}
	}
}

func monotonicUsec(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

func TestReloading(t *testing.T) {
	conn := listen(t, filepath.Join(t.TempDir(), "notify"))
	before := monotonicUsec(t)
	if err := New().Reloading(); err != nil {
		t.Fatalf("Reloading() error: %v", err)
	}
	after := monotonicUsec(t)
	got := receive(t, conn)
	first, second, ok := strings.Cut(got, "\n")
	if !ok || first != "RELOADING=1" || !strings.HasPrefix(second, "MONOTONIC_USEC=") {
		t.Fatalf("Reloading() sent %q, want RELOADING=1 then MONOTONIC_USEC=N", got)
	}
	usec, err := strconv.ParseInt(strings.TrimPrefix(second, "MONOTONIC_USEC="), 10, 64)
	if err != nil || usec < before || usec > after {
		t.Errorf("Reloading() sent %q, want MONOTONIC_USEC between %d and %d", second, before, after)
	}
}

func TestAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("@vstreamd-sdnotify-test-%d-%d", syscall.Getpid(), time.Now().UnixNano())
	conn := listen(t, name)
	if err := New().Ready(); err != nil {
		t.Fatalf("Ready() to %s: %v", name, err)
	}
	if got := receive(t, conn); got != "READY=1" {
		t.Errorf("Ready() sent %q, want READY=1", got)
	}
}

func TestInert(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "10000000") // no watchdog without a socket to ping
	for name, n := range map[string]*Notifier{"unset": New(), "nil": nil} {
		if n.Enabled() {
			t.Errorf("%s: Enabled() = true", name)
		}
		for _, err := range []error{n.Ready(), n.Reloading(), n.Stopping(), n.Status("x"), n.Watchdog(), n.Send("A=1")} {
			if err != nil {
				t.Errorf("%s: a send returned %v, want nil", name, err)
			}
		}
		if d, ok := n.WatchdogInterval(); ok || d != 0 {
			t.Errorf("%s: WatchdogInterval() = %v, %v; want 0, false", name, d, ok)
		}
	}
}

func TestSendErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	t.Setenv("NOTIFY_SOCKET", missing)
	err := New().Ready()
	if !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "READY=1") {
		t.Errorf("Ready() to a missing socket: error = %v, want ENOENT naming the message", err)
	}

	t.Setenv("NOTIFY_SOCKET", "vsock:2:1234")
	if err := New().Ready(); !errors.Is(err, ErrUnsupportedSocket) {
		t.Errorf("Ready() to vsock: error = %v, want ErrUnsupportedSocket", err)
	}

	listen(t, filepath.Join(t.TempDir(), "notify"))
	for _, bad := range []string{"READY", "A=1\nB=2", "A=\x00"} {
		if err := New().Send(bad); err == nil {
			t.Errorf("Send(%q) = nil, want an error", bad)
		}
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(syscall.Getpid())
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"10000000", "", 10 * time.Second, true},
		{"10000000", self, 10 * time.Second, true},
		{"10000000", "1", 0, false}, // for another process
		{"10000000", "x", 0, false},
		{"", self, 0, false},
		{"0", "", 0, false},
		{"-5", "", 0, false},
		{"soon", "", 0, false},
		{"99999999999999999999", "", 0, false},
		{"9223372036854775807", "", time.Duration(9223372036854775807/1000) * time.Microsecond, true},
	}
	for _, tc := range tests {
		t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify") // only read, never sent to here
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", tc.pid)
		d, ok := New().WatchdogInterval()
		if d != tc.want || ok != tc.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: WatchdogInterval() = %v, %v; want %v, %v", tc.usec, tc.pid, d, ok, tc.want, tc.ok)
		}
	}
}
