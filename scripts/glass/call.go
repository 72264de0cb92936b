package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/web"
)

// endpoint is one running vstreamd.
type endpoint struct {
	name, bin, sock, logPath string
	cmd                      *exec.Cmd
	done                     chan struct{}
}

// callConfig is what the two endpoints run with.
type callConfig struct {
	Width, Height, FPS int
	Title              string // the receiver's window title
	Extra              string // TOML appended to both config files
	RxHTTP             int    // the receiver's [http] port, for /api/frames
	Codec              string // [capture] codec of the sender; "": the default
}

// startCall starts the receiver B (source none, window sink on display)
// and the sender A (the pattern, no sink) calling each other on loopback,
// encrypted as deployed, with their files in dir.
func startCall(bin, dir, display string, cc callConfig) (a, b *endpoint, err error) {
	psk := filepath.Join(dir, "psk")
	if out, err := exec.Command(bin, "genkey", "-o", psk).CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("genkey: %v: %s", err, out)
	}
	pa, err := freeUDPPort()
	if err != nil {
		return nil, nil, err
	}
	pb, err := freeUDPPort()
	if err != nil {
		return nil, nil, err
	}
	write := func(name string, port, peer int, capture, display string) (string, error) {
		cfg := filepath.Join(dir, name+".toml")
		body := fmt.Sprintf(`listen = "127.0.0.1:%d"
peer = "127.0.0.1:%d"
[capture]
%s
[display]
%s
[control]
socket = %q
[security]
key_file = "psk"
%s
`, port, peer, capture, display, filepath.Join(dir, name+".sock"), strings.ReplaceAll(cc.Extra, "] ", "]\n"))
		return cfg, os.WriteFile(cfg, []byte(body), 0o600)
	}
	cfgA, err := write("a", pa, pb, fmt.Sprintf("source = \"pattern\"\nwidth = %d\nheight = %d\nfps = %d%s", cc.Width, cc.Height, cc.FPS, codecLine(cc.Codec)), `sink = "none"`)
	if err != nil {
		return nil, nil, err
	}
	cfgB, err := write("b", pb, pa, `source = "none"`, fmt.Sprintf("sink = \"window\"\ntitle = %q\n[http]\nlisten = \"127.0.0.1:%d\"", cc.Title, cc.RxHTTP))
	if err != nil {
		return nil, nil, err
	}
	if b, err = startEndpoint("B", bin, cfgB, dir, "DISPLAY="+display); err != nil {
		return nil, nil, err
	}
	if a, err = startEndpoint("A", bin, cfgA, dir); err != nil {
		b.stop()
		return nil, nil, err
	}
	return a, b, nil
}

func codecLine(codec string) string {
	if codec == "" {
		return ""
	}
	return fmt.Sprintf("\ncodec = %q", codec)
}

func startEndpoint(name, bin, cfg, dir string, env ...string) (*endpoint, error) {
	e := &endpoint{name: name, bin: bin, sock: cfg[:len(cfg)-len(".toml")] + ".sock",
		logPath: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(e.logPath)
	if err != nil {
		return nil, err
	}
	e.cmd = exec.Command(bin, "run", "-config", cfg)
	e.cmd.Stdout, e.cmd.Stderr = f, f
	e.cmd.Env = append(os.Environ(), env...)
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { _ = e.cmd.Wait(); f.Close(); close(e.done) }()
	return e, nil
}

// status asks the endpoint for its status.
func (e *endpoint) status() (daemon.Status, error) {
	var s daemon.Status
	out, err := exec.Command(e.bin, "status", "-json", "-socket", e.sock).Output()
	if err != nil {
		return s, fmt.Errorf("%s status: %w", e.name, err)
	}
	return s, json.Unmarshal(out, &s)
}

// waitStatus polls the status until ok says yes, for up to limit.
func (e *endpoint) waitStatus(ctx context.Context, limit time.Duration, ok func(daemon.Status) bool) (daemon.Status, error) {
	end := time.Now().Add(limit)
	for {
		s, err := e.status()
		if err == nil && ok(s) {
			return s, nil
		}
		if time.Now().After(end) || e.exited() {
			return s, fmt.Errorf("%s: not ready after %v (last error %v); its log: %s", e.name, limit, err, e.logPath)
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (e *endpoint) exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// stop ends the daemon with SIGTERM (SIGKILL after 5 s) and waits for it.
func (e *endpoint) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

// frameTimes fetches the receiver's delivered frames' times from its
// /api/frames, keyed by capture time in Unix milliseconds (what the pattern
// draws), with the completion time.
func frameTimes(port int) (map[int64]time.Time, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/frames", port))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var frames []web.FrameTimes
	if err := json.NewDecoder(resp.Body).Decode(&frames); err != nil {
		return nil, fmt.Errorf("/api/frames: %w", err)
	}
	out := make(map[int64]time.Time, len(frames))
	for _, f := range frames {
		out[time.Unix(0, f.SenderTime).UnixMilli()] = time.Unix(0, f.Completed)
	}
	return out, nil
}

func freeTCPPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func freeUDPPort() (int, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
