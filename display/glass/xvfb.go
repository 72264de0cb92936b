package glass

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Xvfb is a private virtual X server for a measurement.
type Xvfb struct {
	Display string // ":N"
	cmd     *exec.Cmd
	done    chan struct{}
}

// StartXvfb starts Xvfb with one screen of geometry screen ("1600x900x24")
// on a display number it picks itself (-displayfd), so it never collides
// with another X server, and waits until it accepts connections. Stop it
// with Stop.
func StartXvfb(screen string) (*Xvfb, error) {
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, fmt.Errorf("glass: no Xvfb: install the xvfb package (scripts/install-deps.sh)")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", screen, "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // never outlive the measurement
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("glass: starting Xvfb: %w", err)
	}
	w.Close()
	x := &Xvfb{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(x.done) }()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			x.Stop()
			return nil, fmt.Errorf("glass: Xvfb did not report its display (%q): %s", s, stderr.String())
		}
		x.Display = ":" + strconv.Itoa(n)
		return x, nil
	case <-time.After(20 * time.Second):
		x.Stop()
		return nil, fmt.Errorf("glass: Xvfb did not start within 20 s: %s", stderr.String())
	}
}

// Stop stops the server and waits for it.
func (x *Xvfb) Stop() {
	_ = x.cmd.Process.Signal(os.Interrupt)
	select {
	case <-x.done:
	case <-time.After(5 * time.Second):
		_ = x.cmd.Process.Kill()
		<-x.done
	}
}

// FindWindow returns the id of the first visible window on display whose
// name matches name (a regular expression), with xdotool, waiting up to
// limit for it to appear.
func FindWindow(display, name string, limit time.Duration) (uint32, error) {
	if _, err := exec.LookPath("xdotool"); err != nil {
		return 0, fmt.Errorf("glass: no xdotool to find the window with: install xdotool (scripts/install-deps.sh)")
	}
	deadline := time.Now().Add(limit)
	for {
		cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", name)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, _ := cmd.Output()
		if first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); first != "" {
			id, err := strconv.ParseUint(first, 10, 32)
			if err != nil {
				return 0, fmt.Errorf("glass: xdotool printed %q", first)
			}
			return uint32(id), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("glass: no window named %q on %s after %v", name, display, limit)
		}
		time.Sleep(100 * time.Millisecond) // another process's window: nothing to wait on but polling
	}
}
