// Package capture owns frame sources (camera, file, synthetic pattern) and the
// encoders (JPEG through GoCV, H.264 through FFmpeg's libx264 with
// go-astiav). It is one of the two packages that use cgo media libraries:
// the rest of vstreamd sees only encoded bytes and the metadata in
// media.Frame (package daemon/media).
//
// A Source paces frames at the configured rate and never faster. When
// grabbing, encoding or the caller falls behind, frame slots are dropped, not
// queued: a frame handed out by Next is always the freshest one there is.
//
// Kinds of source (media.SourceKind, declared in daemon/media with the
// other types the daemon and this package exchange):
//
//   - SourceCamera: a V4L2 device by index ("0") or path ("/dev/video0", or a
//     symlink to one such as /dev/v4l/by-id/...). MJPG and the requested
//     size and rate are set as capture properties; when the device gives
//     another mode, that is logged once (a warning naming both), frames are
//     resized to the requested size and paced to at most the requested
//     rate. A reader goroutine keeps only the newest image, so a slow
//     consumer never gets stale buffered frames.
//   - SourceFile: any video OpenCV's FFmpeg backend reads, played in real time at
//     its own rate (or Config.FPS), looping when Config.Loop is set so that
//     a file can stand in for a camera.
//   - SourcePattern: a synthetic live test pattern with motion, texture, the frame
//     number, the capture time and a machine-readable frame number
//     (ReadPatternSeq) drawn on it. At 1280x720, quality 80 its JPEGs are
//     about the size a real camera gives.
//   - SourceJPEGs: a directory of JPEG files (package jpegdir says what it
//     may hold), read once at Open and kept in memory, sent as they are,
//     one per frame slot in the order of their names, cycling. Nothing is
//     decoded or encoded, so the frames are byte for byte the files (a
//     replay of what the record sink wrote, or the transport measured
//     alone). Quality, size and bit rate are the files': SetQuality,
//     SetSize and SetBitrate have no effect, SetFPS does.
//   - SourceNone: a receive-only endpoint; Next blocks until ctx is done.
//
// Every OpenCV Mat a Source allocates is released by Close; Next allocates
// none per frame that it does not release before it returns.
package capture

import (
	"errors"
	"fmt"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Limits and defaults applied by Open.
const (
	DefaultQuality = 80 // JPEG quality when Config.Quality is 0
	DefaultFPS     = 30 // rate for Pattern, and for a file or camera that reports none
	MaxFPS         = 1000
	// MinPatternWidth and MinPatternHeight bound the pattern's size from
	// below, so that its text and frame-number code stay legible.
	MinPatternWidth  = 160
	MinPatternHeight = 90
)

// Config says which source to open and how to encode its frames.
type Config struct {
	Kind   media.SourceKind
	Device string // Camera: "0".."N" or "/dev/videoN" (symlinks to one are resolved)
	Path   string // File: any video OpenCV's FFmpeg backend reads; SourceJPEGs: the directory
	// Width and Height are the output size. Frames are resized to it when the
	// source differs. 0, 0 means the source's own size for Camera and File;
	// Pattern requires both. Set both or neither. SourceJPEGs ignores them:
	// its frames are the files' size.
	Width, Height int
	// FPS is the rate in frames per second. 0 means the file's or camera's
	// own rate (DefaultFPS when it reports none), and DefaultFPS for Pattern.
	FPS int
	// Quality is the JPEG quality 1..100; 0 means DefaultQuality.
	Quality int
	// Codec is the encoding: packetizer.CodecJPEG (also when 0) or
	// packetizer.CodecH264.
	Codec packetizer.Codec
	// Bitrate is the H.264 target and ceiling in bits per second
	// (SetBitrate lowers the target); 0 means DefaultBitrate.
	Bitrate int
	// Loop makes a File start over at its end instead of returning io.EOF.
	Loop bool
}

// Errors a caller may branch on.
var (
	// ErrClosed is returned by Next after Close.
	ErrClosed = errors.New("capture: source closed")
	// ErrConfig wraps every configuration error returned by Open.
	ErrConfig = errors.New("invalid capture config")
)

// normalize checks cfg and fills in defaults.
func (cfg Config) normalize() (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return cfg, fmt.Errorf("capture: %w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch cfg.Kind {
	case media.SourceCamera:
		if cfg.Device == "" {
			return bad("camera needs a device (\"0\" or \"/dev/video0\")")
		}
	case media.SourceFile:
		if cfg.Path == "" {
			return bad("file source needs a path")
		}
	case media.SourcePattern:
		if cfg.Width < MinPatternWidth || cfg.Height < MinPatternHeight {
			return bad("pattern size %dx%d is too small: set width >= %d and height >= %d",
				cfg.Width, cfg.Height, MinPatternWidth, MinPatternHeight)
		}
	case media.SourceJPEGs:
		if cfg.Path == "" {
			return bad("jpegs source needs a directory")
		}
		if cfg.Codec != 0 && cfg.Codec != packetizer.CodecJPEG {
			return bad("jpegs source sends its JPEG files as they are: codec must be JPEG, not %v", cfg.Codec)
		}
	case media.SourceNone:
		return cfg, nil
	default:
		return bad("unknown source kind %d (want camera, file, pattern, jpegs or none)", int(cfg.Kind))
	}
	if cfg.Width < 0 || cfg.Height < 0 || (cfg.Width == 0) != (cfg.Height == 0) {
		return bad("size %dx%d: set width and height both > 0, or both 0 for the source's own size", cfg.Width, cfg.Height)
	}
	if cfg.FPS < 0 || cfg.FPS > MaxFPS {
		return bad("fps %d out of range 0..%d", cfg.FPS, MaxFPS)
	}
	if cfg.Kind == media.SourcePattern && cfg.FPS == 0 {
		cfg.FPS = DefaultFPS
	}
	if cfg.Quality == 0 {
		cfg.Quality = DefaultQuality
	}
	if cfg.Quality < 1 || cfg.Quality > 100 {
		return bad("quality %d out of range 1..100", cfg.Quality)
	}
	switch cfg.Codec {
	case 0:
		cfg.Codec = packetizer.CodecJPEG
	case packetizer.CodecJPEG, packetizer.CodecH264:
	default:
		return bad("unknown codec %d (want JPEG or H.264)", int(cfg.Codec))
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = DefaultBitrate
	}
	if cfg.Bitrate < MinBitrate || cfg.Bitrate > MaxBitrate {
		return bad("bitrate %d b/s out of range %d..%d", cfg.Bitrate, MinBitrate, MaxBitrate)
	}
	if cfg.Codec == packetizer.CodecH264 && (cfg.Width%2 != 0 || cfg.Height%2 != 0) {
		return bad("size %dx%d: %v", cfg.Width, cfg.Height, ErrOddSize)
	}
	return cfg, nil
}

// clampQuality keeps q within 1..100.
func clampQuality(q int) int {
	return min(max(q, 1), 100)
}

// clampFPS keeps fps within 1..MaxFPS.
func clampFPS(fps int) int {
	return min(max(fps, 1), MaxFPS)
}
