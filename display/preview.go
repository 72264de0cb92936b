package display

import (
	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon/media"
)

// SetPreview makes the sink offer the frames it decodes to p; nil stops.
// Every kind of sink that decodes (window, record, null) offers them. Safe
// for concurrent use.
func (s *Sink) SetPreview(p media.Preview) { s.pv.Set(p) }

// offerPreview offers a decoded frame to the preview: data as received
// when it is a JPEG, otherwise img encoded as one (capture's JPEG encoder).
// It runs on the sink's goroutine, which owns pvBuf.
func (s *Sink) offerPreview(img gocv.Mat, data []byte) {
	s.pv.Offer(data, func() ([]byte, error) {
		var err error
		s.pvBuf, err = capture.AppendJPEG(s.pvBuf[:0], img, capture.PreviewQuality)
		return s.pvBuf, err
	})
}
