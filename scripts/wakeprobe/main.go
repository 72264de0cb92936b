// Command wakeprobe measures how long this machine takes to hand a UDP
// datagram from one process to another over loopback: a child process
// waits in a read, as a transport's receive loop does; the parent sends it
// one datagram every -every carrying the time it was sent; the child
// prints the percentiles of the time from send to the read's return. There
// is nothing of vstreamd in the path, so, run beside scripts/bench.sh, it
// shows the floor under any transport's latency on this machine at that
// load: the kernel waking a sleeping reader and giving it a CPU.
//
//	go run ./scripts/wakeprobe -duration 20s &   # beside a benchmark
//	scripts/bench.sh -conditions clean -parity 0.25 -codec jpeg -duration 15s
//	wait
//
// It sends only to the loopback address, -duration / -every datagrams.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wakeprobe:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("wakeprobe", flag.ContinueOnError)
	duration := fs.Duration("duration", 15*time.Second, "how long to send")
	every := fs.Duration("every", time.Second/30, "time between datagrams (a frame interval)")
	child := fs.Int("child", 0, "internal: receive this many datagrams and print the percentiles")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *child > 0 {
		return receive(*child, *duration+5*time.Second, stdout)
	}
	if *every <= 0 || *duration < *every {
		return errors.New("-every must be positive and at most -duration")
	}
	return probe(int(*duration / *every), *every, *duration, stdout)
}

// probe starts the receiving child, sends it n datagrams, one every
// interval, and copies its report to stdout.
func probe(n int, every, duration time.Duration, stdout io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-child", strconv.Itoa(n), "-duration", duration.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		cmd.Process.Kill()
		return errors.New("the receiver did not say where it listens")
	}
	to, err := netip.ParseAddrPort(strings.TrimSpace(lines.Text()))
	if err != nil || !to.Addr().IsLoopback() {
		cmd.Process.Kill()
		return fmt.Errorf("the receiver listens at %q, not a loopback address", lines.Text())
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		cmd.Process.Kill()
		return err
	}
	defer c.Close()
	buf := make([]byte, 8)
	next := time.Now()
	for range n {
		time.Sleep(time.Until(next))
		next = next.Add(every)
		binary.BigEndian.PutUint64(buf, uint64(time.Now().UnixNano()))
		if _, err := c.WriteToUDPAddrPort(buf, to); err != nil {
			cmd.Process.Kill()
			return err
		}
	}
	for lines.Scan() {
		fmt.Fprintln(stdout, lines.Text())
	}
	return lines.Err()
}

// receive listens on loopback, says where, reads up to n datagrams (until
// the deadline), and prints how long each took to arrive.
func receive(n int, deadline time.Duration, stdout io.Writer) error {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintln(stdout, c.LocalAddr().(*net.UDPAddr).AddrPort())
	if err := c.SetReadDeadline(time.Now().Add(deadline)); err != nil {
		return err
	}
	delays := make([]time.Duration, 0, n)
	buf := make([]byte, 64)
	for len(delays) < n {
		k, err := c.Read(buf)
		now := time.Now().UnixNano()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			return err
		}
		if k != 8 {
			continue // not ours
		}
		delays = append(delays, time.Duration(now-int64(binary.BigEndian.Uint64(buf))))
	}
	fmt.Fprintln(stdout, report(delays, n))
	return nil
}

// report formats the percentiles of the delays (nearest rank), and how
// many of the n sent arrived.
func report(d []time.Duration, n int) string {
	if len(d) == 0 {
		return fmt.Sprintf("received 0 of %d datagrams", n)
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := min(len(s)-1, max(0, int(q*float64(len(s))+0.999999)-1))
		return float64(s[i]) / 1e6
	}
	return fmt.Sprintf("received %d of %d datagrams; send to read ms: p50 %.3f p95 %.3f p99 %.3f max %.3f",
		len(s), n, at(0.5), at(0.95), at(0.99), float64(s[len(s)-1])/1e6)
}
