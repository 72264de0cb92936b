package media

import (
	"sync/atomic"
	"time"
)

// Preview takes JPEG images of the latest frames for a live view (the web
// page's preview of what an endpoint sends and receives). daemon/web's Tap
// is one; capture.Source and display.Sink offer their frames to one.
type Preview interface {
	// Wants reports whether an image is wanted now; it is called once per
	// frame, so it must be cheap. A preview nobody watches wants none, and
	// then the source or sink spends nothing on it.
	Wants(now time.Time) bool
	// Put stores a copy of a complete JPEG image.
	Put(jpeg []byte, now time.Time)
}

// Previewer offers frames to a Preview that may be set, replaced or
// removed at any time. The zero Previewer has none. Set and Offer are safe
// for concurrent use.
type Previewer struct {
	p atomic.Pointer[Preview]
}

// Set makes Offer hand frames to p from now on; nil stops.
func (pv *Previewer) Set(p Preview) {
	if p == nil {
		pv.p.Store(nil)
		return
	}
	pv.p.Store(&p)
}

// Offer gives the Preview an image if it wants one now: data as it is when
// it is a JPEG, otherwise the JPEG that encode returns. encode runs only
// then; when it fails, no image is given.
func (pv *Previewer) Offer(data []byte, encode func() ([]byte, error)) {
	p := pv.p.Load()
	if p == nil {
		return
	}
	now := time.Now()
	if !(*p).Wants(now) {
		return
	}
	if IsJPEG(data) {
		(*p).Put(data, now)
		return
	}
	if jpeg, err := encode(); err == nil {
		(*p).Put(jpeg, now)
	}
}

// IsJPEG reports whether b starts like a JPEG: the start-of-image marker
// and the next marker's 0xFF.
func IsJPEG(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF
}
