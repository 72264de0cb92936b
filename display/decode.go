package display

import (
	"errors"
	"fmt"

	"gocv.io/x/gocv"
)

// ErrDecode is returned when a JPEG passes the header checks but OpenCV
// cannot decode it.
var ErrDecode = errors.New("JPEG does not decode")

// Decode decodes a JPEG frame into a new BGR Mat that the caller must
// Close. It checks the header first (jpegSize) and rejects anything that is
// not a baseline JPEG within MaxWidth, MaxHeight and MaxPixels, so OpenCV
// never sees a frame that would make it allocate without bound or throw (an
// uncaught C++ exception aborts the process). Decode is safe for concurrent
// use and never panics on its input.
func Decode(data []byte) (gocv.Mat, error) {
	w, h, err := jpegSize(data)
	if err != nil {
		return gocv.Mat{}, err
	}
	img, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	if img.Empty() {
		img.Close()
		return gocv.Mat{}, fmt.Errorf("%w: OpenCV returned no image (%d bytes, %dx%d)", ErrDecode, len(data), w, h)
	}
	if img.Cols() != w || img.Rows() != h {
		gw, gh := img.Cols(), img.Rows()
		img.Close()
		return gocv.Mat{}, fmt.Errorf("%w: header says %dx%d, decoded %dx%d", ErrDecode, w, h, gw, gh)
	}
	return img, nil
}
