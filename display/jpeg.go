package display

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits on the frames the decoder accepts. A JPEG header costs a few bytes
// but names the size OpenCV will allocate, so a frame from the network
// larger than these is rejected before OpenCV sees it. They admit 4K
// (4096x2304) in either orientation; the decoded image is then at most 28 MB.
const (
	MaxWidth  = 4096
	MaxHeight = 4096
	MaxPixels = 4096 * 2304
)

// Errors the decoder returns, each wrapped with detail; a caller can branch
// on them with errors.Is.
var (
	ErrNotJPEG     = errors.New("not a JPEG")
	ErrTruncated   = errors.New("truncated JPEG")
	ErrCorrupt     = errors.New("corrupt JPEG")
	ErrUnsupported = errors.New("unsupported JPEG")
	ErrTooLarge    = errors.New("JPEG too large")
)

// JPEG markers, the byte after 0xFF.
const (
	markerSOI  = 0xD8 // start of image, no length
	markerEOI  = 0xD9 // end of image, no length
	markerSOS  = 0xDA // start of scan: entropy-coded data follows
	markerSOF0 = 0xC0 // baseline
	markerSOF1 = 0xC1 // extended sequential, Huffman
	markerDHT  = 0xC4 // C4, C8 and CC sit among the SOFn codes but are not frames
	markerJPG  = 0xC8
	markerDAC  = 0xCC
)

// A segment after its marker:
//
//	+--------+-----------------------------+
//	| length |  payload (length-2 bytes)   |   length: big-endian uint16,
//	+--------+-----------------------------+   counts itself
//
// A frame header (SOFn) payload:
//
//	+-----------+--------+-------+------------+----------------------+
//	| precision | height | width | components | 3 bytes per component|
//	|  1 byte   |   2    |   2   |   1 byte   |                      |
//	+-----------+--------+-------+------------+----------------------+
const (
	segLenSize    = 2
	sofPrecision  = 2 // offsets from the start of the length field
	sofHeight     = 3
	sofWidth      = 5
	sofComponents = 7
	sofMinLength  = 8
)

// jpegSize walks the marker segments of a JPEG up to its frame header and
// returns the image size, checking that it is one that libjpeg will decode
// to the same size and within the limits. It never reads entropy-coded
// data, and it is stricter than libjpeg (no stray bytes between segments),
// so the frame header it finds is the one libjpeg will use.
func jpegSize(b []byte) (w, h int, err error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != markerSOI {
		return 0, 0, ErrNotJPEG
	}
	if b[len(b)-2] != 0xFF || b[len(b)-1] != markerEOI {
		return 0, 0, fmt.Errorf("%w: no end-of-image marker", ErrTruncated)
	}
	i := 2
	for {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("%w: no frame header", ErrTruncated)
		}
		if b[i] != 0xFF {
			return 0, 0, fmt.Errorf("%w: byte %#02x at offset %d where a marker belongs", ErrCorrupt, b[i], i)
		}
		for i < len(b) && b[i] == 0xFF { // fill bytes
			i++
		}
		if i >= len(b) {
			return 0, 0, fmt.Errorf("%w: no frame header", ErrTruncated)
		}
		m := b[i]
		i++
		switch {
		case m == markerSOS || m == markerEOI:
			return 0, 0, fmt.Errorf("%w: marker %#02x before the frame header", ErrCorrupt, m)
		case m == markerSOI || m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			return 0, 0, fmt.Errorf("%w: marker %#02x out of place at offset %d", ErrCorrupt, m, i-1)
		}
		if i+segLenSize > len(b) {
			return 0, 0, fmt.Errorf("%w: segment %#02x cut off", ErrTruncated, m)
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < segLenSize {
			return 0, 0, fmt.Errorf("%w: segment %#02x has length %d", ErrCorrupt, m, n)
		}
		if i+n > len(b) {
			return 0, 0, fmt.Errorf("%w: segment %#02x of %d bytes cut off", ErrTruncated, m, n)
		}
		if m >= 0xC0 && m <= 0xCF && m != markerDHT && m != markerJPG && m != markerDAC {
			return frameSize(m, b[i:i+n])
		}
		i += n
	}
}

// frameSize checks a frame header segment (starting at its length field).
func frameSize(m byte, seg []byte) (w, h int, err error) {
	if m != markerSOF0 && m != markerSOF1 {
		return 0, 0, fmt.Errorf("%w: frame type %#02x (only baseline and extended sequential Huffman JPEGs are accepted)", ErrUnsupported, m)
	}
	if len(seg) < sofMinLength {
		return 0, 0, fmt.Errorf("%w: frame header of %d bytes", ErrCorrupt, len(seg))
	}
	if p := seg[sofPrecision]; p != 8 {
		return 0, 0, fmt.Errorf("%w: %d-bit samples", ErrUnsupported, p)
	}
	h = int(binary.BigEndian.Uint16(seg[sofHeight:]))
	w = int(binary.BigEndian.Uint16(seg[sofWidth:]))
	nc := int(seg[sofComponents])
	switch {
	case w == 0 || h == 0:
		return 0, 0, fmt.Errorf("%w: image size %dx%d", ErrUnsupported, w, h)
	case w > MaxWidth || h > MaxHeight || w*h > MaxPixels:
		return 0, 0, fmt.Errorf("%w: %dx%d (the limit is %dx%d and %d pixels)", ErrTooLarge, w, h, MaxWidth, MaxHeight, MaxPixels)
	case nc < 1 || nc > 4 || len(seg) < sofMinLength+3*nc:
		return 0, 0, fmt.Errorf("%w: %d components in a %d-byte frame header", ErrCorrupt, nc, len(seg))
	}
	return w, h, nil
}
