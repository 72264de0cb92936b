package capture

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/alarm"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
	"gocv.io/x/gocv"
)

// generator makes images on demand: the pattern and files.
type generator interface {
	// next fills img with the image for the next slot, after passing over
	// the images of skip missed slots, and returns its frame number.
	next(img *gocv.Mat, skip uint64, at time.Time) (seq uint64, err error)
	// setRate tells the generator how many slots a second there are now.
	setRate(fps int)
	close()
}

// Source is an open frame source. Next is meant to be called from one
// goroutine at a time (concurrent calls are serialised); SetQuality, SetFPS,
// Status and Close are safe for concurrent use with Next and each other.
type Source struct {
	cfg     Config // normalized
	log     *slog.Logger
	quality atomic.Int64
	fps     atomic.Int64
	size    atomic.Uint64 // width<<32 | height asked for by SetSize; 0: the configured size
	stop    chan struct{} // closed by Close: wakes a waiting Next
	alarm   *alarm.Alarm  // a replay's frame clock (see sleepUntil); nil for the others
	timer   *time.Timer   // the others' frame clock; Next's
	once    sync.Once
	m       meter
	pv      media.Previewer // offers frames to a live view (SetPreview)
	pvBuf   []byte          // a preview image the source encoded; Next's goroutine owns it

	mu      sync.Mutex // held by Next, and by Close to release the OpenCV objects
	closed  bool
	gen     generator   // pattern, file; nil otherwise
	live    *liveReader // camera; nil otherwise
	jpegs   *jpegReplay // jpegs; nil otherwise
	img     gocv.Mat    // the image being encoded
	scale   *scaler
	pace    pacer
	lastSeq uint64
	h264    h264Control // the H.264 encoder and its settings (h264.go)
}

// Open opens the source that cfg describes and logs its actual mode once.
// A nil log discards. The caller must Close the Source.
func Open(cfg Config, log *slog.Logger) (*Source, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	s := newSource(cfg, log)
	switch cfg.Kind {
	case media.SourcePattern:
		var p *pattern
		if p, err = newPattern(cfg.Width, cfg.Height); err == nil {
			s.gen = &patternGen{p: p}
		}
	case media.SourceFile:
		err = s.openFile()
	case media.SourceCamera:
		err = s.openCamera()
	case media.SourceJPEGs:
		err = s.openJPEGs()
	}
	if err != nil {
		s.img.Close()
		if s.alarm != nil {
			s.alarm.Close()
		}
		return nil, err
	}
	s.start()
	return s, nil
}

// newSource returns a Source with nothing opened yet.
func newSource(cfg Config, log *slog.Logger) *Source {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "capture", "source", cfg.Kind.String())
	s := &Source{cfg: cfg, log: log, stop: make(chan struct{}), img: gocv.NewMat()}
	s.quality.Store(int64(cfg.Quality))
	s.h264.bitrate.Store(int64(cfg.Bitrate))
	return s
}

// start finishes Open once the kind's own opening has settled the rate.
func (s *Source) start() {
	cfg := s.cfg
	s.scale = newScaler(cfg.Width, cfg.Height)
	s.fps.Store(int64(cfg.FPS))
	s.pace = newPacer(cfg.FPS)
	if s.gen != nil {
		s.gen.setRate(cfg.FPS)
	}
	if cfg.Kind != media.SourceNone {
		s.log.Info("frame source open", "device", cfg.Device, "path", cfg.Path,
			"width", cfg.Width, "height", cfg.Height, "fps", cfg.FPS, "codec", cfg.Codec, "quality", cfg.Quality, "bitrate", cfg.Bitrate)
	}
}

// Next waits until the next frame is due, grabs it, encodes it and appends
// the picture to dst[:0]. The returned frame's Data is that slice; the caller
// owns it. Next returns ctx.Err() when ctx is done, ErrClosed after Close,
// io.EOF when a non-looping file has ended, and an error naming the device
// when a camera stops delivering. A source of kind None waits for ctx.
func (s *Source) Next(ctx context.Context, dst []byte) (media.Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return media.Frame{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return media.Frame{}, err
	}
	fps := int(s.fps.Load())
	s.pace.setRate(fps)
	var (
		seq uint64
		at  time.Time
		err error
	)
	switch {
	case s.jpegs != nil:
		return s.nextJPEG(ctx)
	case s.gen != nil:
		s.gen.setRate(fps)
		seq, at, err = s.grabMade(ctx)
	case s.live != nil:
		seq, at, err = s.grabLive(ctx)
	default:
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-s.stop:
			err = ErrClosed
		}
	}
	if err != nil {
		return media.Frame{}, err
	}
	return s.encode(dst, seq, at)
}

// grabMade waits for the next slot and has the generator make its image.
func (s *Source) grabMade(ctx context.Context) (uint64, time.Time, error) {
	missed := s.pace.catchUp(time.Now())
	if err := s.sleepUntil(ctx, s.pace.due); err != nil {
		s.m.dropped.Add(missed)
		return 0, time.Time{}, err
	}
	at := time.Now()
	seq, err := s.gen.next(&s.img, missed, at)
	s.pace.advance()
	if err != nil {
		// Slots missed just before a file ended were not frames of it:
		// not dropped.
		return 0, time.Time{}, err
	}
	s.m.dropped.Add(missed)
	s.m.grabbed.Add(1)
	return seq, at, nil
}

// grabLive waits for a camera image for the next slot.
func (s *Source) grabLive(ctx context.Context) (uint64, time.Time, error) {
	for {
		from := time.Time{}
		if !s.pace.due.IsZero() {
			from = s.pace.due.Add(-s.pace.tolerance())
		}
		seq, at, ok, err := s.live.take(&s.img, s.lastSeq, from)
		if ok {
			s.pace.accept(at)
			s.live.want(s.pace.due.Add(-s.pace.tolerance()))
			s.lastSeq = seq
			return seq, at, nil
		}
		if err != nil {
			return 0, time.Time{}, err
		}
		select {
		case <-s.live.fresh:
		case <-s.live.done:
		case <-ctx.Done():
			return 0, time.Time{}, ctx.Err()
		case <-s.stop:
			return 0, time.Time{}, ErrClosed
		}
	}
}

// encode resizes and encodes s.img.
func (s *Source) encode(dst []byte, seq uint64, at time.Time) (media.Frame, error) {
	start := time.Now()
	s.scale.size = image.Pt(s.cfg.Width, s.cfg.Height)
	if wh := s.size.Load(); wh != 0 {
		s.scale.size = image.Pt(int(wh>>32), int(wh&0xffffffff))
	}
	img := s.scale.apply(s.img)
	data, m, err := s.encodeImage(dst[:0], img)
	if err != nil {
		return media.Frame{}, fmt.Errorf("capture: %s frame %d: %w", s.cfg.Kind, seq, err)
	}
	f := media.Frame{Data: data, Media: m, Seq: seq, Captured: at, Width: img.Cols(), Height: img.Rows(), EncodeTime: time.Since(start)}
	s.m.delivered(f)
	s.offerPreview(img, data)
	return f, nil
}

// SetQuality changes the JPEG quality from the next frame on; it is clamped
// to 1..100. Safe for concurrent use.
func (s *Source) SetQuality(q int) { s.quality.Store(int64(clampQuality(q))) }

// SetFPS changes the frame rate from the next frame on; it is clamped to
// 1..MaxFPS. A file keeps playing in real time (frames are skipped or
// repeated); a camera keeps its own rate and is decimated. Safe for
// concurrent use.
func (s *Source) SetFPS(fps int) { s.fps.Store(int64(clampFPS(fps))) }

// SetSize changes the size of the encoded frames from the next frame on,
// within 16x16 and the configured size (frames are scaled down from what
// the source gives); 0, 0 or anything out of range means the configured
// size. Safe for concurrent use.
func (s *Source) SetSize(w, h int) {
	if w < 16 || h < 16 || w > s.cfg.Width || h > s.cfg.Height {
		s.size.Store(0)
		return
	}
	s.size.Store(uint64(w)<<32 | uint64(h))
}

// Status returns a snapshot of the counters and measurements. Safe for
// concurrent use.
func (s *Source) Status() media.SourceStatus {
	st := media.SourceStatus{Kind: s.cfg.Kind, ConfiguredFPS: int(s.fps.Load()), Quality: int(s.quality.Load()),
		Codec: s.cfg.Codec.String(), Keyframes: s.h264.keyframes.Load()}
	if s.cfg.Codec == packetizer.CodecH264 {
		st.BitrateBps = int(s.h264.bitrate.Load())
	}
	s.m.fill(&st)
	if s.cfg.Kind == media.SourceJPEGs {
		st.Quality, st.BitrateBps, st.Note = 0, 0, JPEGsNote
	}
	return st
}

// Close stops the source, waits for a running Next and the camera reader to
// return, and releases every Mat and device. It is safe to call more than
// once and concurrently with Next, which then returns ErrClosed.
func (s *Source) Close() error {
	s.once.Do(func() {
		close(s.stop)
		if s.alarm != nil {
			s.alarm.Stop()
		}
	})
	if s.live != nil {
		s.live.shutdown()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.alarm != nil {
		s.alarm.Close()
	}
	var err error
	if s.gen != nil {
		s.gen.close()
	}
	if s.live != nil {
		err = s.live.close()
	}
	if s.scale != nil {
		s.scale.close()
	}
	s.img.Close()
	s.closeH264()
	if s.cfg.Kind != media.SourceNone {
		st := s.Status()
		s.log.Info("frame source closed", "frames", st.Frames, "dropped", st.Dropped, "grabbed", st.Grabbed)
	}
	return err
}

// patternGen makes pattern frames; its frame number is the slot number.
type patternGen struct {
	p *pattern
	n uint64
}

func (g *patternGen) next(img *gocv.Mat, skip uint64, at time.Time) (uint64, error) {
	g.n += skip
	seq := g.n
	g.n++
	g.p.draw(img, seq, at)
	return seq, nil
}

func (g *patternGen) setRate(int) {}
func (g *patternGen) close()      { g.p.close() }
