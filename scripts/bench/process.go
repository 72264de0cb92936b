package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one child: a daemon or the relay, with its output in a file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
}

// startProcess starts bin with args, inside network namespace ns unless ns
// is "". `ip netns exec` replaces itself with the command, so the child's
// PID is the command's.
func startProcess(name, ns, bin string, args []string, logPath string) (*process, error) {
	argv := append([]string{bin}, args...)
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for the process to exit, then
// kills it. It returns an error if the process had to be killed or exited
// with a failure status after SIGTERM.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return p.exitError("had already exited")
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitError("after SIGTERM")
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", p.name, grace)
	}
}

func (p *process) exitError(when string) error {
	if p.waitErr == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w\n%s", p.name, when, p.waitErr, p.logTail(20))
}

// logTail returns the last n lines of the process's output, indented.
func (p *process) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "  (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return "  " + strings.Join(lines, "\n  ")
}

// stopAll stops the processes in order and joins their errors.
func stopAll(grace time.Duration, ps ...*process) error {
	var errs []error
	for _, p := range ps {
		if p != nil {
			errs = append(errs, p.stop(grace))
		}
	}
	return errors.Join(errs...)
}

// commandOutput runs a command and returns its output, with stderr in the
// error when it fails.
func commandOutput(name string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
