package web

import (
	"sync"

	"github.com/vstreamd/vstreamd/daemon"
)

// FrameTimes is one delivered frame's times, as /api/frames serves them:
// enough to join them with another record of the same frames by their
// capture time (the glass-to-glass measurement reads the capture time off
// the screen and so learns, per frame, how long it took from complete to
// the screen).
type FrameTimes struct {
	ID         uint32 `json:"id"`
	SenderTime int64  `json:"sender_time_ns"` // capture, sender's clock, Unix ns
	Completed  int64  `json:"completed_ns"`   // complete here, Unix ns
}

// frameLogLen is how many recent frames /api/frames keeps: over two
// minutes at 30 fps, 64 KB.
const frameLogLen = 4096

// frameLog is a ring of the most recent delivered frames' times. Safe for
// concurrent use; add allocates nothing once the ring is full.
type frameLog struct {
	mu   sync.Mutex
	ring []FrameTimes
	next int
}

func (l *frameLog) add(f daemon.Delivered) {
	ft := FrameTimes{ID: f.ID, SenderTime: f.SenderTime, Completed: f.Completed.UnixNano()}
	l.mu.Lock()
	if len(l.ring) < frameLogLen {
		l.ring = append(l.ring, ft)
	} else {
		l.ring[l.next] = ft
		l.next = (l.next + 1) % frameLogLen
	}
	l.mu.Unlock()
}

// all returns the frames held, oldest first.
func (l *frameLog) all() []FrameTimes {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]FrameTimes, 0, len(l.ring))
	for i := range l.ring {
		out = append(out, l.ring[(l.next+i)%len(l.ring)])
	}
	return out
}
