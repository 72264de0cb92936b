package media

import (
	"encoding/json"
	"testing"
	"time"
)

// TestStatusJSON pins the JSON of the source's and sink's status to what
// `vstreamd status`, the web page and scripts/bench read: the golden lines
// are what daemon.SourceStatus and daemon.SinkStatus, the copies these
// types replaced, wrote for the same figures (commit 7bfa3a3). Fields kept
// out of status must stay out, and decoding gives the figures back.
func TestStatusJSON(t *testing.T) {
	for _, tc := range []struct {
		v, back any
		golden  string
	}{{
		SourceStatus{Kind: SourcePattern, Width: 1280, Height: 720, FPS: 29.97, Quality: 80, Frames: 303, Dropped: 2, EncodeMs: 3.25, Codec: "jpeg", ConfiguredFPS: 30,
			Grabbed: 305, SourceFPS: 25, Bytes: 90000, EncodeLast: time.Millisecond, EncodeP95: 4 * time.Millisecond},
		&SourceStatus{},
		`{"kind":"pattern","width":1280,"height":720,"fps":29.97,"quality":80,"frames":303,"dropped":2,"encode_ms":3.25,"codec":"jpeg","keyframes":0,"fps_configured":30}`,
	}, {
		SourceStatus{Kind: SourceCamera, Width: 960, Height: 540, FPS: 30, Quality: 80, Frames: 9000, Dropped: 1, EncodeMs: 4.4, Codec: "h264", BitrateBps: 3000000, Keyframes: 7, ConfiguredFPS: 30},
		&SourceStatus{},
		`{"kind":"camera","width":960,"height":540,"fps":30,"quality":80,"frames":9000,"dropped":1,"encode_ms":4.4,"codec":"h264","bitrate_bps":3000000,"keyframes":7,"fps_configured":30}`,
	}, {
		SinkStatus{Kind: SinkWindow, State: "closed by user", Shown: 279, Skipped: 1, DecodeErrors: 2, DecodeMs: 6.125, Held: 3,
			Received: 290, Dropped: 4, Frozen: 1, Breaks: 1, LastID: 99, Width: 640, Height: 360, FPS: 29, Latency: time.Millisecond, DecodeLast: time.Millisecond},
		&SinkStatus{},
		`{"kind":"window","state":"closed by user","shown":279,"skipped":1,"decode_errors":2,"decode_ms":6.125,"held":3}`,
	}} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.golden {
			t.Errorf("json.Marshal(%+v) =\n%s, %v; want\n%s", tc.v, b, err, tc.golden)
			continue
		}
		if err := json.Unmarshal(b, tc.back); err != nil {
			t.Errorf("decoding %s: %v", b, err)
			continue
		}
		if again, _ := json.Marshal(tc.back); string(again) != tc.golden {
			t.Errorf("decoded and encoded again:\n%s; want\n%s", again, tc.golden)
		}
	}
}
