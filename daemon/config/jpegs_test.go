package config

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// jpegDir makes a directory holding one real JPEG of size bytes or more
// beside a config file, and returns the config file's path.
func jpegDir(t *testing.T, extra map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "rec")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 64, 64)), nil); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"frame-000001.jpg": b.Bytes()}
	for name, data := range extra {
		files[name] = data
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, "vstreamd.toml")
}

func TestJPEGsSource(t *testing.T) {
	file := jpegDir(t, nil)
	rec := filepath.Join(filepath.Dir(file), "rec")
	// A relative directory is taken from the config file's; the codec,
	// left out (its default is h264), becomes jpeg.
	c := mustParse(t, withPeer("[capture]\nsource = \"jpegs:rec\"\n"), file)
	if c.Capture.Kind != media.SourceJPEGs || c.Capture.Path != rec || c.Capture.Codec != packetizer.CodecJPEG || c.Capture.Kind.String() != "jpegs" {
		t.Errorf("source jpegs:rec = kind %v, path %q, codec %q; want jpegs, %q, jpeg", c.Capture.Kind, c.Capture.Path, c.Capture.Codec, rec)
	}
	c = mustParse(t, withPeer("[capture]\nsource = \"jpegs:rec\"\ncodec = \"jpeg\"\n"), file)
	if c.Capture.Codec != packetizer.CodecJPEG {
		t.Errorf("codec = %q, want jpeg", c.Capture.Codec)
	}
	// A round trip keeps it.
	b, err := c.MarshalTOML()
	if err != nil {
		t.Fatal(err)
	}
	if back := mustParse(t, string(b), file); back.Capture.Kind != media.SourceJPEGs || back.Capture.Path != rec {
		t.Errorf("MarshalTOML round trip: kind %v path %q", back.Capture.Kind, back.Capture.Path)
	}
}

func TestJPEGsRejected(t *testing.T) {
	big := make([]byte, 70000)
	copy(big, "\xff\xd8\xff")
	for _, tc := range []struct {
		name  string
		extra map[string][]byte
		in    string
		want  []string
	}{
		{"codec h264", nil, "[capture]\nsource = \"jpegs:rec\"\ncodec = \"h264\"\n",
			[]string{`vstreamd.toml:4: [capture] codec = "h264": source "jpegs:DIR" sends its JPEG files as they are`, `set codec = "jpeg"`}},
		{"a text file", map[string][]byte{"notes.txt": []byte("x")}, "[capture]\nsource = \"jpegs:rec\"\n",
			[]string{`vstreamd.toml:3: [capture] source = "jpegs:rec": `, `notes.txt: not a JPEG file: only files named *.jpg or *.jpeg`}},
		{"a frame over max_frame_bytes", map[string][]byte{"frame-000002.jpg": big},
			"[capture]\nsource = \"jpegs:rec\"\n[transport]\nmax_frame_bytes = 65536\n",
			[]string{`vstreamd.toml:3: [capture] source = "jpegs:rec": `, `frame-000002.jpg: 70000 bytes: too big: a frame may be at most 65532 bytes ([transport] max_frame_bytes)`}},
		{"a file, not a directory", nil, "[capture]\nsource = \"jpegs:rec/frame-000001.jpg\"\n",
			[]string{`vstreamd.toml:3: [capture] source = "jpegs:rec/frame-000001.jpg": `, `is not a directory`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := jpegDir(t, tc.extra)
			_, err := Parse([]byte(withPeer(tc.in)), file)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
	// An empty directory.
	file := jpegDir(t, nil)
	if err := os.Remove(filepath.Join(filepath.Dir(file), "rec", "frame-000001.jpg")); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse([]byte(withPeer("[capture]\nsource = \"jpegs:rec\"\n")), file); err == nil || !strings.Contains(err.Error(), "no JPEG files (the directory is empty") {
		t.Errorf("empty directory: %v", err)
	}
}
