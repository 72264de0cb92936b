// Package xvfb starts a private Xvfb X server for the window sink's tests,
// takes screenshots of it with ImageMagick's import and types on it with
// xdotool. It is a test helper: every function takes a testing.TB and
// fails or skips the test itself.
package xvfb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running Xvfb. It is safe for concurrent use.
type Server struct {
	Display string // ":N", the value for DISPLAY
	cmd     *exec.Cmd
}

// Start starts Xvfb with one screen of the given geometry ("1280x800x24")
// on a display number Xvfb picks itself (-displayfd), so it never collides
// with another X server, waits until it accepts connections, sets DISPLAY
// for the rest of the test and stops the server in t.Cleanup.
//
// It skips the test, saying so, only when there is no Xvfb binary; any
// other failure fails the test.
func Start(t testing.TB, screen string) *Server {
	t.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("no Xvfb binary on PATH: install the xvfb package (scripts/install-deps.sh) to run the window tests")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// -displayfd 3: the first of ExtraFiles. -nolisten tcp: only the unix
	// socket. -noreset: keep the server when its last client goes.
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", screen, "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	// If the test binary dies without running its cleanups (a -timeout
	// panic, a crash), the kernel stops Xvfb rather than leaving it running.
	// (Pdeathsig follows the thread that started Xvfb; Go ends threads only
	// for goroutines that exit while locked, which the test's is not.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatalf("starting Xvfb: %v", err)
	}
	w.Close()
	s := &Server{cmd: cmd}
	t.Cleanup(s.stop)

	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		got <- result{line, err}
	}()
	select {
	case res := <-got:
		n, err := strconv.Atoi(strings.TrimSpace(res.line))
		if err != nil {
			t.Fatalf("Xvfb did not report its display (%q, %v); its stderr:\n%s", res.line, res.err, stderr.String())
		}
		s.Display = ":" + strconv.Itoa(n)
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb did not start within 20s; its stderr:\n%s", stderr.String())
	}
	// Xvfb reports the display once it listens; check the socket anyway.
	sock := "/tmp/.X11-unix/X" + strings.TrimPrefix(s.Display, ":")
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatalf("Xvfb on %s: %v", s.Display, err)
	}
	c.Close()
	t.Setenv("DISPLAY", s.Display)
	return s
}

// Attach returns a Server for an X display another process started, for
// screenshots and typing; it does not stop it.
func Attach(display string) *Server { return &Server{Display: display} }

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// Screenshot returns a PNG of the whole screen, taken with ImageMagick's
// import.
func (s *Server) Screenshot(t testing.TB) []byte {
	t.Helper()
	if _, err := exec.LookPath("import"); err != nil {
		t.Fatal("no import binary to take screenshots with: install imagemagick (scripts/install-deps.sh)")
	}
	out, err := s.run("import", "-display", s.Display, "-window", "root", "png:-")
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return out
}

// Key focuses the window whose name matches name (a regular expression)
// and types key on it, through the XTEST extension as a keyboard would.
func (s *Server) Key(t testing.TB, name, key string) {
	t.Helper()
	needXdotool(t)
	id := s.Window(t, name)
	if _, err := s.run("xdotool", "windowfocus", "--sync", id); err != nil {
		t.Fatalf("focusing window %s: %v", id, err)
	}
	if _, err := s.run("xdotool", "key", "--clearmodifiers", key); err != nil {
		t.Fatalf("typing %s: %v", key, err)
	}
}

// Window returns the id of the first visible window whose name matches
// name (a regular expression), waiting up to 10 s for it to appear.
func (s *Server) Window(t testing.TB, name string) string {
	t.Helper()
	needXdotool(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := s.run("xdotool", "search", "--onlyvisible", "--name", name)
		if id, _, _ := strings.Cut(string(out), "\n"); err == nil && id != "" {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("no window named %q on %s: %v", name, s.Display, err)
		}
		time.Sleep(50 * time.Millisecond) // polling another process's view of the screen: nothing to wait on
	}
}

func needXdotool(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("xdotool"); err != nil {
		t.Fatal("no xdotool to type into the window with: install xdotool (scripts/install-deps.sh)")
	}
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+s.Display)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
