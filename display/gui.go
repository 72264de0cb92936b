package display

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// guiThread runs functions on one goroutine locked to its OS thread.
//
// highgui must be called from one OS thread for the life of the process,
// not one thread per window: Debian's OpenCV draws windows with Qt, whose
// application object belongs to the thread that opened the first window. A
// second window from another thread made Qt warn "Timers cannot be started
// from another thread" and the call never returned; if the first thread has
// ended (a locked goroutine that returns takes its thread with it), every
// later call would. So all windows of the process share this thread.
type guiThread struct {
	calls chan func()
}

// processGUI returns the process's GUI thread, starting it on first use.
// It is the package's only global, because the toolkit it serves is global
// to the process; its goroutine never ends.
var processGUI = sync.OnceValue(func() *guiThread {
	g := &guiThread{calls: make(chan func())}
	go g.run()
	return g
})

func (g *guiThread) run() {
	runtime.LockOSThread() // never unlocked: the thread stays highgui's
	for f := range g.calls {
		f()
	}
}

// do runs f on the GUI thread and waits for it.
func (g *guiThread) do(f func()) {
	done := make(chan struct{})
	g.calls <- func() {
		defer close(done)
		f()
	}
	<-done
}

// checkDisplay makes sure an X server is there before highgui first runs:
// without one, Qt aborts the whole process rather than returning an error.
func checkDisplay() error {
	if p := os.Getenv("QT_QPA_PLATFORM"); p != "" && !strings.HasPrefix(p, "xcb") {
		return nil // another Qt platform (offscreen, wayland, ...): Qt will say
	}
	d := os.Getenv("DISPLAY")
	if d == "" {
		return fmt.Errorf("display: window: DISPLAY is not set: there is no screen to open a window on (use the null or record sink on a headless machine, or run under Xvfb)")
	}
	addrs, err := xAddrs(d)
	if err != nil {
		return fmt.Errorf("display: window: DISPLAY=%s: %w", d, err)
	}
	var last error
	for _, a := range addrs {
		c, err := net.DialTimeout(a[0], a[1], 2*time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		last = err
	}
	return fmt.Errorf("display: window: no X server answers on DISPLAY=%s (%w); opening a window there would abort the process", d, last)
}

// xAddrs returns the network and address pairs an X display name
// "[host]:N[.S]" is served on.
func xAddrs(d string) ([][2]string, error) {
	host, rest, ok := strings.Cut(d, ":")
	if !ok {
		return nil, fmt.Errorf("want [host]:N")
	}
	num, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("display number %q: want [host]:N", num)
	}
	if host == "" || host == "unix" {
		sock := "/tmp/.X11-unix/X" + strconv.Itoa(n)
		return [][2]string{{"unix", sock}, {"unix", "@" + sock}}, nil
	}
	return [][2]string{{"tcp", net.JoinHostPort(host, strconv.Itoa(6000+n))}}, nil
}
