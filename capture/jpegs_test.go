package capture

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/capture/jpegdir"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// writeJPEGs writes n pattern frames of w x h, encoded by OpenCV, into a
// new directory as frame-000001.jpg, ..., and returns it and the files'
// bytes in name order.
func writeJPEGs(t *testing.T, n, w, h int) (string, [][]byte) {
	t.Helper()
	p, err := newPattern(w, h)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	img := gocv.NewMat()
	defer img.Close()
	dir := t.TempDir()
	var files [][]byte
	for i := range n {
		p.draw(&img, uint64(i), time.Unix(int64(i), 0))
		data, err := AppendJPEG(nil, img, 60)
		if err != nil {
			t.Fatal(err)
		}
		// Written in reverse order: the source must sort by name.
		name := filepath.Join(dir, fmt.Sprintf("frame-%06d.jpg", n-i))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append([][]byte{data}, files...)
	}
	return dir, files
}

func TestJPEGsReplay(t *testing.T) {
	const n, fps = 5, 50
	dir, files := writeJPEGs(t, n, 320, 240)
	s := openT(t, Config{Kind: media.SourceJPEGs, Path: dir, FPS: fps, Width: 1280, Height: 720})
	// The adaptation's levers other than the rate have no effect.
	s.SetQuality(10)
	s.SetSize(160, 120)
	s.SetBitrate(MinBitrate)
	s.RequestKeyframe()

	seen := map[int]bool{}
	var first, last media.Frame
	// The files are handed out as they are kept, the media prefix before
	// them (Framed), and the buffer given is left alone.
	buf := bytes.Repeat([]byte{0xa5}, 64)
	const frames = 3 * n
	for i := range frames {
		f := next(t, s, buf[:0])
		want := files[f.Seq%n]
		if !bytes.Equal(f.Data, want) {
			t.Fatalf("frame %d (slot %d): %d bytes, not file %d (%d bytes)", i, f.Seq, len(f.Data), f.Seq%n, len(want))
		}
		if len(f.Framed) != packetizer.MediaLen+len(want) || &f.Framed[packetizer.MediaLen] != &f.Data[0] ||
			!bytes.Equal(f.Framed[:packetizer.MediaLen], f.Media.AppendTo(nil)) {
			t.Fatalf("frame %d: Framed is %d bytes, not the media prefix then Data", i, len(f.Framed))
		}
		if !bytes.Equal(buf, bytes.Repeat([]byte{0xa5}, 64)) {
			t.Fatalf("frame %d: the buffer given to Next was written", i)
		}
		if i > 0 && f.Seq <= last.Seq {
			t.Fatalf("frame %d: slot %d after %d", i, f.Seq, last.Seq)
		}
		if f.Width != 320 || f.Height != 240 || f.Media != (packetizer.Media{Codec: packetizer.CodecJPEG, Flags: packetizer.MediaKeyframe}) {
			t.Fatalf("frame %d: %dx%d %+v, want 320x240, a JPEG keyframe", i, f.Width, f.Height, f.Media)
		}
		seen[int(f.Seq%n)] = true
		if i == 0 {
			first = f
		}
		last = f
	}
	// A slot missed on a busy machine passes over its file (each frame is
	// checked against its slot's file above) and is counted as dropped.
	st := s.Status()
	if first.Seq != 0 || last.Seq+1 != st.Frames+st.Dropped {
		t.Errorf("slots %d..%d for %d frames and %d dropped, want 0..frames+dropped-1", first.Seq, last.Seq, st.Frames, st.Dropped)
	}
	if st.Dropped == 0 && len(seen) != n {
		t.Errorf("saw files %v, want all %d", seen, n)
	}
	// Never faster than the rate: the slots span at least their periods.
	if span, min := last.Captured.Sub(first.Captured), time.Duration(last.Seq-first.Seq)*time.Second/fps; span < min-time.Millisecond {
		t.Errorf("slots %d..%d came in %v, want at least %v at %d fps", first.Seq, last.Seq, span, min, fps)
	}
	if st.Kind != media.SourceJPEGs || st.Width != 320 || st.Height != 240 || st.Frames != frames || st.Note != JPEGsNote ||
		st.Quality != 0 || st.BitrateBps != 0 || st.Codec != "jpeg" || st.Bytes != len(last.Data) {
		t.Errorf("Stats = %+v, want kind jpegs, 320x240 (the files'), %d frames, the note, no quality or bitrate", st, frames)
	}
}

func TestJPEGsSetFPS(t *testing.T) {
	dir, _ := writeJPEGs(t, 2, 160, 90)
	s := openT(t, Config{Kind: media.SourceJPEGs, Path: dir, FPS: 100})
	if st := s.Status(); st.ConfiguredFPS != 100 {
		t.Fatalf("configured fps %d, want 100", st.ConfiguredFPS)
	}
	s.SetFPS(10)
	a := next(t, s, nil)
	b := next(t, s, nil)
	if gap := b.Captured.Sub(a.Captured); gap < 99*time.Millisecond {
		t.Errorf("frames %v apart after SetFPS(10), want at least 100ms", gap)
	}
}

func TestJPEGsOpenErrors(t *testing.T) {
	good, _ := writeJPEGs(t, 1, 160, 90)
	empty := t.TempDir()
	mixed, _ := writeJPEGs(t, 2, 160, 90)
	if err := os.WriteFile(filepath.Join(mixed, "README"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fake, _ := writeJPEGs(t, 1, 160, 90)
	if err := os.WriteFile(filepath.Join(fake, "frame-000002.jpg"), []byte("GIF89a........"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
		msg  string
	}{
		{"no path", Config{Kind: media.SourceJPEGs}, ErrConfig, "needs a directory"},
		{"h264", Config{Kind: media.SourceJPEGs, Path: good, Codec: packetizer.CodecH264}, ErrConfig, "codec must be JPEG"},
		{"empty", Config{Kind: media.SourceJPEGs, Path: empty}, jpegdir.ErrEmpty, empty},
		{"a file not a JPEG", Config{Kind: media.SourceJPEGs, Path: mixed}, jpegdir.ErrNotJPEG, "README"},
		{"a .jpg not a JPEG", Config{Kind: media.SourceJPEGs, Path: fake}, jpegdir.ErrNotJPEG, "frame-000002.jpg"},
		{"missing", Config{Kind: media.SourceJPEGs, Path: filepath.Join(empty, "nope")}, os.ErrNotExist, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.cfg, nil)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Open = %v, want %v saying %q", err, tc.want, tc.msg)
			}
		})
	}
}
