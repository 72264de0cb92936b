// Package media owns what the daemon and the media packages (capture,
// display) exchange: the encoded frames going each way, the kinds of frame
// source and sink that [capture] source and [display] sink name, and the
// figures each reports for `vstreamd status`; and the hand-off of frames
// to a live preview, which sources and sinks share. It imports nothing of
// vstreamd but packetizer and uses no cgo, so the daemon builds without
// OpenCV or FFmpeg while capture and display hand it their own values,
// with nothing in between that copies.
package media

import (
	"time"

	"github.com/vstreamd/vstreamd/packetizer"
)

// Frame is one encoded frame from a source, to be sent.
type Frame struct {
	Data       []byte           // the picture (JPEG or H.264 access unit); owned by whoever asked for it
	Media      packetizer.Media // its codec, and whether it is a keyframe or starts an intra-refresh wave
	Seq        uint64           // source frame number; gaps mean dropped or skipped frames
	Captured   time.Time        // wall-clock time the image was grabbed
	Width      int              // size of the encoded image
	Height     int              //
	EncodeTime time.Duration    // time spent resizing and encoding
	// Framed, when set, is the frame as it goes to the packetizer: the
	// media prefix, then Data. A source whose frames are ready (a replay)
	// sets it and hands out its own bytes, with no copy: Data and Framed
	// are then the source's, not to be written, valid until its next Next,
	// and the buffer Next was given is left alone.
	Framed []byte
}

// Received is one received frame, handed to a sink to show.
type Received struct {
	Data  []byte           // the JPEG or H.264 access unit, without the media prefix; the sink copies what it keeps
	Codec packetizer.Codec // 0 is JPEG
	// Use and Start say what the receiver's packetizer.Chain decided:
	// whether to show the frame, only decode it, or skip it, and the frame
	// its chain starts at. JPEG frames are always shown.
	Use      packetizer.Use
	Start    uint32
	ID       uint32        // the transport's frame id
	Captured time.Time     // the sender's capture time, on this host's clock
	Latency  time.Duration // capture to complete, one way (shown in a window's overlay)
}
