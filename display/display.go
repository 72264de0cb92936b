// Package display owns frame sinks (GoCV window, recorder, null) and the
// decoders: JPEG through OpenCV, H.264 through FFmpeg (go-astiav). It is
// one of the two packages that use cgo media libraries: the rest of
// vstreamd hands it encoded bytes and never touches OpenCV or FFmpeg.
//
// A Sink takes frames through Show, which never blocks. A JPEG is copied
// into a one-frame hand-off slot, replacing (and counting as skipped) any
// JPEG the sink has not taken yet; the sink's own goroutine decodes the
// newest frame and shows or writes it, so a sink slower than the stream
// shows fewer frames, never older ones. H.264 frames depend on the frames
// before them, so they wait in a short queue and every one is decoded, in
// order; only the newest decoded one is shown (see h264sink.go). A frame
// whose reference chain is broken is never decoded or shown: the daemon
// says which (media.Received.Use), and the sink holds frames itself after losing
// one of the chain.
//
// Kinds of sink (media.SinkKind, declared in daemon/media with the other
// types the daemon and this package exchange):
//
//   - SinkWindow: a GoCV (highgui, Qt) window titled Config.Title, optionally
//     with fps and latency drawn over the picture. Pressing q or Esc in it,
//     or closing it, stops the sink: the window goes away, State becomes
//     StateClosedByUser, one line is logged, Done is closed, and later
//     frames are counted as Dropped. The rest of the daemon keeps running;
//     restarting it brings the window back. All highgui calls of the process
//     run on one locked OS thread (see guiThread). Open refuses when DISPLAY
//     names no reachable X server, since Qt would abort the process; Qt also
//     ends the process if the X server goes away while a window is open.
//     WaitKey is global to highgui, so one window per process is assumed: a
//     q typed into one of two windows may stop the other.
//   - SinkRecord: writes every frame it takes to Config.Path, in the codec it
//     arrives in. JPEG: a path ending in ".avi" (or ".mkv") gets MJPG
//     through gocv.VideoWriter; a path ending in "/" or naming a directory
//     gets a JPEG sequence frame-000001.jpg, ... (the received bytes, not
//     re-encoded). H.264: the access units as received (no re-encoding) in
//     the container the name says, ".mkv" (Matroska), ".mp4" or ".avi",
//     or in a directory as stream.h264.
//   - SinkNull: decodes and drops, for headless endpoints and benchmarks.
//   - SinkDiscard: counts the frames and their bytes and drops them
//     without decoding (or copying), so that a receiver's CPU is the
//     transport's alone: for benchmarks, and a receiver that only measures.
//   - SinkNone: a send-only endpoint; Show only counts.
//
// Frames that do not decode are counted in Status().DecodeErrors and skipped;
// the first one is logged.
package display

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/vstreamd/vstreamd/daemon/media"
)

// Config says which sink to open.
type Config struct {
	Kind media.SinkKind
	// Path is where Record writes: "name.mkv", "name.mp4" or "name.avi",
	// or a directory (an existing one, or a path ending in "/", created if
	// needed) for a JPEG sequence or stream.h264.
	Path    string
	Title   string // Window: the title; "vstreamd" when empty
	Overlay bool   // Window: draw fps and latency over the picture
	FPS     int    // Record (AVI): the nominal rate written into the file; 30 when 0
}

// States a sink reports in its Status().State.
const (
	StateRunning      = "running"
	StateClosedByUser = "closed by user"
	StateClosed       = "closed"
	// A sink that failed reports "failed: " and the reason.
	statePrefixFailed = "failed: "
)

// ErrConfig wraps every configuration error returned by Open.
var ErrConfig = errors.New("invalid display config")

// defaultFPS is the nominal rate of a recording when Config.FPS is 0.
const defaultFPS = 30

// Open opens the sink that cfg describes and starts its goroutine. A nil
// log discards. The caller must Close the Sink.
func Open(cfg Config, log *slog.Logger) (*Sink, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "display", "sink", cfg.Kind.String())
	var (
		r   renderer
		err error
	)
	switch cfg.Kind {
	case media.SinkWindow:
		r, err = newWindow(cfg)
	case media.SinkRecord:
		r, err = newRecorder(cfg)
	case media.SinkNull, media.SinkNone, media.SinkDiscard:
		r = nullRenderer{}
	default:
		err = fmt.Errorf("display: %w: unknown sink kind %d (want window, record, null, discard or none)", ErrConfig, int(cfg.Kind))
	}
	if err != nil {
		return nil, err
	}
	s := newSink(cfg, log, r)
	go s.run()
	if cfg.Kind != media.SinkNone {
		log.Info("frame sink open", "path", cfg.Path, "title", cfg.Title, "overlay", cfg.Overlay)
	}
	return s, nil
}

// recordTarget tells whether path names a JPEG sequence directory (creating
// it when it ends in "/") or an AVI file, and checks it can be written.
func recordTarget(path string) (dir bool, err error) {
	bad := func(format string, a ...any) (bool, error) {
		return false, fmt.Errorf("display: record %s: "+format, append([]any{path}, a...)...)
	}
	switch {
	case path == "":
		return false, fmt.Errorf("display: %w: record needs a path (name.avi or a directory/)", ErrConfig)
	case strings.HasSuffix(path, "/"):
		if err := os.MkdirAll(path, 0o755); err != nil {
			return bad("%w", err)
		}
		return true, nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return true, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".avi", ".mkv", ".mp4":
	default:
		return false, fmt.Errorf("display: %w: record path %s: want a name ending in .avi, .mkv or .mp4, or a directory ending in /", ErrConfig, path)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return bad("the directory %s does not exist", filepath.Dir(path))
	}
	return false, nil
}
