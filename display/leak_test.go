package display

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/capture"
)

// childEnv marks a child process of the test binary (runInChild).
const childEnv = "VSTREAMD_TEST_CHILD"

// runInChild runs the test called name again in a child process of this
// test binary, with env added, and fails t with the child's output if it
// fails; the child's lines mentioning RSS are logged.
func runInChild(t *testing.T, name string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), env...), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+name)) {
		t.Fatalf("%s in a child process: %v\n%s", name, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "RSS") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// rss returns the process's resident set size in bytes, after a GC has
// returned what Go can to the system.
func rss(t testing.TB) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm to measure memory: %v", err)
	}
	pages, err := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	if err != nil {
		t.Fatalf("statm %q: %v", b, err)
	}
	return pages * int64(os.Getpagesize())
}

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
func sinkWorkload(t testing.TB, frames []capture.Frame, dir string, rounds int) {
	t.Helper()
	bad := badHuffman(frames[0].Data)
	for round := range rounds {
		for _, cfg := range []Config{
			{Kind: Null},
			{Kind: Record, Path: filepath.Join(dir, "r"+strconv.Itoa(round)+".avi")},
		} {
			var r renderer = nullRenderer{}
			if cfg.Kind == Record {
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
				s.Show(Frame{Data: bad, ID: 1 << 31}) // fails to decode; the next Show may skip it
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
	if testing.Short() {
		t.Skip("-short: skipping the many-frame memory check")
	}
	if raceEnabled {
		t.Skip("-race: the race detector's own memory grows with use; the memory check runs without it")
	}
	if os.Getenv(childEnv) == "" {
		runInChild(t, "TestNoMemoryGrowth", "MALLOC_ARENA_MAX=1")
		return
	}
	frames := patternFrames(t, 640, 480, 70, 50)
	dir := t.TempDir()
	sinkWorkload(t, frames, dir, 4) // warm up caches and pools
	before := rss(t)
	const rounds = 20
	sinkWorkload(t, frames, dir, rounds)
	after := rss(t)
	growth := after - before
	t.Logf("RSS before %.1f MB, after %d more sinks and %d frames %.1f MB (growth %+.1f MB)",
		float64(before)/1e6, 2*rounds, 2*rounds*len(frames), float64(after)/1e6, float64(growth)/1e6)
	if growth > 5<<20 {
		t.Errorf("RSS grew by %.1f MB: something is not released", float64(growth)/1e6)
	}
}
