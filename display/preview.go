package display

import (
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"
)

// Preview takes JPEG images of the latest frames for a live view (the web
// page's preview of what this endpoint receives). daemon/web's Tap is one.
type Preview interface {
	// Wants reports whether an image is wanted now; it is called once per
	// frame, so it must be cheap. A preview nobody watches wants none, and
	// then the sink spends nothing on it.
	Wants(now time.Time) bool
	// Put stores a copy of a complete JPEG image.
	Put(jpeg []byte, now time.Time)
}

// previewQuality is the JPEG quality of preview images the sink has to
// encode itself (when the frames it receives are not JPEG).
const previewQuality = 70

// previewer offers decoded frames to a Preview; offer runs on the sink's
// goroutine.
type previewer struct {
	p atomic.Pointer[Preview]
}

// SetPreview makes the sink offer the frames it decodes to p; nil stops.
// Every kind of sink that decodes (window, record, null) offers them. Safe
// for concurrent use.
func (s *Sink) SetPreview(p Preview) {
	if p == nil {
		s.pv.p.Store(nil)
		return
	}
	s.pv.p.Store(&p)
}

// offer hands a decoded frame to the preview if it wants one: data as
// received when it is a JPEG, otherwise img encoded as one.
func (pv *previewer) offer(img gocv.Mat, data []byte) {
	p := pv.p.Load()
	if p == nil {
		return
	}
	now := time.Now()
	if !(*p).Wants(now) {
		return
	}
	if len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF {
		(*p).Put(data, now)
		return
	}
	if img.Empty() {
		return
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, previewQuality})
	if err != nil {
		return
	}
	defer buf.Close()
	(*p).Put(buf.GetBytes(), now)
}
