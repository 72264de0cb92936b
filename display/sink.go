package display

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/packetizer"
)

// renderer is what a sink does with a decoded frame. All its methods are
// called from the sink's goroutine, one at a time.
type renderer interface {
	// render shows or writes img, decoded from data. It may draw on img.
	render(img *gocv.Mat, data []byte, f media.Received, st *media.SinkStatus) error
	// pollEvery is how often poll must run while no frame comes (0: never).
	pollEvery() time.Duration
	// poll keeps a window responsive between frames.
	poll() error
	// close finishes the output: the file's index, the window.
	close() error
}

// errClosedByUser is returned by a window's render or poll when the user
// closed it or pressed q or Esc.
var errClosedByUser = errors.New("closed by user")

// Sink is an open frame sink. Show, Status, Done and Close are safe for
// concurrent use.
type Sink struct {
	cfg    Config
	log    *slog.Logger
	r      renderer
	decode func(data []byte, id uint32) (gocv.Mat, error) // Decode, but in tests
	wake   chan struct{}                                  // capacity 1: a frame is in the slot
	quit   chan struct{}                                  // closed by Close
	done   chan struct{}                                  // closed when the goroutine has ended
	once   sync.Once
	pv     media.Previewer // offers decoded frames to a live view (SetPreview)
	pvBuf  []byte          // a preview image the sink encoded; the sink's goroutine owns it

	received, shown, skipped, decodeErrs, dropped atomic.Uint64
	frozen, held, breaks                          atomic.Uint64 // H.264 chains (h264sink.go)
	bytes                                         atomic.Uint64 // SinkDiscard (discard.go)

	mu      sync.Mutex // the hand-off slot and the sink's state
	slot    []byte
	meta    media.Received // the slot's frame, without Data
	full    bool
	stopped bool
	state   string
	err     error            // from finishing the output
	st      media.SinkStatus // measurements of shown frames (not the counters)
	at      [window]time.Time
	dec     [window]time.Duration
	n       int

	hq           h264Queue // H.264 frames waiting, in order
	breakAt      uint32    // the newest frame lost when the queue overflowed
	breakPending bool      // breakAt is news for the sink's goroutine
	h264         h264State // the sink goroutine's
}

// window is the number of recent frames rates and times are measured over.
const window = 64

// newSink makes the Sink around r; go s.run() starts it.
func newSink(cfg Config, log *slog.Logger, r renderer) *Sink {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{cfg: cfg, log: log, r: r, state: StateRunning,
		decode: func(data []byte, _ uint32) (gocv.Mat, error) { return Decode(data) },
		wake:   make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

// Show hands f to the sink and returns at once. It copies f.Data into the
// hand-off slot; a frame still waiting there is replaced and counted as
// skipped. Safe for concurrent use; the caller keeps ownership of f.Data.
func (s *Sink) Show(f media.Received) {
	s.received.Add(1)
	switch s.cfg.Kind {
	case media.SinkNone:
		s.dropped.Add(1)
		return
	case media.SinkDiscard:
		s.discard(f)
		return
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	if f.Codec == packetizer.CodecH264 {
		s.queueH264(f)
	} else {
		if s.full {
			s.skipped.Add(1)
		}
		s.slot = append(s.slot[:0], f.Data...)
		s.meta = f
		s.meta.Data = nil
		s.full = true
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take swaps the slot's frame into work, if there is one.
func (s *Sink) take(work []byte) ([]byte, media.Received, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.full {
		return work, media.Received{}, false
	}
	work, s.slot = s.slot, work
	s.full = false
	return work, s.meta, true
}

func (s *Sink) run() {
	defer close(s.done)
	// Decoding runs below the transport's priority (daemon/sched).
	if _, err := sched.Background(); err != nil {
		s.log.Warn("decoding keeps the transport's priority", "err", err)
	}
	var tick <-chan time.Time
	if d := s.r.pollEvery(); d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		tick = t.C
	}
	var work []byte
	for {
		select {
		case <-s.quit:
			s.finish(StateClosed, nil)
			return
		case <-tick:
			if err := s.r.poll(); err != nil {
				s.finish("", err)
				return
			}
			continue
		case <-s.wake:
		}
		var err error
		if work, err = s.drain(work); err != nil {
			s.dropped.Add(1)
			s.finish("", err)
			return
		}
	}
}

// drain shows what waits: the queued H.264 frames, then the JPEG slot.
func (s *Sink) drain(work []byte) ([]byte, error) {
	for {
		s.mu.Lock()
		data, f, more, ok := s.hq.pop(work)
		s.mu.Unlock()
		if !ok {
			break
		}
		work = data
		if err := s.showH264(data, f, more); err != nil {
			return work, err
		}
	}
	var f media.Received
	var ok bool
	if work, f, ok = s.take(work); !ok {
		return work, nil
	}
	return work, s.show(work, f)
}

// show decodes and renders one frame. Only a render error is returned: it
// stops the sink.
func (s *Sink) show(data []byte, f media.Received) error {
	start := time.Now()
	img, err := s.decode(data, f.ID)
	took := time.Since(start)
	if err != nil {
		s.decodeFailed(f, data, err)
		return nil
	}
	defer img.Close()
	return s.present(&img, data, f, took)
}

// decodeFailed counts a frame that did not decode, logging the first.
func (s *Sink) decodeFailed(f media.Received, data []byte, err error) {
	if s.decodeErrs.Add(1) == 1 {
		s.log.Warn("frame does not decode; skipping it (further ones are counted in decode_errors, not logged)",
			"id", f.ID, "codec", f.Codec, "bytes", len(data), "err", err)
	}
}

// present renders a decoded frame and records it as shown.
func (s *Sink) present(img *gocv.Mat, data []byte, f media.Received, took time.Duration) error {
	s.offerPreview(*img, data)
	s.mu.Lock()
	st := s.st // a copy for the overlay
	s.mu.Unlock()
	if err := s.r.render(img, data, f, &st); err != nil {
		return err
	}
	s.shown.Add(1)
	s.mu.Lock()
	i := s.n % window
	s.at[i], s.dec[i] = time.Now(), took
	s.n++
	s.st.LastID, s.st.Width, s.st.Height, s.st.Latency, s.st.DecodeLast = f.ID, img.Cols(), img.Rows(), f.Latency, took
	s.measure()
	s.mu.Unlock()
	return nil
}

// measure updates the rate and mean decode time; s.mu is held.
func (s *Sink) measure() {
	n := min(s.n, window)
	var sum time.Duration
	for _, d := range s.dec[:n] {
		sum += d
	}
	s.st.DecodeMs = float64(sum/time.Duration(n)) / 1e6
	s.st.FPS = 0
	if n >= 2 {
		first, last := s.at[(s.n-n)%window], s.at[(s.n-1)%window]
		if span := last.Sub(first); span > 0 {
			s.st.FPS = float64(n-1) / span.Seconds()
		}
	}
}

// finish stops taking frames, finishes the output and records why the sink
// stopped: state, or err (errClosedByUser or a failure).
func (s *Sink) finish(state string, err error) {
	s.mu.Lock()
	s.stopped = true
	if s.full {
		s.full = false
		s.dropped.Add(1)
	}
	s.dropped.Add(uint64(s.hq.clear()))
	s.mu.Unlock()
	s.closeH264()
	closeErr := s.r.close()
	switch {
	case errors.Is(err, errClosedByUser):
		state = StateClosedByUser
		s.log.Warn("window closed by the user (q, Esc or its close button); frames are still received and counted but no longer shown; restart vstreamd to show them again")
	case err != nil:
		state = statePrefixFailed + err.Error()
		s.log.Error("frame sink stopped", "err", err)
	}
	if closeErr != nil {
		s.log.Error("finishing the frame sink", "err", closeErr)
	}
	s.mu.Lock()
	s.state, s.err = state, closeErr
	if s.err == nil && err != nil && !errors.Is(err, errClosedByUser) {
		s.err = err
	}
	s.mu.Unlock()
}

// Status returns a snapshot of the counters. Safe for concurrent use.
func (s *Sink) Status() media.SinkStatus {
	s.mu.Lock()
	st := s.st
	st.State = s.state
	s.mu.Unlock()
	st.Kind = s.cfg.Kind
	st.Received = s.received.Load()
	st.Shown = s.shown.Load()
	st.Skipped = s.skipped.Load()
	st.DecodeErrors = s.decodeErrs.Load()
	st.Dropped = s.dropped.Load()
	st.Frozen = s.frozen.Load()
	st.Held = s.held.Load()
	st.Breaks = s.breaks.Load()
	st.Bytes = s.bytes.Load()
	return st
}

// Breaks counts the times the sink lost an H.264 frame of the chain itself
// (one did not decode, or it fell a whole queue behind). Safe for
// concurrent use.
func (s *Sink) Breaks() uint64 { return s.breaks.Load() }

// Done is closed when the sink has stopped: closed by the user, failed, or
// Closed. Safe for concurrent use.
func (s *Sink) Done() <-chan struct{} { return s.done }

// Close stops the sink, waits for its goroutine, finishes the recording or
// closes the window, and returns an error from finishing the output or the
// failure that stopped the sink. It is safe to call more than once.
func (s *Sink) Close() error {
	s.once.Do(func() { close(s.quit) })
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// nullRenderer drops frames (Null) or never sees any (None).
type nullRenderer struct{}

func (nullRenderer) render(*gocv.Mat, []byte, media.Received, *media.SinkStatus) error { return nil }
func (nullRenderer) pollEvery() time.Duration                                          { return 0 }
func (nullRenderer) poll() error                                                       { return nil }
func (nullRenderer) close() error                                                      { return nil }
