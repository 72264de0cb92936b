package capture

import (
	"errors"
	"io"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
)

// TestFileSource plays a video that the test wrote with VideoWriter and
// checks, by the frame number the pattern drew into each frame, that frames
// come in order and show the media frame their Seq names, then that looping
// starts over and that frames are resized to the configured size.
//
// Playback keeps to the clock, so on a busy machine a slot can be missed and
// a frame passed over; the checks hold either way: Seq names the media frame
// shown, and Frames+Dropped account for every slot.
func TestFileSource(t *testing.T) {
	const n = 12
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, path, 320, 240, n, 25)

	for _, tc := range []struct {
		name    string
		cfg     Config
		frames  int // how many to read at most
		wantW   int
		wantH   int
		wantEOF bool // Next returns io.EOF at the end
	}{
		{"plays once, in order, then EOF", Config{Kind: media.SourceFile, Path: path, FPS: 200}, 3 * n, 320, 240, true},
		{"loops", Config{Kind: media.SourceFile, Path: path, FPS: 200, Loop: true}, 2*n + 3, 320, 240, false},
		{"resizes", Config{Kind: media.SourceFile, Path: path, FPS: 200, Width: 640, Height: 480}, 3, 640, 480, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openT(t, tc.cfg)
			var buf []byte
			var last media.Frame
			read, eof := 0, false
			for i := range tc.frames {
				f, err := s.Next(t.Context(), buf)
				if errors.Is(err, io.EOF) {
					eof = true
					break
				}
				if err != nil {
					t.Fatalf("frame %d: Next: %v", i, err)
				}
				read++
				buf = f.Data
				if i > 0 && f.Seq <= last.Seq {
					t.Errorf("frame %d: Seq %d after %d, want increasing", i, f.Seq, last.Seq)
				}
				last = f
				img := decode(t, f.Data)
				if img.Cols() != tc.wantW || img.Rows() != tc.wantH || f.Width != tc.wantW || f.Height != tc.wantH {
					t.Errorf("frame %d: decoded %dx%d, Frame says %dx%d, want %dx%d", i, img.Cols(), img.Rows(), f.Width, f.Height, tc.wantW, tc.wantH)
				}
				seq, ok := ReadPatternSeq(img)
				img.Close()
				if want := uint32(f.Seq % n); !ok || seq != want {
					t.Errorf("frame %d (Seq %d) shows clip frame %d (ok=%v), want %d", i, f.Seq, seq, ok, want)
				}
			}
			if eof != tc.wantEOF {
				t.Fatalf("reached io.EOF = %v after %d frames, want %v", eof, read, tc.wantEOF)
			}
			if eof {
				if _, err := s.Next(t.Context(), buf); !errors.Is(err, io.EOF) {
					t.Errorf("Next after io.EOF = %v, want io.EOF again", err)
				}
				if read < n/2 {
					t.Errorf("only %d of %d frames before io.EOF", read, n)
				}
			}
			if tc.cfg.Loop && last.Seq < n {
				t.Errorf("last Seq = %d after %d frames of a %d-frame looping clip, want >= %d", last.Seq, read, n, n)
			}
			if st := s.Status(); st.Frames != uint64(read) || st.Frames+st.Dropped != last.Seq+1 {
				t.Errorf("Stats: Frames %d, Dropped %d; want Frames %d and Frames+Dropped = %d slots", st.Frames, st.Dropped, read, last.Seq+1)
			}
		})
	}
}

// TestFileOwnRate checks that a file plays at the rate written in it when
// no FPS is configured.
func TestFileOwnRate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, path, 320, 240, 3, 25)
	s := openT(t, Config{Kind: media.SourceFile, Path: path})
	st := s.Status()
	if st.ConfiguredFPS != 25 || math.Abs(st.SourceFPS-25) > 0.01 {
		t.Errorf("Status ConfiguredFPS, SourceFPS = %d, %.2f; want 25, 25", st.ConfiguredFPS, st.SourceFPS)
	}
}

// TestFileRealTime checks that a file keeps to the clock when the rate is
// lowered: at half the media rate every other frame is passed over.
func TestFileRealTime(t *testing.T) {
	const n = 30
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, path, 320, 240, n, 25)
	s := openT(t, Config{Kind: media.SourceFile, Path: path, FPS: 200})
	s.SetFPS(100) // half the playback rate
	var buf []byte
	var prev uint64
	for i := range 8 {
		f := next(t, s, buf)
		buf = f.Data
		img := decode(t, f.Data)
		seq, ok := ReadPatternSeq(img)
		img.Close()
		if !ok || uint64(seq) != f.Seq {
			t.Fatalf("frame %d: shows clip frame %d (ok=%v), want its Seq %d", i, seq, ok, f.Seq)
		}
		// The first frame was read by Open; from then on, two media frames
		// per slot (more if a slot was missed).
		if step := f.Seq - prev; i > 0 && (step < 2 || step%2 != 0) {
			t.Errorf("frame %d: Seq %d after %d, want a step of 2 (or a multiple when slots were missed)", i, f.Seq, prev)
		}
		prev = f.Seq
	}
}

// TestFileSkipAcrossTheEnd misses slots just before the end of a looping
// clip, so that the frames passed over run past its end: the frame after
// the start over still shows the clip frame its Seq names (a skip that the
// end of the file cut short used to count the frames it did not pass).
func TestFileSkipAcrossTheEnd(t *testing.T) {
	const n = 8
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, path, 320, 240, n, 25)
	s := openT(t, Config{Kind: media.SourceFile, Path: path, FPS: 200, Loop: true})
	var buf []byte
	for round := range 3 {
		var f media.Frame
		for {
			f = next(t, s, buf)
			buf = f.Data
			if f.Seq%n == n-2 {
				break
			}
		}
		// Miss four slots (5 ms each): the next frame is 5 media frames on,
		// 3 of them past the end of the clip.
		missed := s.Status().Dropped
		time.Sleep(22 * time.Millisecond)
		f = next(t, s, buf)
		buf = f.Data
		img := decode(t, f.Data)
		seq, ok := ReadPatternSeq(img)
		img.Close()
		if !ok || uint64(seq) != f.Seq%n {
			t.Fatalf("round %d: frame Seq %d shows clip frame %d (ok=%v), want %d", round, f.Seq, seq, ok, f.Seq%n)
		}
		if s.Status().Dropped == missed {
			t.Fatalf("round %d: no slot missed: the skip under test did not happen", round)
		}
	}
}
