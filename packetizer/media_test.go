package packetizer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestMediaRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		m    Media
		want string
	}{
		{Media{Codec: CodecJPEG, Flags: MediaKeyframe}, "01010000"},
		{Media{Codec: CodecH264, Flags: MediaKeyframe}, "02010000"},
		{Media{Codec: CodecH264}, "02000000"},
		{Media{Codec: CodecH264, Flags: MediaRefresh, Refresh: 0x0102}, "02020102"},
	} {
		b := tc.m.AppendTo([]byte{0xEE})
		if got := hex.EncodeToString(b[1:]); got != tc.want {
			t.Fatalf("%+v.AppendTo = %s, want %s", tc.m, got, tc.want)
		}
		frame := append(b[1:], 0xAB, 0xCD)
		m, pic, err := ParseMedia(frame)
		if err != nil || m != tc.m || !bytes.Equal(pic, []byte{0xAB, 0xCD}) {
			t.Fatalf("ParseMedia(%x) = %+v, %x, %v; want %+v, abcd", frame, m, pic, err, tc.m)
		}
		for n := range MediaLen + 1 {
			if _, _, err := ParseMedia(frame[:n]); !errors.Is(err, ErrMedia) {
				t.Fatalf("ParseMedia(%d bytes) = %v, want ErrMedia", n, err)
			}
		}
	}
	for _, bad := range []string{
		"00010000ff", // no codec
		"03010000ff", // unknown codec
		"02040000ff", // unknown flag
		"02000001ff", // refresh count without a refresh start
		"02020000ff", // refresh start without a count
		"01000000ff", // a JPEG that is not a keyframe
	} {
		b, _ := hex.DecodeString(bad)
		if _, _, err := ParseMedia(b); !errors.Is(err, ErrMedia) {
			t.Errorf("ParseMedia(%s) = %v, want ErrMedia", bad, err)
		}
	}
}

func TestRecoverRoundTrip(t *testing.T) {
	m := Recover{After: 0x01020304}
	b := m.AppendTo(nil)
	if got := hex.EncodeToString(b); got != "01020304" {
		t.Fatalf("Recover.AppendTo = %s", got)
	}
	back, err := ParseRecover(b)
	if err != nil || back != m {
		t.Fatalf("ParseRecover = %+v, %v; want %+v", back, err, m)
	}
	for n := range RecoverLen {
		if _, err := ParseRecover(b[:n]); !errors.Is(err, ErrControl) {
			t.Fatalf("ParseRecover(%d bytes) = %v, want ErrControl", n, err)
		}
	}
}

func FuzzMedia(f *testing.F) {
	f.Add(Media{Codec: CodecH264, Flags: MediaRefresh, Refresh: 30}.AppendTo(nil))
	f.Add(append(Media{Codec: CodecJPEG, Flags: MediaKeyframe}.AppendTo(nil), 0xFF, 0xD8))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, pic, err := ParseMedia(b)
		if err != nil {
			return
		}
		again := append(m.AppendTo(nil), pic...)
		if !bytes.Equal(again, b) {
			t.Fatalf("media round trip: %x, want %x", again, b)
		}
		var c Chain
		c.Next(1, m) // never panics, whatever the prefix says
	})
}

// TestMediaChainAllocs: the receiver's per-frame work, parsing the prefix
// and following the chain, allocates nothing.
func TestMediaChainAllocs(t *testing.T) {
	frame := append(Media{Codec: CodecH264}.AppendTo(nil), 0, 0, 1, 0x41)
	var c Chain
	id := uint32(0)
	shown := 0
	allocs := testing.AllocsPerRun(1000, func() {
		m, pic, err := ParseMedia(frame)
		if err != nil || len(pic) != 4 {
			t.Fatal(err)
		}
		if id%30 == 0 {
			m.Flags = MediaKeyframe
		}
		if use, _ := c.Next(id, m); use == UseShow {
			shown++
		}
		id++
	})
	if shown == 0 {
		t.Fatal("no frame was shown: the path under test did not run")
	}
	if allocs != 0 {
		t.Fatalf("%v allocations per frame, want 0", allocs)
	}
}

// TestParseCodec: every codec's name parses back to it, and nothing else
// parses.
func TestParseCodec(t *testing.T) {
	for c := CodecJPEG; c < codecEnd; c++ {
		if got, ok := ParseCodec(c.String()); got != c || !ok {
			t.Errorf("ParseCodec(%q) = %v, %v; want %v, true", c, got, ok, c)
		}
	}
	for _, bad := range []string{"", "JPEG", "h265", "mjpeg", Codec(0).String()} {
		if c, ok := ParseCodec(bad); ok {
			t.Errorf("ParseCodec(%q) = %v, true; want false", bad, c)
		}
	}
}
