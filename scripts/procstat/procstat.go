// Package procstat reads a process's CPU time from /proc/PID/stat, for the
// benchmark scripts (scripts/bench, scripts/srtcompare).
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the unit of /proc/PID/stat's times: USER_HZ, which the Linux
// ABI fixes at 100 on every architecture Go supports.
const ClockTick = 10 * time.Millisecond

// CPU returns the user plus system time process pid has used, all its
// threads, from /proc/PID/stat.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return Parse(string(b))
}

// Parse reads utime and stime, fields 14 and 15 of a /proc/PID/stat line,
// counted after the command name (field 2), which is in parentheses and may
// hold spaces and parentheses itself.
func Parse(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("stat %q: %d fields after the command name, want at least 13", s, len(f))
	}
	var total int64
	for _, field := range f[11:13] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("stat %q: utime and stime must be counts: %q", s, field)
		}
		total += n
	}
	return time.Duration(total) * ClockTick, nil
}

// LoadAvg returns the first n (1 to 3) of the 1, 5 and 15 minute load
// averages as /proc/loadavg writes them, joined by spaces, or "?" when it
// can not be read.
func LoadAvg(n int) string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if n = min(max(n, 1), 3); len(f) < n {
		return "?"
	}
	return strings.Join(f[:n], " ")
}
