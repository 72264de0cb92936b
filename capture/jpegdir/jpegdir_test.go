package jpegdir

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// encode returns a real JPEG of w x h (image/jpeg's encoder), its pixels
// depending on seed.
func encode(t *testing.T, w, h, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x + seed), uint8(y * seed), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrderBytesAndSizes(t *testing.T) {
	dir := t.TempDir()
	// Written out of order, in several sizes and extension cases.
	files := []struct {
		name string
		w, h int
	}{
		{"frame-000003.JPEG", 32, 16},
		{"frame-000001.jpg", 64, 48},
		{"frame-000002.jpeg", 17, 9},
	}
	want := map[string][]byte{}
	for i, f := range files {
		want[f.name] = encode(t, f.w, f.h, i+1)
		write(t, dir, f.name, want[f.name])
	}
	if err := Check(dir, 0); err != nil {
		t.Fatalf("Check: %v", err)
	}
	got, err := Load(dir, 0)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	order := []struct {
		name string
		w, h int
	}{{"frame-000001.jpg", 64, 48}, {"frame-000002.jpeg", 17, 9}, {"frame-000003.JPEG", 32, 16}}
	if len(got) != len(order) {
		t.Fatalf("Load gave %d images, want %d", len(got), len(order))
	}
	for i, o := range order {
		g := got[i]
		if g.Name != o.name || g.Width != o.w || g.Height != o.h || !bytes.Equal(g.Data, want[o.name]) {
			t.Errorf("image %d = %s %dx%d (%d bytes), want %s %dx%d (%d bytes, identical)",
				i, g.Name, g.Width, g.Height, len(g.Data), o.name, o.w, o.h, len(want[o.name]))
		}
	}
}

func TestSymlinkToJPEGAccepted(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	data := encode(t, 8, 8, 1)
	write(t, other, "a.jpg", data)
	if err := os.Symlink(filepath.Join(other, "a.jpg"), filepath.Join(dir, "a.jpg")); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir, 0)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, data) {
		t.Fatalf("Load through a symlink = %d images, %v", len(got), err)
	}
}

func TestRejected(t *testing.T) {
	good := encode(t, 16, 16, 1)
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the path to check
		maxFile int
		check   error  // from Check (and Load); nil: Check passes
		load    error  // from Load, when Check passes
		msg     string // in the message
	}{
		{name: "missing", setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "nope") },
			check: fs.ErrNotExist},
		{name: "a file, not a directory", setup: func(t *testing.T, dir string) string {
			write(t, dir, "a.jpg", good)
			return filepath.Join(dir, "a.jpg")
		}, check: nil, msg: "is not a directory"},
		{name: "a named pipe, not a directory", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, check: nil, msg: "is not a directory"},
		{name: "a named pipe among the files", setup: func(t *testing.T, dir string) string {
			write(t, dir, "a.jpg", good)
			if err := syscall.Mkfifo(filepath.Join(dir, "b.jpg"), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir
		}, check: ErrNotJPEG, msg: "b.jpg"},
		{name: "empty", setup: func(t *testing.T, dir string) string { return dir },
			check: ErrEmpty, msg: "empty"},
		{name: "a text file", setup: func(t *testing.T, dir string) string {
			write(t, dir, "a.jpg", good)
			write(t, dir, "notes.txt", []byte("hello"))
			return dir
		}, check: ErrNotJPEG, msg: "notes.txt"},
		{name: "a subdirectory", setup: func(t *testing.T, dir string) string {
			write(t, dir, "a.jpg", good)
			if err := os.Mkdir(filepath.Join(dir, "more.jpg"), 0o755); err != nil {
				t.Fatal(err)
			}
			return dir
		}, check: ErrNotJPEG, msg: "more.jpg"},
		{name: "a .jpg that is a PNG", setup: func(t *testing.T, dir string) string {
			write(t, dir, "a.jpg", good)
			write(t, dir, "b.jpg", []byte("\x89PNG\r\n\x1a\n0000"))
			return dir
		}, load: ErrNotJPEG, msg: "b.jpg"},
		{name: "a truncated header", setup: func(t *testing.T, dir string) string {
			write(t, dir, "a.jpg", good[:20])
			return dir
		}, load: ErrNotJPEG, msg: "a.jpg"},
		{name: "a frame over the limit", maxFile: len(good) - 1, setup: func(t *testing.T, dir string) string {
			write(t, dir, "a.jpg", good)
			return dir
		}, check: ErrTooBig, msg: "max_frame_bytes"},
		{name: "over MaxBytes in all", setup: func(t *testing.T, dir string) string {
			for i := range 3 { // sparse: no disk used
				p := filepath.Join(dir, fmt.Sprintf("%d.jpg", i))
				write(t, dir, filepath.Base(p), good)
				if err := os.Truncate(p, MaxBytes/2); err != nil {
					t.Fatal(err)
				}
			}
			return dir
		}, check: ErrTooBig, msg: "MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup(t, t.TempDir())
			err := Check(path, tc.maxFile)
			if tc.check == nil && tc.msg != "" && tc.load == nil {
				// An error with no sentinel: only the message is checked.
				if err == nil || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("Check = %v, want an error saying %q", err, tc.msg)
				}
				return
			}
			if tc.check != nil {
				if !errors.Is(err, tc.check) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("Check = %v, want %v saying %q", err, tc.check, tc.msg)
				}
				if _, err := Load(path, tc.maxFile); !errors.Is(err, tc.check) {
					t.Fatalf("Load = %v, want %v", err, tc.check)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check = %v, want nil (only Load reads the files)", err)
			}
			if _, err := Load(path, tc.maxFile); !errors.Is(err, tc.load) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Load = %v, want %v saying %q", err, tc.load, tc.msg)
			}
		})
	}
}

func TestTooManyFiles(t *testing.T) {
	dir := t.TempDir()
	for i := range MaxFiles + 1 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%05d.jpg", i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := Check(dir, 0); !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "more than 10000 files") {
		t.Fatalf("Check = %v, want ErrTooBig naming the file limit", err)
	}
}

func TestSize(t *testing.T) {
	data := encode(t, 40, 30, 2)
	if w, h, err := Size(data); w != 40 || h != 30 || err != nil {
		t.Errorf("Size = %d, %d, %v; want 40, 30, nil", w, h, err)
	}
	// Every prefix too short to hold the frame header is refused, never a panic.
	for n := range 32 {
		if _, _, err := Size(data[:n]); !errors.Is(err, ErrNotJPEG) {
			t.Errorf("Size(first %d bytes) = %v, want ErrNotJPEG", n, err)
		}
	}
}
