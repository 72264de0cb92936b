package capture

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"
)

// frameReader is what the live reader needs of a device: *gocv.VideoCapture
// has it, and tests use a fake camera.
type frameReader interface {
	Read(img *gocv.Mat) bool
}

// maxReadFailures is how many reads in a row may fail before the device is
// given up as gone.
const maxReadFailures = 5

// liveReader reads a device that produces images on its own clock (a
// camera) in its own goroutine, keeping only the newest image. A consumer
// never gets an image older than the newest one, and a slow consumer makes
// the device's buffers neither fill nor go stale.
//
// An image that the consumer wanted (captured after the time given to want)
// but that was replaced by a newer one before it was taken is counted as
// dropped. Images before that time are decimation, not drops.
//
// liveReader is safe for concurrent use by its goroutine and one consumer.
type liveReader struct {
	rd      frameReader
	now     func() time.Time // the clock that stamps images: time.Now but in tests
	release func() error     // closes the device
	name    string
	m       *meter
	fresh   chan struct{} // capacity 1: a new image is there
	done    chan struct{} // closed when the goroutine has ended
	halt    atomic.Bool

	mu      sync.Mutex
	latest  gocv.Mat
	seq     uint64 // number of latest; 0 before the first
	at      time.Time
	taken   bool
	wanting bool      // the consumer has started
	from    time.Time // the consumer wants images captured at or after this
	err     error     // why the goroutine ended
}

func startLive(rd frameReader, now func() time.Time, release func() error, name string, m *meter) *liveReader {
	l := &liveReader{rd: rd, now: now, release: release, name: name, m: m,
		fresh: make(chan struct{}, 1), done: make(chan struct{}), latest: gocv.NewMat()}
	go l.run()
	return l
}

func (l *liveReader) run() {
	defer close(l.done)
	back := gocv.NewMat()
	defer back.Close()
	defer func() {
		l.mu.Lock()
		if l.err == nil {
			l.err = ErrClosed // halted: a waiting consumer must not wait on
		}
		l.mu.Unlock()
	}()
	fails := 0
	for !l.halt.Load() {
		if !l.rd.Read(&back) || back.Empty() {
			fails++
			if fails >= maxReadFailures {
				l.mu.Lock()
				l.err = fmt.Errorf("capture: %s: %d reads in a row failed after %d frames: the device stopped delivering (unplugged?)",
					l.name, fails, l.m.grabbed.Load())
				l.mu.Unlock()
				return
			}
			continue
		}
		fails = 0
		at := l.now()
		l.m.grabbed.Add(1)
		l.mu.Lock()
		if l.seq > 0 && !l.taken && l.wanting && !l.at.Before(l.from) {
			l.m.dropped.Add(1)
		}
		l.latest, back = back, l.latest
		l.seq++
		l.at = at
		l.taken = false
		l.mu.Unlock()
		select {
		case l.fresh <- struct{}{}:
		default:
		}
	}
}

// take swaps the newest image into *img if it is newer than after and was
// captured at or after from. Without one, it returns the reader's error if
// the reader has ended.
func (l *liveReader) take(img *gocv.Mat, after uint64, from time.Time) (seq uint64, at time.Time, ok bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wanting = true
	l.from = from
	if l.seq > after && !l.taken && !l.at.Before(from) {
		*img, l.latest = l.latest, *img
		l.taken = true
		return l.seq, l.at, true, nil
	}
	return 0, time.Time{}, false, l.err
}

// want says from which capture time on the consumer wants the next image.
func (l *liveReader) want(from time.Time) {
	l.mu.Lock()
	l.from = from
	l.mu.Unlock()
}

// shutdown stops the goroutine and waits for it; it returns once the
// current read has.
func (l *liveReader) shutdown() {
	l.halt.Store(true)
	<-l.done
}

// close releases the image and the device; call it after shutdown.
func (l *liveReader) close() error {
	l.latest.Close()
	return l.release()
}
