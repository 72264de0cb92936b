package capture

// A few lines of C that go-astiav v0.16.0 lacks: writing pixels into an
// AVFrame, and changing the encoder's rate limits between frames.

/*
#cgo pkg-config: libavcodec libavutil
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <string.h>

// vs_fill_i420 makes f writable and copies a packed I420 image (w*h luma,
// then the two (w/2)*(h/2) chroma planes) into its planes. w and h are even.
static int vs_fill_i420(AVFrame *f, const uint8_t *src, int w, int h) {
	int ret = av_frame_make_writable(f);
	if (ret < 0) return ret;
	const uint8_t *p = src;
	for (int y = 0; y < h; y++) memcpy(f->data[0] + (size_t)y * f->linesize[0], p + (size_t)y * w, w);
	p += (size_t)w * h;
	int cw = w / 2, ch = h / 2;
	for (int i = 1; i <= 2; i++) {
		for (int y = 0; y < ch; y++) memcpy(f->data[i] + (size_t)y * f->linesize[i], p + (size_t)y * cw, cw);
		p += (size_t)cw * ch;
	}
	return 0;
}

// vs_set_rate sets the rate the encoder aims for and its VBV limits; libx264
// applies a change on the next frame (x264_encoder_reconfig).
static void vs_set_rate(AVCodecContext *c, int64_t bitrate, int64_t maxrate, int bufsize) {
	c->bit_rate = bitrate;
	c->rc_max_rate = maxrate;
	c->rc_buffer_size = bufsize;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// fillI420 copies a packed I420 image of w x h (w, h even) into f.
func fillI420(f *astiav.Frame, i420 []byte, w, h int) error {
	if len(i420) < w*h*3/2 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("I420 image of %d bytes for %dx%d", len(i420), w, h)
	}
	ret := C.vs_fill_i420((*C.AVFrame)(f.UnsafePointer()), (*C.uint8_t)(unsafe.Pointer(&i420[0])), C.int(w), C.int(h))
	if ret < 0 {
		return fmt.Errorf("av_frame_make_writable: %w", astiav.Error(ret))
	}
	return nil
}

// codecContextPtr returns the AVCodecContext behind cc. go-astiav v0.16.0
// does not export it; its CodecContext's first field is that pointer
// (TestCodecContextPtr checks this against the library's own accessors).
func codecContextPtr(cc *astiav.CodecContext) *C.AVCodecContext {
	return *(**C.AVCodecContext)(unsafe.Pointer(cc))
}

// setRate sets the encoder's target bitrate, its ceiling and its VBV
// buffer, in bits per second and bits.
func setRate(cc *astiav.CodecContext, bitrate, maxrate, bufsize int) {
	C.vs_set_rate(codecContextPtr(cc), C.int64_t(bitrate), C.int64_t(maxrate), C.int(bufsize))
}
