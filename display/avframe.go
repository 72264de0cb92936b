package display

// A few lines of C that go-astiav v0.16.0 lacks: reading a decoded
// picture's planes, and asking whether the decoder flagged it as damaged.

/*
#cgo pkg-config: libavcodec libavutil
#include <libavutil/frame.h>
#include <string.h>

// vs_read_i420 copies a YUV 4:2:0 frame's planes into a packed I420 image
// (w*h luma, then the two (w/2)*(h/2) chroma planes). w and h are even.
static void vs_read_i420(const AVFrame *f, uint8_t *dst, int w, int h) {
	uint8_t *p = dst;
	for (int y = 0; y < h; y++) memcpy(p + (size_t)y * w, f->data[0] + (size_t)y * f->linesize[0], w);
	p += (size_t)w * h;
	int cw = w / 2, ch = h / 2;
	for (int i = 1; i <= 2; i++) {
		for (int y = 0; y < ch; y++) memcpy(p + (size_t)y * cw, f->data[i] + (size_t)y * f->linesize[i], cw);
		p += (size_t)cw * ch;
	}
}

// vs_damaged reports whether the decoder concealed errors in the frame.
static int vs_damaged(const AVFrame *f) {
	return (f->flags & AV_FRAME_FLAG_CORRUPT) != 0 || f->decode_error_flags != 0;
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// readI420 copies f (YUV 4:2:0, w x h, both even) into dst, which holds at
// least w*h*3/2 bytes.
func readI420(f *astiav.Frame, dst []byte, w, h int) {
	C.vs_read_i420((*C.AVFrame)(f.UnsafePointer()), (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.int(w), C.int(h))
}

// damaged reports whether the decoder flagged f as concealed or corrupt.
func damaged(f *astiav.Frame) bool {
	return C.vs_damaged((*C.AVFrame)(f.UnsafePointer())) != 0
}
