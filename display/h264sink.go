package display

import (
	"time"

	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// H.264 frames go through the sink differently from JPEGs. Each depends on
// the ones before it, so the sink cannot replace a waiting frame by a newer
// one: it queues them (up to h264QueueLen) and decodes every one in order,
// rendering only the newest decoded one. What the daemon says about each
// frame's chain (media.Received.Use) is followed: UseSkip frames are neither decoded
// nor shown. When the sink itself loses a frame of the chain (the queue
// overflows, or a frame does not decode) it counts a break, which the
// daemon sees through Breaks and answers by asking the sender for a
// keyframe, and it shows nothing until a frame whose chain starts after
// the loss.

// h264QueueLen is how many H.264 frames wait for the sink's goroutine at
// most: a quarter of a second at 30 fps.
const h264QueueLen = 8

// h264Queue holds H.264 frames in arrival order. It is guarded by Sink.mu.
type h264Queue struct {
	bufs    [h264QueueLen][]byte
	meta    [h264QueueLen]media.Received
	head, n int
}

// push copies f into the queue; false when it is full.
func (q *h264Queue) push(f media.Received) bool {
	if q.n == h264QueueLen {
		return false
	}
	i := (q.head + q.n) % h264QueueLen
	q.bufs[i] = append(q.bufs[i][:0], f.Data...)
	q.meta[i] = f
	q.meta[i].Data = nil
	q.n++
	return true
}

// pop swaps the oldest frame's bytes into work and returns them, the frame,
// and whether more frames wait behind it.
func (q *h264Queue) pop(work []byte) (data []byte, f media.Received, more, ok bool) {
	if q.n == 0 {
		return work, media.Received{}, false, false
	}
	data, q.bufs[q.head] = q.bufs[q.head], work
	f = q.meta[q.head]
	q.head = (q.head + 1) % h264QueueLen
	q.n--
	return data, f, q.n > 0, true
}

// clear empties the queue and returns how many frames it held.
func (q *h264Queue) clear() int {
	n := q.n
	q.head, q.n = 0, 0
	return n
}

// h264State is the sink goroutine's H.264 decoding state.
type h264State struct {
	dec      *h264Decoder // opened at the first H.264 frame
	broken   bool         // the sink lost a frame of the chain: brokenAt
	brokenAt uint32
}

// queueH264 takes an H.264 frame for the sink's goroutine; s.mu is held.
func (s *Sink) queueH264(f media.Received) {
	if f.Use == packetizer.UseSkip {
		s.frozen.Add(1)
		return
	}
	if s.hq.push(f) {
		return
	}
	// Behind by a whole queue: those frames are lost to the chain.
	s.held.Add(uint64(s.hq.clear()))
	s.breakAt = f.ID
	s.breakPending = true
	s.breaks.Add(1)
	if f.Start != f.ID || !s.hq.push(f) { // only a frame that starts a chain is of use now
		s.held.Add(1)
	}
}

// showH264 decodes one queued H.264 frame and renders it when its chain is
// whole and no newer frame waits. Only a render error is returned.
func (s *Sink) showH264(data []byte, f media.Received, more bool) error {
	hs := &s.h264
	s.mu.Lock()
	if s.breakPending {
		hs.broken, hs.brokenAt, s.breakPending = true, s.breakAt, false
	}
	s.mu.Unlock()
	if hs.broken && int32(f.Start-hs.brokenAt) <= 0 {
		s.held.Add(1)
		return nil
	}
	hs.broken = false
	if hs.dec == nil {
		d, err := newH264Decoder()
		if err != nil {
			s.decodeFailed(f, data, err)
			return nil
		}
		hs.dec = d
	}
	start := time.Now()
	img, err := hs.dec.decode(data)
	took := time.Since(start)
	if err != nil {
		s.decodeFailed(f, data, err)
		hs.broken, hs.brokenAt = true, f.ID
		s.breaks.Add(1)
		// FFmpeg's decoder keeps something of damaged input across the
		// next IDR: about one time in three, the pictures from it on come
		// out a few dB off what a decoder that never saw the damage makes
		// (TestSinkH264Chain). The next chain starts on a fresh decoder.
		hs.dec.close()
		hs.dec = nil
		return nil
	}
	defer img.Close()
	if k, ok := s.r.(keeper); ok {
		if err := k.keep(&img, data, f); err != nil {
			return err
		}
	}
	if more {
		s.skipped.Add(1) // decoded for the chain; the newer frame is shown
		return nil
	}
	return s.present(&img, data, f, took)
}

// closeH264 releases the decoder; from the sink's goroutine.
func (s *Sink) closeH264() {
	if s.h264.dec != nil {
		s.h264.dec.close()
		s.h264.dec = nil
	}
}

// keeper is a renderer that keeps every decoded H.264 frame, rendered or
// not (a recording needs the whole chain).
type keeper interface {
	keep(img *gocv.Mat, data []byte, f media.Received) error
}
