package capture

import (
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"
)

// Preview takes JPEG images of the latest frames for a live view (the web
// page's preview of what this endpoint sends). daemon/web's Tap is one.
type Preview interface {
	// Wants reports whether an image is wanted now; it is called once per
	// frame, so it must be cheap. A preview nobody watches wants none, and
	// then the source spends nothing on it.
	Wants(now time.Time) bool
	// Put stores a copy of a complete JPEG image.
	Put(jpeg []byte, now time.Time)
}

// previewQuality is the JPEG quality of preview images the source has to
// encode itself (when its frames are not JPEG).
const previewQuality = 70

// previewer offers frames to a Preview. Its offer runs on Next's goroutine.
type previewer struct {
	p   atomic.Pointer[Preview]
	buf []byte // encoded preview, reused
}

// SetPreview makes the source offer its frames to p from the next frame on;
// nil stops. Safe for concurrent use.
func (s *Source) SetPreview(p Preview) {
	if p == nil {
		s.pv.p.Store(nil)
		return
	}
	s.pv.p.Store(&p)
}

// offer hands the frame just encoded to the preview if it wants one: data
// as it is when it is a JPEG, otherwise img encoded as one.
func (pv *previewer) offer(img gocv.Mat, data []byte) {
	p := pv.p.Load()
	if p == nil {
		return
	}
	now := time.Now()
	if !(*p).Wants(now) {
		return
	}
	if isJPEG(data) {
		(*p).Put(data, now)
		return
	}
	var err error
	if pv.buf, err = AppendJPEG(pv.buf[:0], img, previewQuality); err == nil {
		(*p).Put(pv.buf, now)
	}
}

// isJPEG reports whether b starts like a JPEG (the SOI marker and the next
// marker's 0xFF).
func isJPEG(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF
}
