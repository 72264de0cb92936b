package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/display"
	"github.com/vstreamd/vstreamd/display/glass"
)

// The local measurement leaves the network and the sender out: a child
// process (this binary with -show-child) makes pattern frames and hands
// each one, JPEG as the sender would send it, to a window sink of its own
// (display.Open, as vstreamd's receiver does), printing for every frame
// the moment it called Show. The parent reads the window as in the call
// measurement. Screen time minus Show time is what follows a frame's
// completion at a receiver: the hand-off to the sink's goroutine, the
// decode, highgui's IMShow and WaitKey (Qt paints then) and X.

// showChild runs in the child: it shows pattern frames in a window until
// ctx is done, writing "SEQ UNIXNANO" for every Show to out.
func showChild(ctx context.Context, o options, out io.Writer) error {
	src, err := capture.Open(capture.Config{Kind: media.SourcePattern, Width: o.width, Height: o.height, FPS: o.fps}, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	snk, err := display.Open(display.Config{Kind: media.SinkWindow, Title: o.title, Overlay: true}, nil)
	if err != nil {
		return err
	}
	defer snk.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()
	var buf []byte
	for {
		f, err := src.Next(ctx, buf[:0])
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		buf = f.Data
		at := time.Now()
		snk.Show(media.Received{Data: f.Data, ID: uint32(f.Seq), Captured: f.Captured})
		fmt.Fprintf(w, "%d %d\n", uint32(f.Seq), at.UnixNano())
		if err := w.Flush(); err != nil {
			return err
		}
		if st := snk.Status(); st.DecodeMs > 0 && f.Seq%30 == 0 {
			fmt.Fprintf(os.Stderr, "decode %d\n", int64(st.DecodeMs*1e6))
		}
	}
}

// localResult is the local measurement's outcome.
type localResult struct {
	glass.Result
	P50, P95, P99 time.Duration // screen time minus Show time
	Matched       int
	DecodeMs      float64 // the sink's mean decode time
}

// measureLocal runs the child on an Xvfb display and reads its window.
func measureLocal(ctx context.Context, o options, log io.Writer) (*localResult, error) {
	x, err := glass.StartXvfb(fmt.Sprintf("%dx%dx24", max(o.width+320, 1920), max(o.height+320, 1080)))
	if err != nil {
		return nil, err
	}
	defer x.Stop()
	title := fmt.Sprintf("vstreamd glass local %d", os.Getpid())
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(cctx, self, "-show-child", "-title", title,
		"-width", strconv.Itoa(o.width), "-height", strconv.Itoa(o.height), "-fps", strconv.Itoa(o.fps))
	cmd.Env = append(os.Environ(), "DISPLAY="+x.Display)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { cancel(); _ = cmd.Wait() }()

	var mu sync.Mutex
	shown := map[uint32]time.Time{}
	var decodeNs int64
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var seq uint32
			var ns int64
			if _, err := fmt.Sscan(sc.Text(), &seq, &ns); err == nil {
				mu.Lock()
				shown[seq] = time.Unix(0, ns)
				mu.Unlock()
			}
		}
	})
	wg.Go(func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "decode "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				mu.Lock()
				decodeNs = n
				mu.Unlock()
			} else {
				fmt.Fprintln(log, "glass: child:", sc.Text())
			}
		}
	})
	win, err := glass.FindWindow(x.Display, title, 30*time.Second)
	if err != nil {
		return nil, err
	}
	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	fmt.Fprintf(log, "glass: reading the local window %#x for %v\n", win, o.duration)
	res, err := glass.Measure(ctx, glass.Options{Display: x.Display, Window: win, Width: o.width, Duration: o.duration, Interval: o.interval, NoShm: o.noShm})
	if err != nil {
		return nil, err
	}
	cancel()
	_ = cmd.Wait()
	wg.Wait()
	lr := &localResult{Result: res, DecodeMs: float64(decodeNs) / 1e6}
	var after []time.Duration
	for _, s := range res.Samples {
		if t, ok := shown[s.Seq]; ok {
			after = append(after, s.Seen.Sub(t))
		}
	}
	lr.Matched = len(after)
	lr.P50, lr.P95, lr.P99 = percentiles(after)
	return lr, nil
}

func (r *localResult) print(w io.Writer, o options) {
	fmt.Fprintf(w, "from Show to the screen (no network, no sender), %dx%d at %d fps, %.0f s, window read every %.2f ms\n",
		o.width, o.height, o.fps, o.duration.Seconds(), float64(r.Period)/1e6)
	fmt.Fprintf(w, "  Show to screen   p50 %.1f ms, p95 %.1f ms, p99 %.1f ms over %d frames (of %d seen)\n",
		ms(r.P50), ms(r.P95), ms(r.P99), r.Matched, r.Frames())
	fmt.Fprintf(w, "  of which decode  %.1f ms (mean); the rest is the hand-off, IMShow and WaitKey (Qt paints) and X\n", r.DecodeMs)
}
