package display

import (
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
)

// discard counts f as shown and drops it: no copy, no decoding. It keeps
// the measurements Stats gives of shown frames (rate, last id and
// latency); the size of the picture is unknown, since nothing is decoded.
// After Close, frames are counted as dropped, as with the other sinks.
func (s *Sink) discard(f media.Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		s.dropped.Add(1)
		return
	}
	s.shown.Add(1)
	s.bytes.Add(uint64(len(f.Data)))
	s.at[s.n%window], s.dec[s.n%window] = time.Now(), 0
	s.n++
	s.st.LastID, s.st.Latency = f.ID, f.Latency
	s.measure()
}
