package display

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
	"gocv.io/x/gocv"
)

// ErrH264 is returned for an H.264 access unit that gives no whole picture:
// the decoder rejected it, concealed damage in it, or produced nothing.
var ErrH264 = errors.New("H.264 access unit does not decode")

// h264Decoder decodes H.264 Annex-B access units, one per call, into BGR
// pictures, through FFmpeg's decoder (go-astiav). It runs single-threaded
// with the low-delay flag: a picture comes out for the access unit that
// went in, and error concealment stays on (slice threads would turn it
// off). Its memory is FFmpeg's decoder state, bounded by the largest
// picture it accepts (MaxPixels). It is not safe for concurrent use.
type h264Decoder struct {
	cc    *astiav.CodecContext
	pkt   *astiav.Packet
	frame *astiav.Frame
	i420  gocv.Mat
}

func newH264Decoder() (*h264Decoder, error) {
	codec := astiav.FindDecoder(astiav.CodecIDH264)
	if codec == nil {
		return nil, errors.New("h264: FFmpeg has no H.264 decoder")
	}
	d := &h264Decoder{i420: gocv.NewMat()}
	if d.cc = astiav.AllocCodecContext(codec); d.cc == nil {
		d.close()
		return nil, errors.New("h264: cannot allocate a decoder context")
	}
	d.cc.SetThreadCount(1)
	d.cc.SetFlags(d.cc.Flags().Add(astiav.CodecContextFlagLowDelay))
	opts := astiav.NewDictionary()
	defer opts.Free()
	if err := opts.Set("max_pixels", fmt.Sprint(MaxPixels), 0); err != nil {
		d.close()
		return nil, fmt.Errorf("h264: option max_pixels: %w", err)
	}
	if err := d.cc.Open(codec, opts); err != nil {
		d.close()
		return nil, fmt.Errorf("h264: opening the decoder: %w", err)
	}
	d.pkt = astiav.AllocPacket()
	d.frame = astiav.AllocFrame()
	return d, nil
}

// decode decodes one access unit into a new BGR Mat that the caller must
// Close. It never panics on its input; anything that does not give a whole
// picture within the limits is ErrH264 (wrapped).
func (d *h264Decoder) decode(au []byte) (gocv.Mat, error) {
	if len(au) == 0 {
		return gocv.Mat{}, fmt.Errorf("%w: empty", ErrH264)
	}
	if err := d.pkt.FromData(au); err != nil {
		return gocv.Mat{}, fmt.Errorf("h264: packet: %w", err)
	}
	err := d.cc.SendPacket(d.pkt)
	d.pkt.Unref()
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("%w: %v", ErrH264, err)
	}
	if err := d.cc.ReceiveFrame(d.frame); err != nil {
		return gocv.Mat{}, fmt.Errorf("%w: no picture: %v", ErrH264, err)
	}
	defer d.frame.Unref()
	w, h := d.frame.Width(), d.frame.Height()
	switch pf := d.frame.PixelFormat(); {
	case pf != astiav.PixelFormatYuv420P && pf != astiav.PixelFormatYuvj420P:
		return gocv.Mat{}, fmt.Errorf("%w: pixel format %s (only 4:2:0 8-bit is shown)", ErrH264, pf)
	case w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0:
		return gocv.Mat{}, fmt.Errorf("%w: picture size %dx%d (want even sizes)", ErrH264, w, h)
	case w > MaxWidth || h > MaxHeight || w*h > MaxPixels:
		return gocv.Mat{}, fmt.Errorf("%w: %dx%d is larger than %dx%d or %d pixels", ErrH264, w, h, MaxWidth, MaxHeight, MaxPixels)
	case damaged(d.frame):
		return gocv.Mat{}, fmt.Errorf("%w: the decoder concealed damage", ErrH264)
	}
	if d.i420.Rows() != h*3/2 || d.i420.Cols() != w {
		d.i420.Close()
		d.i420 = gocv.NewMatWithSize(h*3/2, w, gocv.MatTypeCV8UC1)
	}
	pix, err := d.i420.DataPtrUint8()
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("h264: %w", err)
	}
	readI420(d.frame, pix, w, h)
	img := gocv.NewMat()
	gocv.CvtColor(d.i420, &img, gocv.ColorYUVToBGRIYUV)
	return img, nil
}

func (d *h264Decoder) close() {
	if d.frame != nil {
		d.frame.Free()
	}
	if d.pkt != nil {
		d.pkt.Free()
	}
	if d.cc != nil {
		d.cc.Free()
	}
	d.i420.Close()
}
