package display

import (
	"runtime"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
)

// niceRenderer reports the nice value of the thread that renders.
type niceRenderer struct {
	nullRenderer
	nice chan int
}

func (r niceRenderer) render(*gocv.Mat, []byte, media.Received, *media.SinkStatus) error {
	n, _ := sched.Nice()
	r.nice <- n
	return nil
}

// TestSinkRunsInBackground checks that the sink decodes and renders below
// the transport's priority (daemon/sched).
func TestSinkRunsInBackground(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread priorities are Linux's")
	}
	r := niceRenderer{nice: make(chan int, 1)}
	s := newSink(Config{Kind: media.SinkNull}, nil, r)
	go s.run()
	closeT(t, s)
	s.Show(toShow(patternFrames(t, 320, 180, 80, 1)[0]))
	base, err := sched.Nice()
	if got, want := <-r.nice, min(base+sched.BackgroundNice, 19); err != nil || got != want {
		t.Fatalf("the sink rendered at nice %d, want %d (the caller's is %d, %v)", got, want, base, err)
	}
}
