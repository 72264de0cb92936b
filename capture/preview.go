package capture

import (
	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/daemon/media"
)

// PreviewQuality is the JPEG quality of preview images a source or sink
// has to encode itself (when its frames are not JPEG).
const PreviewQuality = 70

// SetPreview makes the source offer its frames to p from the next frame on;
// nil stops. Safe for concurrent use.
func (s *Source) SetPreview(p media.Preview) { s.pv.Set(p) }

// offerPreview offers the frame just encoded to the preview: data as it is
// when it is a JPEG, otherwise img encoded as one. It runs on Next's
// goroutine, which owns pvBuf.
func (s *Source) offerPreview(img gocv.Mat, data []byte) {
	s.pv.Offer(data, func() ([]byte, error) {
		var err error
		s.pvBuf, err = AppendJPEG(s.pvBuf[:0], img, PreviewQuality)
		return s.pvBuf, err
	})
}
