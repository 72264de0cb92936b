package media

import "time"

// SourceStatus is a snapshot of a frame source's counters and
// measurements, as capture.Source reports them and `vstreamd status` shows
// them (tx.source). Fields tagged "-" are for tests and logs, not status.
type SourceStatus struct {
	Kind    SourceKind `json:"kind"`
	Width   int        `json:"width"` // of the last frame
	Height  int        `json:"height"`
	FPS     float64    `json:"fps"`     // measured over the last frames delivered
	Quality int        `json:"quality"` // current JPEG quality
	Frames  uint64     `json:"frames"`  // delivered by Next
	// Dropped counts frame slots lost because grabbing, encoding or the
	// caller fell behind, including slots that passed while nobody asked for
	// a frame. For a camera: images the caller wanted but that a newer one
	// replaced first (images between slots are thinned out, not dropped).
	Dropped       uint64  `json:"dropped"`
	EncodeMs      float64 `json:"encode_ms"`             // resize and encode, mean over the last 64 frames
	Codec         string  `json:"codec"`                 // packetizer.Codec.String: "jpeg" or "h264"
	BitrateBps    int     `json:"bitrate_bps,omitempty"` // current H.264 target; 0 for JPEG
	Keyframes     uint64  `json:"keyframes"`             // H.264 IDRs: the first frame, requests, size changes
	ConfiguredFPS int     `json:"fps_configured"`        // the rate asked for (SetFPS)
	// Note says what a user should know of this source's settings, e.g.
	// that a replay of JPEG files keeps the files' size and quality.
	Note string `json:"note,omitempty"`

	Grabbed    uint64        `json:"-"` // images read from the device or file, or drawn
	SourceFPS  float64       `json:"-"` // the rate the device or file reports (0 for a pattern)
	Bytes      int           `json:"-"` // size of the last frame
	EncodeLast time.Duration `json:"-"` // the last frame's resize and encode
	EncodeP95  time.Duration `json:"-"` // over the last 64 frames
}

// SinkStatus is a snapshot of a frame sink's counters, as display.Sink
// reports them and `vstreamd status` shows them (rx.sink). Every frame
// given to a sink ends up in exactly one of Shown, Skipped, DecodeErrors,
// Dropped, Frozen and Held, except those waiting in its hand-off or being
// shown at that moment. Fields tagged "-" are for tests and logs, not
// status.
type SinkStatus struct {
	Kind         SinkKind `json:"kind"`
	State        string   `json:"state"`         // running, closed by user, closed, or failed: and why
	Shown        uint64   `json:"shown"`         // decoded and shown or written
	Skipped      uint64   `json:"skipped"`       // replaced by a newer frame before the sink took it
	DecodeErrors uint64   `json:"decode_errors"` // taken but not decodable
	DecodeMs     float64  `json:"decode_ms"`     // mean over the last 64 frames
	// Held counts H.264 frames not shown because the sink itself lost a
	// frame of their chain (a decode error, falling behind).
	Held uint64 `json:"held"`
	// Bytes counts the bytes of the frames a "discard" sink took (and
	// dropped undecoded).
	Bytes uint64 `json:"bytes,omitempty"`

	Received   uint64        `json:"-"` // frames given to the sink
	Dropped    uint64        `json:"-"` // given after the sink had stopped, or lost with it
	Frozen     uint64        `json:"-"` // H.264: not shown, as the daemon said (Use): their chain was broken
	Breaks     uint64        `json:"-"` // H.264: times the sink lost a frame of the chain
	LastID     uint32        `json:"-"` // ID of the last frame shown
	Width      int           `json:"-"` // size of the last frame shown
	Height     int           `json:"-"`
	FPS        float64       `json:"-"` // frames shown per second, over the last 64
	Latency    time.Duration `json:"-"` // Latency of the last frame shown
	DecodeLast time.Duration `json:"-"`
}
