// Package fake provides a frame source and a frame sink for tests of the
// daemon without OpenCV: the source makes frames of checkable bytes at a
// steady rate, and the sink records what arrives.
package fake

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/sched"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Source makes frames whose first 8 bytes are a sequence number, whose size
// grows with the quality (Bytes at quality 80), and whose last 4 bytes are
// a CRC-32 of the rest, so a receiver can check each one. SetSize scales
// the frames by area against 1280x720. Its frames are keyframes, as JPEG's
// are, unless Inter is set. Safe for concurrent use, except for setting the
// fields, which is done before the first Next.
type Source struct {
	Bytes int // frame size at quality 80 and 1280x720; default 20000
	// Inter makes the frames say they are H.264: the first frame and each
	// one after RequestKeyframe is a keyframe, the others depend on their
	// predecessors.
	Inter bool
	// Kind is the kind Status reports; zero: SourcePattern (status knows
	// no fake kind). SourceJPEGs makes the daemon treat the source as a
	// replay, which encodes nothing.
	Kind media.SourceKind
	// Ready makes the source hand out frames of its own, with the media
	// prefix before them (media.Frame.Framed), as a replay does, instead
	// of writing into the buffer it is given; Overwritten then counts the
	// frames found changed after they were handed out.
	Ready       bool
	own         []byte // the last frame handed out when Ready
	ownSum      uint32
	overwritten atomic.Uint64
	quality     atomic.Int64
	fps         atomic.Int64
	area        atomic.Int64 // pixels per SetSize; 0: 1280x720
	bitrate     atomic.Int64 // per SetBitrate; the frames do not follow it
	seq         atomic.Uint64
	key         atomic.Bool
	keyframes   atomic.Uint64
	nice        atomic.Int64 // of the thread of the last Next; -100: unknown
	next        time.Time    // owned by Next's caller
}

// NewSource returns a Source at the given rate and quality.
func NewSource(fps, quality, bytes int) *Source {
	s := &Source{Bytes: bytes}
	s.nice.Store(-100)
	s.fps.Store(int64(fps))
	s.quality.Store(int64(quality))
	return s
}

// Next waits until the next frame is due and returns it.
func (s *Source) Next(ctx context.Context, dst []byte) (media.Frame, error) {
	period := time.Second / time.Duration(max(1, s.fps.Load()))
	now := time.Now()
	if s.next.IsZero() || now.Sub(s.next) > period {
		s.next = now // behind: skip ahead rather than burst
	}
	if wait := s.next.Sub(now); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return media.Frame{}, ctx.Err()
		case <-t.C:
		}
	} else if err := ctx.Err(); err != nil {
		return media.Frame{}, err
	}
	s.next = s.next.Add(period)
	if n, err := sched.Nice(); err == nil {
		s.nice.Store(int64(n))
	}
	if !s.Ready {
		data := s.frame(dst[:0])
		return media.Frame{Data: data, Media: s.media(s.seq.Load()), Captured: time.Now()}, nil
	}
	if s.own != nil && crc32.ChecksumIEEE(s.own) != s.ownSum {
		s.overwritten.Add(1)
	}
	data := s.frame(nil)
	m := s.media(s.seq.Load())
	s.own = append(m.AppendTo(make([]byte, 0, packetizer.MediaLen+len(data))), data...)
	s.ownSum = crc32.ChecksumIEEE(s.own)
	return media.Frame{Data: s.own[packetizer.MediaLen:], Framed: s.own, Media: m, Captured: time.Now()}, nil
}

// Overwritten counts the frames of a Ready source found changed after they
// were handed out.
func (s *Source) Overwritten() uint64 { return s.overwritten.Load() }

// Nice returns the nice value of the thread that last called Next, -100
// before the first.
func (s *Source) Nice() int { return int(s.nice.Load()) }

// media says what frame seq (from 1) is.
func (s *Source) media(seq uint64) packetizer.Media {
	key := s.key.Swap(false)
	switch {
	case !s.Inter:
		return packetizer.Media{Codec: packetizer.CodecJPEG, Flags: packetizer.MediaKeyframe}
	case seq == 1 || key:
		s.keyframes.Add(1)
		return packetizer.Media{Codec: packetizer.CodecH264, Flags: packetizer.MediaKeyframe}
	}
	return packetizer.Media{Codec: packetizer.CodecH264}
}

// RequestKeyframe makes the next frame a keyframe.
func (s *Source) RequestKeyframe() { s.key.Store(true) }

// Keyframes counts the keyframes made (with Inter).
func (s *Source) Keyframes() uint64 { return s.keyframes.Load() }

func (s *Source) size() int {
	b := s.Bytes
	if b == 0 {
		b = 20000
	}
	b = b * int(s.quality.Load()) / 80
	if a := s.area.Load(); a > 0 {
		b = int(int64(b) * a / (1280 * 720))
	}
	return max(16, b)
}

func (s *Source) frame(b []byte) []byte {
	n := s.size()
	seq := s.seq.Add(1)
	b = binary.BigEndian.AppendUint64(b, seq)
	for len(b) < n-4 {
		b = append(b, filler[:min(len(filler), n-4-len(b))]...)
	}
	b[8] = byte(seq) // the content varies a little from frame to frame
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// filler is the body of every frame, cheap to copy.
const filler = "vstreamd fake frame: not a picture, but bytes the sink can check. "

// Check reports whether b is an intact frame from a Source, and its number.
func Check(b []byte) (uint64, bool) {
	if len(b) < 12 {
		return 0, false
	}
	n := len(b) - 4
	return binary.BigEndian.Uint64(b), crc32.ChecksumIEEE(b[:n]) == binary.BigEndian.Uint32(b[n:])
}

func (s *Source) SetQuality(q int)   { s.quality.Store(int64(q)) }
func (s *Source) SetFPS(fps int)     { s.fps.Store(int64(fps)) }
func (s *Source) SetSize(w, h int)   { s.area.Store(int64(w) * int64(h)) }
func (s *Source) SetBitrate(bps int) { s.bitrate.Store(int64(bps)) }

// Bitrate returns the bit rate last set; frames do not follow it.
func (s *Source) Bitrate() int { return int(s.bitrate.Load()) }

// FPS returns the current frame rate.
func (s *Source) FPS() int { return int(s.fps.Load()) }

// Quality returns the current quality.
func (s *Source) Quality() int { return int(s.quality.Load()) }

// Status reports the Source as a source of its Kind: its quality, frames
// made and rate.
func (s *Source) Status() media.SourceStatus {
	k := s.Kind
	if k == 0 {
		k = media.SourcePattern
	}
	return media.SourceStatus{Kind: k, Quality: s.Quality(), Frames: s.seq.Load(), ConfiguredFPS: int(s.fps.Load())}
}

// Frame is what a Sink recorded about one frame.
type Frame struct {
	ID      uint32
	Codec   packetizer.Codec
	Use     packetizer.Use
	Start   uint32
	Seq     uint64 // from the frame's bytes
	Intact  bool
	Bytes   int
	Latency time.Duration
}

// Sink records every frame shown. Safe for concurrent use.
type Sink struct {
	breaks atomic.Uint64
	mu     sync.Mutex
	frames []Frame
	got    chan struct{} // one token per frame, dropped when full
}

// NewSink returns an empty Sink.
func NewSink() *Sink { return &Sink{got: make(chan struct{}, 1)} }

func (s *Sink) Show(f media.Received) {
	seq, ok := Check(f.Data)
	s.mu.Lock()
	s.frames = append(s.frames, Frame{ID: f.ID, Codec: f.Codec, Use: f.Use, Start: f.Start, Seq: seq, Intact: ok, Bytes: len(f.Data), Latency: f.Latency})
	s.mu.Unlock()
	select {
	case s.got <- struct{}{}:
	default:
	}
}

// Break makes the sink report that it lost a frame (as a real sink does
// when one does not decode).
func (s *Sink) Break() { s.breaks.Add(1) }

// Breaks counts the calls to Break.
func (s *Sink) Breaks() uint64 { return s.breaks.Load() }

// Frames returns a copy of what was shown so far.
func (s *Sink) Frames() []Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Frame(nil), s.frames...)
}

// Wait blocks until at least n frames were shown or ctx is done.
func (s *Sink) Wait(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		have := len(s.frames)
		s.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.got:
		}
	}
}

// Status reports the Sink as a null sink (status knows no fake kind) that
// showed every frame it recorded.
func (s *Sink) Status() media.SinkStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return media.SinkStatus{Kind: media.SinkNull, State: "running", Shown: uint64(len(s.frames))}
}
