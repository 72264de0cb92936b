// Package sdnotify tells systemd how the daemon is doing, speaking the
// sd_notify(3) protocol: one datagram of "KEY=VALUE" lines sent to the unix
// socket named by $NOTIFY_SOCKET.
//
// A service with Type=notify calls Ready once it can do its job (for
// vstreamd: the UDP socket and the control socket are bound), Reloading and
// then Ready again around a reload, Status whenever its one-line summary
// changes, Watchdog regularly when WatchdogInterval reports a watchdog, and
// Stopping when it begins to shut down.
//
// Outside systemd ($NOTIFY_SOCKET unset) a Notifier is inert: every method
// does nothing and returns nil. A nil *Notifier behaves the same way.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// sendTimeout bounds a send: datagram sockets block when the receiver's
// queue is full, and a stuck service manager must not stall the daemon.
const sendTimeout = time.Second

// maxStatus bounds a STATUS= line; systemctl shows one line anyway.
const maxStatus = 1024

// ErrUnsupportedSocket is returned by sends when $NOTIFY_SOCKET names
// neither a path ("/run/...") nor an abstract socket ("@name").
var ErrUnsupportedSocket = errors.New("unsupported NOTIFY_SOCKET address")

// Notifier sends notifications to systemd. It holds no connection (each
// message is one datagram on a fresh socket) and is safe for concurrent use.
type Notifier struct {
	socket   string        // $NOTIFY_SOCKET; "" when not under systemd
	watchdog time.Duration // from $WATCHDOG_USEC, 0 when off or not for us
}

// New returns a Notifier for the socket in $NOTIFY_SOCKET, a filesystem path
// or an abstract socket written "@name". It reads $WATCHDOG_USEC and
// $WATCHDOG_PID too. When $NOTIFY_SOCKET is unset the Notifier is inert.
//
// New does not unset the variables: the daemon starts no child processes
// that could inherit and misuse them.
func New() *Notifier {
	return &Notifier{
		socket:   os.Getenv("NOTIFY_SOCKET"),
		watchdog: watchdogFromEnv(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid()),
	}
}

// watchdogFromEnv parses $WATCHDOG_USEC, honouring $WATCHDOG_PID: when that
// names another process, the watchdog is not ours to ping.
func watchdogFromEnv(usec, pid string, self int) time.Duration {
	n, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || n == 0 {
		return 0
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p != self {
			return 0
		}
	}
	return time.Duration(min(n, uint64(1<<63-1)/1000)) * time.Microsecond
}

// Enabled reports whether n sends anything, that is whether the process runs
// under systemd with notification on (Type=notify).
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Ready sends READY=1: start-up, or a reload, is complete.
func (n *Notifier) Ready() error { return n.Send("READY=1") }

// Reloading sends RELOADING=1 with MONOTONIC_USEC, the CLOCK_MONOTONIC time
// systemd 253 and later require with it (older versions ignore it). Call
// Ready when the reload is done, whether it succeeded or not.
func (n *Notifier) Reloading() error {
	if !n.Enabled() {
		return nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("sdnotify: read monotonic clock: %w", err)
	}
	usec := ts.Nano() / 1000
	return n.Send("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(usec, 10))
}

// Stopping sends STOPPING=1: the daemon is shutting down.
func (n *Notifier) Stopping() error { return n.Send("STOPPING=1") }

// Status sends STATUS=line, the one-line summary `systemctl status` shows.
// Newlines and other control characters in line become spaces, so a line
// can not smuggle in other assignments; a line longer than 1024 bytes is cut.
func (n *Notifier) Status(line string) error {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, line)
	if len(clean) > maxStatus {
		clean = strings.ToValidUTF8(clean[:maxStatus], "")
	}
	return n.Send("STATUS=" + clean)
}

// Watchdog sends WATCHDOG=1, telling systemd the daemon is alive. Send it
// from the loop whose progress shows health, every WatchdogInterval()/2.
func (n *Notifier) Watchdog() error { return n.Send("WATCHDOG=1") }

// WatchdogInterval returns the watchdog timeout systemd enforces
// (WatchdogSec=, from $WATCHDOG_USEC) and true, or false when there is no
// watchdog for this process. Ping at half the interval, as sd_watchdog_enabled(3)
// recommends, so one late tick does not get the daemon killed.
//
// It reports false when n is not Enabled, as pings would go nowhere.
func (n *Notifier) WatchdogInterval() (time.Duration, bool) {
	if !n.Enabled() || n.watchdog == 0 {
		return 0, false
	}
	return n.watchdog, true
}

// Send sends the assignments ("KEY=VALUE", no newlines) in one datagram.
// It returns nil without sending when n is not Enabled.
func (n *Notifier) Send(assignments ...string) error {
	if !n.Enabled() {
		return nil
	}
	for _, a := range assignments {
		if !strings.Contains(a, "=") || strings.ContainsAny(a, "\n\x00") {
			return fmt.Errorf("sdnotify: malformed assignment %q", a)
		}
	}
	msg := strings.Join(assignments, "\n")
	label := strings.Join(assignments, " ") // for messages
	if n.socket[0] != '/' && n.socket[0] != '@' {
		return fmt.Errorf("sdnotify: send %s to %q: %w", label, n.socket, ErrUnsupportedSocket)
	}
	// An address starting with '@' is an abstract socket: the net package
	// turns the '@' into the leading NUL byte the kernel expects.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: send %s: %w", label, err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return fmt.Errorf("sdnotify: send %s: %w", label, err)
	}
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sdnotify: send %s: %w", label, err)
	}
	return nil
}
