package main

import (
	"os/exec"
	"time"

	"github.com/vstreamd/vstreamd/scripts/procstat"
)

// procsCPU is the sum of procCPU over the processes.
func procsCPU(pids ...int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		t, err := procstat.CPU(pid)
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
