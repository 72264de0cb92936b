package display

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"gocv.io/x/gocv"
)

// withSOF returns a copy of jpeg (from OpenCV's encoder) with its frame
// header changed by edit, which gets the segment from its length field.
func withSOF(t testing.TB, jpeg []byte, edit func(seg []byte)) []byte {
	t.Helper()
	b := bytes.Clone(jpeg)
	i := bytes.Index(b, []byte{0xFF, markerSOF0})
	if i < 0 {
		t.Fatal("no baseline frame header in the encoder's output")
	}
	edit(b[i+2:])
	return b
}

// withMarker replaces the frame header's marker byte.
func withMarker(t testing.TB, jpeg []byte, m byte) []byte {
	t.Helper()
	b := bytes.Clone(jpeg)
	i := bytes.Index(b, []byte{0xFF, markerSOF0})
	if i < 0 {
		t.Fatal("no baseline frame header in the encoder's output")
	}
	b[i+1] = m
	return b
}

func TestJPEGSizeAndDecode(t *testing.T) {
	good := patternFrames(t, 320, 240, 70, 1)[0].Data
	grey := func() []byte {
		img := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC1)
		defer img.Close()
		img.SetTo(gocv.NewScalar(90, 0, 0, 0))
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, img)
		if err != nil {
			t.Fatal(err)
		}
		defer buf.Close()
		return bytes.Clone(buf.GetBytes())
	}()
	setSize := func(w, h int) func([]byte) {
		return func(seg []byte) {
			binary.BigEndian.PutUint16(seg[sofHeight:], uint16(h))
			binary.BigEndian.PutUint16(seg[sofWidth:], uint16(w))
		}
	}
	for _, tc := range []struct {
		name         string
		data         []byte
		wantW, wantH int
		wantErr      error
	}{
		{"pattern frame", good, 320, 240, nil},
		{"greyscale decodes to BGR", grey, 64, 48, nil},
		{"empty", nil, 0, 0, ErrNotJPEG},
		{"PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0, 0, ErrNotJPEG},
		{"SOI and EOI only", []byte{0xFF, 0xD8, 0xFF, 0xD9}, 0, 0, ErrCorrupt},
		{"no end marker", good[:len(good)-2], 0, 0, ErrTruncated},
		{"65535x65535 header", withSOF(t, good, setSize(65535, 65535)), 0, 0, ErrTooLarge},
		{"wider than the limit", withSOF(t, good, setSize(MaxWidth+16, 16)), 0, 0, ErrTooLarge},
		{"too many pixels", withSOF(t, good, setSize(4096, 4096)), 0, 0, ErrTooLarge},
		{"zero height (DNL)", withSOF(t, good, setSize(320, 0)), 0, 0, ErrUnsupported},
		{"12-bit samples", withSOF(t, good, func(seg []byte) { seg[sofPrecision] = 12 }), 0, 0, ErrUnsupported},
		{"5 components", withSOF(t, good, func(seg []byte) { seg[sofComponents] = 5 }), 0, 0, ErrCorrupt},
		{"progressive", withMarker(t, good, 0xC2), 0, 0, ErrUnsupported},
		{"lossless", withMarker(t, good, 0xC3), 0, 0, ErrUnsupported},
		{"stray byte after SOI", append([]byte{0xFF, 0xD8, 0x00}, good[2:]...), 0, 0, ErrCorrupt},
		{"segment length 1", append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01}, good[2:]...), 0, 0, ErrCorrupt},
		{"segment longer than the data", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xF0, 0x00, 0xFF, 0xD9}, 0, 0, ErrTruncated},
		{"scan before frame header", []byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9}, 0, 0, ErrCorrupt},
		{"bogus Huffman table", func() []byte {
			b := bytes.Clone(good)
			i := bytes.Index(b, []byte{0xFF, markerDHT})
			b[i+4] = 0x77 // table class 7, id 7: libjpeg gives up
			return b
		}(), 0, 0, ErrDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(tc.data)
			if !errors.Is(err, tc.wantErr) {
				if err == nil {
					img.Close()
				}
				t.Fatalf("Decode(%s, %d bytes) = %v, want %v", tc.name, len(tc.data), err, tc.wantErr)
			}
			if err != nil {
				return
			}
			defer img.Close()
			if img.Cols() != tc.wantW || img.Rows() != tc.wantH || img.Channels() != 3 {
				t.Errorf("Decode(%s) = %dx%d with %d channels, want %dx%d with 3", tc.name, img.Cols(), img.Rows(), img.Channels(), tc.wantW, tc.wantH)
			}
		})
	}
}

// TestDecodeEveryPrefix feeds every proper prefix of a valid frame: each
// must be rejected with an error, none may crash.
func TestDecodeEveryPrefix(t *testing.T) {
	good := patternFrames(t, 160, 120, 50, 1)[0].Data
	for n := range len(good) {
		img, err := Decode(good[:n])
		if err == nil {
			img.Close()
			t.Fatalf("Decode(first %d of %d bytes) succeeded, want an error", n, len(good))
		}
	}
}

// FuzzDecode checks that no input crashes the decoder (a C++ exception
// in OpenCV would abort the process) and that what it accepts is within
// the limits. The seeds run in plain go test; fuzz with
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 60s ./display/
func FuzzDecode(f *testing.F) {
	good := patternFrames(f, 160, 120, 50, 1)[0].Data
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(withSOF(f, good, func(seg []byte) {
		binary.BigEndian.PutUint16(seg[sofHeight:], 65535)
		binary.BigEndian.PutUint16(seg[sofWidth:], 65535)
	}))
	f.Add(withMarker(f, good, 0xC2))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add([]byte{})
	f.Add([]byte("not a jpeg at all"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(data)
		if err != nil {
			return
		}
		defer img.Close()
		if img.Empty() || img.Cols() > MaxWidth || img.Rows() > MaxHeight || img.Cols()*img.Rows() > MaxPixels || img.Channels() != 3 {
			t.Fatalf("Decode accepted %d bytes as a %dx%d image with %d channels", len(data), img.Cols(), img.Rows(), img.Channels())
		}
	})
}

func TestXAddrs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{":0", "[[unix /tmp/.X11-unix/X0] [unix @/tmp/.X11-unix/X0]]"},
		{":99.0", "[[unix /tmp/.X11-unix/X99] [unix @/tmp/.X11-unix/X99]]"},
		{"unix:3", "[[unix /tmp/.X11-unix/X3] [unix @/tmp/.X11-unix/X3]]"},
		{"localhost:10.0", "[[tcp localhost:6010]]"},
		{"nodisplay", "error"},
		{":x", "error"},
	} {
		got, err := xAddrs(tc.in)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("xAddrs(%q) = %s, want %s", tc.in, s, tc.want)
		}
	}
}
