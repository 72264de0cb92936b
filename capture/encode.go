package capture

import (
	"errors"
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// errEmptyImage is returned instead of handing OpenCV an empty image: its
// encoder would throw a C++ exception, which aborts the process.
var errEmptyImage = errors.New("empty image")

// AppendJPEG encodes img as a JPEG of the given quality (1..100) and appends
// it to dst. img must be a non-empty 8-bit BGR or grey image. AppendJPEG is
// safe for concurrent use; it allocates no Mat.
func AppendJPEG(dst []byte, img gocv.Mat, quality int) ([]byte, error) {
	if img.Empty() {
		return dst, errEmptyImage
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, clampQuality(quality)})
	if err != nil {
		return dst, fmt.Errorf("jpeg encode: %w", err)
	}
	defer buf.Close()
	if buf.Len() == 0 {
		return dst, errors.New("jpeg encode: encoder returned no bytes")
	}
	return append(dst, buf.GetBytes()...), nil
}

// scaler resizes images to a fixed size, reusing its output Mat.
// A scaler is not safe for concurrent use.
type scaler struct {
	size image.Point // 0,0: no resizing
	out  gocv.Mat
}

func newScaler(w, h int) *scaler {
	return &scaler{size: image.Pt(w, h), out: gocv.NewMat()}
}

// apply returns img, or img resized to s.size when that differs. The result
// is valid until the next call.
func (s *scaler) apply(img gocv.Mat) gocv.Mat {
	if s.size == (image.Point{}) || (img.Cols() == s.size.X && img.Rows() == s.size.Y) {
		return img
	}
	interp := gocv.InterpolationArea // best for shrinking
	if s.size.X > img.Cols() {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(img, &s.out, s.size, 0, 0, interp)
	return s.out
}

func (s *scaler) close() { s.out.Close() }
