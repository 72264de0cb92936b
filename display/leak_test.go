package display

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// badHuffman returns f with a Huffman table libjpeg rejects: it passes the
// header checks and fails inside OpenCV, the error path that must release
// OpenCV's result too.
func badHuffman(f []byte) []byte {
	b := bytes.Clone(f)
	i := bytes.Index(b, []byte{0xFF, markerDHT})
	b[i+4] = 0x77
	return b
}

// sinkWorkload pushes frames through null and record sinks, one at a
// time so that every frame is decoded, and opens and closes sinks.
func sinkWorkload(t testing.TB, frames []media.Frame, dir string, rounds int) {
	t.Helper()
	bad := badHuffman(frames[0].Data)
	for round := range rounds {
		for _, cfg := range []Config{
			{Kind: media.SinkNull},
			{Kind: media.SinkRecord, Path: filepath.Join(dir, "r"+strconv.Itoa(round)+".avi")},
		} {
			var r renderer = nullRenderer{}
			if cfg.Kind == media.SinkRecord {
				rec, err := newRecorder(cfg)
				if err != nil {
					t.Fatal(err)
				}
				r = rec
			}
			w := watch(r)
			s := newSink(cfg, nil, w)
			go s.run()
			for _, f := range frames {
				s.Show(toShow(f))
				w.wait(t, uint32(f.Seq))
				s.Show(media.Received{Data: bad, ID: 1 << 31}) // fails to decode; the next Show may skip it
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		os.Remove(filepath.Join(dir, "r"+strconv.Itoa(round)+".avi"))
	}
}

// TestNoMemoryGrowth checks that memory stays flat over thousands of
// decoded frames, decode errors and sinks opened and closed.
//
// It measures in a child process with MALLOC_ARENA_MAX=1: otherwise glibc
// grows a malloc arena for each OS thread the sink's goroutine lands on, in
// steps of about 5 MB up to its limit (0-13 MB seen here), which hides small
// leaks. Measured here with one arena: growth within +-2 MB; the limit is
// 5 MB, which a leak of more than 2.5 KB a frame or 125 KB a sink crosses
// (a 640x480 Mat per frame would add 1.8 GB). The exact Mat count is
// checked by TestMatProfile (go test -tags matprofile).
func TestNoMemoryGrowth(t *testing.T) {
	if !testutil.MemoryTest(t) {
		return // measured in a child process
	}
	frames := patternFrames(t, 640, 480, 70, 50)
	dir := t.TempDir()
	sinkWorkload(t, frames, dir, 4) // warm up caches and pools
	before := testutil.RSS(t)
	const rounds = 20
	sinkWorkload(t, frames, dir, rounds)
	after := testutil.RSS(t)
	growth := after - before
	t.Logf("RSS before %.1f MB, after %d more sinks and %d frames %.1f MB (growth %+.1f MB)",
		float64(before)/1e6, 2*rounds, 2*rounds*len(frames), float64(after)/1e6, float64(growth)/1e6)
	if growth > 5<<20 {
		t.Errorf("RSS grew by %.1f MB: something is not released", float64(growth)/1e6)
	}
}
