package packetizer

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Every frame the Packetizer carries starts with a 4-byte media prefix that
// says what the rest of the frame is. It travels inside the frame, so the
// frame's CRC-32C and, when encryption is on, its seal cover it; the
// datagram header is unchanged.
//
//	 0               1               2               3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+---------------+---------------+-------------------------------+
//	|     codec     |     flags     |       refresh frames          |  0
//	+---------------+---------------+-------------------------------+
//	|  the encoded picture: a JPEG, or H.264 Annex-B access unit    |  4
//
// codec: CodecJPEG or CodecH264.
//
// flags: MediaKeyframe: the picture decodes on its own (every JPEG; an H.264
// IDR). MediaRefresh: an H.264 intra-refresh wave starts here (the encoder
// put a recovery point SEI on it naming "refresh frames"); receivers today
// do not treat the wave's end as a recovery point (see Chain), but the
// flag tells a recorder or a future receiver where waves start. Other flag
// bits are zero.
//
// refresh frames: with MediaRefresh, the frames after this one until the
// picture is whole (at least 1); zero otherwise.
const (
	MediaLen = 4

	mediaCodec   = 0 // 1 byte
	mediaFlags   = 1 // 1 byte
	mediaRefresh = 2 // 2 bytes
)

// Codec names the encoding of a frame's picture.
type Codec uint8

// Codecs. The zero Codec is invalid.
const (
	CodecJPEG Codec = 1 // baseline JPEG, every frame a keyframe
	CodecH264 Codec = 2 // H.264 Annex-B, one access unit per frame
	codecEnd  Codec = 3
)

func (c Codec) String() string {
	switch c {
	case CodecJPEG:
		return "jpeg"
	case CodecH264:
		return "h264"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// ParseCodec returns the codec String names: "jpeg" or "h264".
func ParseCodec(name string) (c Codec, ok bool) {
	switch name {
	case "jpeg":
		return CodecJPEG, true
	case "h264":
		return CodecH264, true
	}
	return 0, false
}

// Media flags.
const (
	MediaKeyframe uint8 = 1 << 0 // decodes on its own
	MediaRefresh  uint8 = 1 << 1 // an intra-refresh wave starts here
	mediaKnown          = MediaKeyframe | MediaRefresh
)

// Media is a parsed media prefix.
type Media struct {
	Codec Codec
	Flags uint8
	// Refresh is, with MediaRefresh, how many frames after this one the
	// picture is whole again; zero otherwise.
	Refresh uint16
}

// Keyframe reports whether the frame decodes on its own.
func (m Media) Keyframe() bool { return m.Flags&MediaKeyframe != 0 }

// RefreshStart reports whether an intra-refresh wave starts at the frame.
func (m Media) RefreshStart() bool { return m.Flags&MediaRefresh != 0 }

// ErrMedia reports a frame whose media prefix is missing or malformed.
var ErrMedia = errors.New("packetizer: malformed media prefix")

// AppendTo appends the encoded prefix to b.
func (m Media) AppendTo(b []byte) []byte {
	b = append(b, byte(m.Codec), m.Flags)
	return binary.BigEndian.AppendUint16(b, m.Refresh)
}

// ParseMedia decodes the media prefix at the start of frame and returns it
// with the picture that follows (a subslice of frame). It never panics; a
// frame too short for the prefix, an unknown codec or flag, a refresh count
// without MediaRefresh (or none with it), a JPEG that is not a keyframe, or
// an empty picture is ErrMedia.
func ParseMedia(frame []byte) (Media, []byte, error) {
	if len(frame) <= MediaLen {
		return Media{}, nil, ErrMedia
	}
	m := Media{
		Codec:   Codec(frame[mediaCodec]),
		Flags:   frame[mediaFlags],
		Refresh: binary.BigEndian.Uint16(frame[mediaRefresh:]),
	}
	switch {
	case m.Codec == 0 || m.Codec >= codecEnd,
		m.Flags&^mediaKnown != 0,
		m.RefreshStart() != (m.Refresh != 0),
		m.Codec == CodecJPEG && m.Flags != MediaKeyframe:
		return Media{}, nil, ErrMedia
	}
	return m, frame[MediaLen:], nil
}
