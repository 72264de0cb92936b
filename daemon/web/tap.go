package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Tap is a latest-wins slot for preview images of one direction of the
// call: the media side (capture.Source for what this endpoint sends,
// display.Sink for what it receives) puts a JPEG of its latest image into
// it, and the page's MJPEG streams take them out.
//
// A Tap costs nothing while nobody watches: Wants is false, so the media
// side neither copies nor encodes. While someone watches, it asks for at
// most one image per interval (MaxPreviewFPS by default). A newer image
// replaces an older one that no stream has taken yet; nothing queues.
//
// A Tap is safe for concurrent use: one producer, any number of watchers.
type Tap struct {
	every    time.Duration
	watchers atomic.Int32
	due      atomic.Int64 // Unix ns from which the next image is wanted

	mu    sync.Mutex
	img   []byte
	seq   uint64        // number of img; 0 before the first
	fresh chan struct{} // closed and replaced when img changes
}

// MaxPreviewFPS is the rate at which a Tap asks for images while watched:
// enough to see motion, a small fraction of a core to encode when the
// frames are not JPEG already.
const MaxPreviewFPS = 8

// maxWatchers bounds the streams one Tap serves at once, so a page opened
// many times (or a client that opens streams in a loop) costs bounded
// memory and bandwidth.
const maxWatchers = 8

// NewTap returns a Tap that asks for at most fps images a second (fps <= 0:
// MaxPreviewFPS).
func NewTap(fps float64) *Tap {
	if fps <= 0 {
		fps = MaxPreviewFPS
	}
	return &Tap{every: time.Duration(float64(time.Second) / fps), fresh: make(chan struct{})}
}

// Wants reports whether an image is wanted now: someone watches and the
// last one was put at least an interval ago. It is cheap (two atomic
// loads), for calling once per frame. A nil Tap wants nothing.
func (t *Tap) Wants(now time.Time) bool {
	return t != nil && t.watchers.Load() > 0 && now.UnixNano() >= t.due.Load()
}

// Put stores a copy of jpeg, a complete JPEG image, as the latest image.
func (t *Tap) Put(jpeg []byte, now time.Time) {
	t.due.Store(now.Add(t.every).UnixNano())
	t.mu.Lock()
	t.img = append(t.img[:0], jpeg...)
	t.seq++
	close(t.fresh)
	t.fresh = make(chan struct{})
	t.mu.Unlock()
}

// errBusy is returned by watch when a Tap already serves maxWatchers.
var errBusy = errors.New("too many preview streams open")

// watch registers a watcher; the caller must call the returned release.
func (t *Tap) watch() (release func(), err error) {
	if t.watchers.Add(1) > maxWatchers {
		t.watchers.Add(-1)
		return nil, errBusy
	}
	var once sync.Once
	return func() { once.Do(func() { t.watchers.Add(-1) }) }, nil
}

// next waits for an image newer than after and appends it to dst[:0].
func (t *Tap) next(ctx context.Context, after uint64, dst []byte) ([]byte, uint64, error) {
	for {
		t.mu.Lock()
		if t.seq > after {
			dst = append(dst[:0], t.img...)
			seq := t.seq
			t.mu.Unlock()
			return dst, seq, nil
		}
		fresh := t.fresh
		t.mu.Unlock()
		select {
		case <-fresh:
		case <-ctx.Done():
			return dst, after, ctx.Err()
		}
	}
}

// Images returns how many images have been put.
func (t *Tap) Images() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

// mjpegBoundary separates the parts of a multipart/x-mixed-replace stream.
const mjpegBoundary = "vstreamd-frame"

// serveMJPEG streams the tap's images as multipart/x-mixed-replace (Motion
// JPEG, which every browser shows in an <img>) until the client goes away.
// Each image is sent once; a client slower than the tap gets the newest one
// when it is ready for another.
func serveMJPEG(t *Tap, w http.ResponseWriter, r *http.Request) {
	release, err := t.watch()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer release()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "multipart/x-mixed-replace; boundary="+mjpegBoundary)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "--%s\r\n", mjpegBoundary); err != nil {
		return
	}
	if err := rc.Flush(); err != nil { // the headers now, the first image when there is one
		return
	}
	var img []byte
	var seq uint64
	for {
		img, seq, err = t.next(r.Context(), seq, img)
		if err != nil {
			return
		}
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second)) // a stalled client is dropped
		// Each part ends with the next boundary, so a client has the whole
		// image at once rather than when the next one comes.
		if _, err := fmt.Fprintf(w, "Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(img)); err != nil {
			return
		}
		if _, err := w.Write(img); err != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "\r\n--%s\r\n", mjpegBoundary); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// serveSnapshot answers with one JPEG: the next image the tap gets, within
// a few seconds.
func serveSnapshot(t *Tap, w http.ResponseWriter, r *http.Request) {
	release, err := t.watch()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	t.mu.Lock()
	after := t.seq
	t.mu.Unlock()
	img, _, err := t.next(ctx, after, nil)
	if err != nil {
		http.Error(w, "no image within 5 s: no frames flow in this direction", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(img)
}
