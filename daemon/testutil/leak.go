package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// childEnv marks a child process of the test binary (RunInChild).
const childEnv = "VSTREAMD_TEST_CHILD"

// InChild reports whether this test binary is a child started by
// RunInChild.
func InChild() bool { return os.Getenv(childEnv) != "" }

// RunInChild runs the test called name again in a child process of this
// test binary, with env added, and fails t with the child's output if it
// fails; the child's lines mentioning RSS are logged. The test calls it
// when !InChild() and returns; in the child it does its work.
func RunInChild(t *testing.T, name string, env ...string) {
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

// RSS returns the process's resident set size in bytes, after a GC has
// returned what Go can to the system. It skips t where /proc is missing.
func RSS(t testing.TB) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm to measure memory: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("statm %q: too few fields", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("statm %q: %v", b, err)
	}
	return pages * int64(os.Getpagesize())
}

// MemoryTest prepares a test that measures this process's memory. It skips
// t under -short and under the race detector (whose shadow memory grows
// with use). Outside a child it runs the test again in a child process with
// one malloc arena (MALLOC_ARENA_MAX=1: glibc otherwise grows an arena for
// each OS thread that allocates, in steps of about 5 MB, which hides small
// leaks) and fixed mmap and trim thresholds of 128 KB (glibc otherwise
// raises them after freeing a large block, so that later picture-sized
// buffers come from the heap and stay resident after they are freed: the
// display memory test's growth then ranged from -3.7 to +5.3 MB from run
// to run without a leak, and -2.0 to -0.8 MB with them fixed), and returns
// false: the caller returns. In the child it returns true: the caller
// measures.
func MemoryTest(t *testing.T) bool {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the many-frame memory check")
	}
	if RaceEnabled {
		t.Skip("-race: the race detector's own memory grows with use; the memory check runs without it")
	}
	if !InChild() {
		RunInChild(t, t.Name(), "MALLOC_ARENA_MAX=1", "MALLOC_MMAP_THRESHOLD_=131072", "MALLOC_TRIM_THRESHOLD_=131072")
		return false
	}
	return true
}
