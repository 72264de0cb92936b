package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU returns the user and system time of process pid, all threads,
// from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStat(string(b))
}

// parseStat reads utime and stime, fields 14 and 15 of /proc/PID/stat
// (counted after the command name, which may hold spaces, in parentheses).
func parseStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("stat %q: too few fields", s)
	}
	var total int64
	for _, field := range f[11:13] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat %q: %w", s, err)
		}
		total += n
	}
	return time.Duration(total) * clockTick, nil
}

// procsCPU is the sum of procCPU over the processes.
func procsCPU(pids ...int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		t, err := procCPU(pid)
		if err != nil {
			return 0, err
		}
		total += t
	}
	return total, nil
}

// pids returns the processes' ids.
func pids(cmds ...*exec.Cmd) []int {
	out := make([]int, len(cmds))
	for i, c := range cmds {
		out[i] = c.Process.Pid
	}
	return out
}

// loadAvg returns the 1, 5 and 15 minute load averages as /proc/loadavg
// writes them, or "?" when it can not be read.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
