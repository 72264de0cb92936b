package glass

/*
#cgo pkg-config: x11
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdlib.h>
#include <string.h>

// Xlib's default error handler ends the process; this one records the
// error for vsGrab to return. The handler is process-wide (Xlib has one),
// so Grabbers must not grab concurrently with each other.
static int vsXError;
static int vsOnError(Display *d, XErrorEvent *e) { vsXError = e->error_code; return 0; }
static void vsInstallHandler(void) { XSetErrorHandler(vsOnError); }

// vsGrab copies the w x h rectangle at x, y of window win into dst as rows
// of 4-byte pixels (B, G, R, unused on a little-endian 24-bit visual).
// It returns 0, an X error code, or -1 (no image) or -2 (not 32 bits a pixel).
static int vsGrab(Display *d, Window win, int x, int y, int w, int h, unsigned char *dst) {
	vsXError = 0;
	XImage *img = XGetImage(d, win, x, y, (unsigned)w, (unsigned)h, AllPlanes, ZPixmap);
	if (!img) { XSync(d, False); return vsXError ? vsXError : -1; }
	if (img->bits_per_pixel != 32) { XDestroyImage(img); return -2; }
	for (int r = 0; r < h; r++) memcpy(dst + (size_t)r*w*4, img->data + (size_t)r*img->bytes_per_line, (size_t)w*4);
	XDestroyImage(img);
	return 0;
}

static int vsSize(Display *d, Window win, int *w, int *h) {
	XWindowAttributes a;
	vsXError = 0;
	if (!XGetWindowAttributes(d, win, &a)) { XSync(d, False); return vsXError ? vsXError : -1; }
	*w = a.width; *h = a.height;
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// Grabber reads the pixels of one X window with XGetImage over its own
// connection to the X server. A Grabber is not safe for concurrent use,
// and two Grabbers must not grab at the same time (Xlib's error handler is
// one per process).
type Grabber struct {
	dpy *C.Display
	win C.Window
}

// OpenGrabber connects to X display display (":N") and reads window id.
func OpenGrabber(display string, window uint32) (*Grabber, error) {
	name := C.CString(display)
	defer C.free(unsafe.Pointer(name))
	dpy := C.XOpenDisplay(name)
	if dpy == nil {
		return nil, fmt.Errorf("glass: cannot open X display %q", display)
	}
	C.vsInstallHandler()
	return &Grabber{dpy: dpy, win: C.Window(window)}, nil
}

// Size returns the window's size.
func (g *Grabber) Size() (image.Point, error) {
	var w, h C.int
	if rc := C.vsSize(g.dpy, g.win, &w, &h); rc != 0 {
		return image.Point{}, fmt.Errorf("glass: window %#x: X error %d (is it gone?)", uint32(g.win), int(rc))
	}
	return image.Pt(int(w), int(h)), nil
}

// errGrab is wrapped by Grab's errors.
var errGrab = errors.New("glass: XGetImage failed")

// Grab reads rectangle r of the window (window coordinates) into dst, rows
// of 4 bytes a pixel (B, G, R, x), r.Dx()*4 bytes a row, and returns it.
func (g *Grabber) Grab(r image.Rectangle, dst []byte) ([]byte, error) {
	n := r.Dx() * r.Dy() * 4
	if r.Empty() {
		return dst[:0], fmt.Errorf("%w: empty rectangle %v", errGrab, r)
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	rc := C.vsGrab(g.dpy, g.win, C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Dx()), C.int(r.Dy()), (*C.uchar)(unsafe.Pointer(&dst[0])))
	switch rc {
	case 0:
		return dst, nil
	case -2:
		return dst, fmt.Errorf("%w: the X visual is not 32 bits a pixel (run Xvfb with depth 24)", errGrab)
	}
	return dst, fmt.Errorf("%w: window %#x, %v: X error %d (BadMatch, 8: part of it is off the screen)", errGrab, uint32(g.win), r, int(rc))
}

// Close closes the connection.
func (g *Grabber) Close() {
	if g.dpy != nil {
		C.XCloseDisplay(g.dpy)
		g.dpy = nil
	}
}
