package capture

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
)

// window is the number of recent frames over which rates and encode times
// are measured.
const window = 64

// meter keeps a Source's counters. The counters are atomic; the recent frame
// times and encode times are under mu. A meter is safe for concurrent use.
type meter struct {
	grabbed, frames, dropped atomic.Uint64

	mu      sync.Mutex
	w, h    int
	srcFPS  float64
	bytes   int
	n       int // frames recorded in the rings so far
	at      [window]time.Time
	encode  [window]time.Duration
	lastEnc time.Duration
}

// delivered records a frame handed out by Next.
func (m *meter) delivered(f media.Frame) {
	m.frames.Add(1)
	m.mu.Lock()
	i := m.n % window
	m.at[i] = f.Captured
	m.encode[i] = f.EncodeTime
	m.lastEnc = f.EncodeTime
	m.n++
	m.w, m.h, m.bytes = f.Width, f.Height, len(f.Data)
	m.mu.Unlock()
}

// fill sets st's measured fields.
func (m *meter) fill(st *media.SourceStatus) {
	st.Grabbed = m.grabbed.Load()
	st.Frames = m.frames.Load()
	st.Dropped = m.dropped.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	st.Width, st.Height, st.Bytes, st.SourceFPS = m.w, m.h, m.bytes, m.srcFPS
	st.EncodeLast = m.lastEnc
	n := min(m.n, window)
	if n == 0 {
		return
	}
	enc := slices.Clone(m.encode[:n])
	slices.Sort(enc)
	var sum time.Duration
	for _, d := range enc {
		sum += d
	}
	st.EncodeMs = float64(sum/time.Duration(n)) / 1e6
	st.EncodeP95 = enc[(n*95-1)/100]
	if n >= 2 {
		first, last := m.at[(m.n-n)%window], m.at[(m.n-1)%window]
		if span := last.Sub(first); span > 0 {
			st.FPS = float64(n-1) / span.Seconds()
		}
	}
}
