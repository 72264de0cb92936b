package glass

/*
#cgo pkg-config: x11 xext
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <sys/ipc.h>
#include <sys/shm.h>
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

// vsShm is an XImage in a shared memory segment that the X server writes
// into directly (MIT-SHM): a read costs no copy through the socket.
typedef struct { XImage *img; XShmSegmentInfo info; int ok; } vsShm;

static vsShm *vsShmOpen(Display *d, int w, int h) {
	if (!XShmQueryExtension(d)) return NULL;
	vsShm *s = calloc(1, sizeof *s);
	int scr = DefaultScreen(d);
	s->img = XShmCreateImage(d, DefaultVisual(d, scr), DefaultDepth(d, scr), ZPixmap, NULL, &s->info, (unsigned)w, (unsigned)h);
	if (!s->img) { free(s); return NULL; }
	s->info.shmid = shmget(IPC_PRIVATE, (size_t)s->img->bytes_per_line * h, IPC_CREAT | 0600);
	if (s->info.shmid < 0) { XDestroyImage(s->img); free(s); return NULL; }
	s->info.shmaddr = s->img->data = shmat(s->info.shmid, NULL, 0);
	shmctl(s->info.shmid, IPC_RMID, NULL); // freed once both sides detach
	s->info.readOnly = False;
	vsXError = 0;
	if (s->img->data == (char *)-1 || !XShmAttach(d, &s->info)) { s->img->data = NULL; XDestroyImage(s->img); free(s); return NULL; }
	XSync(d, False);
	if (vsXError) { shmdt(s->info.shmaddr); s->img->data = NULL; XDestroyImage(s->img); free(s); return NULL; }
	return s;
}

static void vsShmClose(Display *d, vsShm *s) {
	XShmDetach(d, &s->info);
	XSync(d, False);
	shmdt(s->info.shmaddr);
	s->img->data = NULL;
	XDestroyImage(s->img);
	free(s);
}

// vsShmGrab is vsGrab through the shared image (of the rectangle's size).
static int vsShmGrab(Display *d, Window win, vsShm *s, int x, int y, unsigned char *dst) {
	vsXError = 0;
	if (!XShmGetImage(d, win, s->img, x, y, AllPlanes)) { XSync(d, False); return vsXError ? vsXError : -1; }
	if (s->img->bits_per_pixel != 32) return -2;
	int w = s->img->width;
	for (int r = 0; r < s->img->height; r++) memcpy(dst + (size_t)r*w*4, s->img->data + (size_t)r*s->img->bytes_per_line, (size_t)w*4);
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
	dpy    *C.Display
	win    C.Window
	shm    *C.vsShm        // for rectangles of shmFor's size; nil: none
	shmFor image.Rectangle // at the origin
	noShm  bool
}

// OpenGrabber connects to X display display (":N") and reads window id.
// It reads through shared memory (MIT-SHM) where the server offers it, and
// with plain XGetImage otherwise or when shm is false.
func OpenGrabber(display string, window uint32, shm bool) (*Grabber, error) {
	name := C.CString(display)
	defer C.free(unsafe.Pointer(name))
	dpy := C.XOpenDisplay(name)
	if dpy == nil {
		return nil, fmt.Errorf("glass: cannot open X display %q", display)
	}
	C.vsInstallHandler()
	return &Grabber{dpy: dpy, win: C.Window(window), noShm: !shm}, nil
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
	if g.useShm(r) {
		rc := C.vsShmGrab(g.dpy, g.win, g.shm, C.int(r.Min.X), C.int(r.Min.Y), (*C.uchar)(unsafe.Pointer(&dst[0])))
		return dst, g.grabErr(r, rc)
	}
	rc := C.vsGrab(g.dpy, g.win, C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Dx()), C.int(r.Dy()), (*C.uchar)(unsafe.Pointer(&dst[0])))
	return dst, g.grabErr(r, rc)
}

// useShm reports whether r is read through shared memory, setting up a
// segment of its size on first use.
func (g *Grabber) useShm(r image.Rectangle) bool {
	size := r.Sub(r.Min)
	if g.noShm {
		return false
	}
	if g.shm != nil && g.shmFor == size {
		return true
	}
	if g.shm != nil {
		C.vsShmClose(g.dpy, g.shm)
		g.shm = nil
	}
	if g.shm = C.vsShmOpen(g.dpy, C.int(r.Dx()), C.int(r.Dy())); g.shm == nil {
		g.noShm = true // the server offers no MIT-SHM (e.g. over the network)
		return false
	}
	g.shmFor = size
	return true
}

// Shm reports whether the last read went through shared memory.
func (g *Grabber) Shm() bool { return g.shm != nil && !g.noShm }

func (g *Grabber) grabErr(r image.Rectangle, rc C.int) error {
	switch rc {
	case 0:
		return nil
	case -2:
		return fmt.Errorf("%w: the X visual is not 32 bits a pixel (run Xvfb with depth 24)", errGrab)
	}
	return fmt.Errorf("%w: window %#x, %v: X error %d (BadMatch, 8: part of it is off the screen)", errGrab, uint32(g.win), r, int(rc))
}

// Close closes the connection.
func (g *Grabber) Close() {
	if g.shm != nil {
		C.vsShmClose(g.dpy, g.shm)
		g.shm = nil
	}
	if g.dpy != nil {
		C.XCloseDisplay(g.dpy)
		g.dpy = nil
	}
}
