package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runqueueWait returns the total time the threads of a process have spent
// runnable but waiting for a CPU, from /proc/PID/task/*/schedstat (second
// field, nanoseconds). Threads that have exited are not counted.
func runqueueWait(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return 0, fmt.Errorf("%s/%s/schedstat: %q has fewer than 2 fields", dir, t.Name(), b)
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s/%s/schedstat: wait %q is not a number", dir, t.Name(), f[1])
		}
		total += n
	}
	return time.Duration(total), nil
}

// memory is what /proc/PID/status says about a process's memory, in bytes.
type memory struct {
	peak uint64 // VmHWM: peak resident set size
	anon uint64 // RssAnon: resident anonymous memory now (heap, stacks)
}

// readMemory reads a process's peak and anonymous resident memory.
func readMemory(pid int) (memory, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	f, err := os.Open(path)
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	fields := map[string]*uint64{"VmHWM:": &m.peak, "RssAnon:": &m.anon}
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, _ := strings.Cut(sc.Text(), "\t")
		dst, ok := fields[key]
		if !ok {
			continue
		}
		kb, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		n, err := strconv.ParseUint(strings.TrimSpace(kb), 10, 64)
		if !ok || err != nil {
			return memory{}, fmt.Errorf("%s: unexpected line %q", path, sc.Text())
		}
		*dst = n << 10
		found++
	}
	if err := sc.Err(); err != nil {
		return memory{}, err
	}
	if found != len(fields) {
		return memory{}, fmt.Errorf("%s: no VmHWM or RssAnon line", path)
	}
	return m, nil
}

// udpDrops returns the kernel's drop count for the UDP socket bound to port
// in the network namespace of process pid: datagrams that arrived while its
// receive buffer was full. It reads /proc/PID/net/udp (and udp6), whose last
// column is "drops".
func udpDrops(pid int, port uint16) (uint64, error) {
	want := fmt.Sprintf(":%04X", port)
	for _, name := range []string{"udp", "udp6"} {
		path := fmt.Sprintf("/proc/%d/net/%s", pid, name)
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		for _, line := range lines[min(1, len(lines)):] {
			f := strings.Fields(line)
			if len(f) < 13 || !strings.HasSuffix(f[1], want) {
				continue
			}
			n, err := strconv.ParseUint(f[len(f)-1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: drops column %q is not a number", path, f[len(f)-1])
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no UDP socket on port %d in /proc/%d/net/udp", port, pid)
}
