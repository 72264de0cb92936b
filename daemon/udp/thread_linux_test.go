package udp_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vstreamd/vstreamd/daemon/testutil"
	"github.com/vstreamd/vstreamd/daemon/udp"
)

// TestReadOnThreadGivesUpP: with one P, another goroutine runs while a
// reader waits in ppoll, and the reader then reads what that goroutine
// sends. A wait that kept its P would let the test's goroutine run only
// while the reader was out of ppoll (the runtime preempting it), so the
// test would never see it there.
func TestReadOnThreadGivesUpP(t *testing.T) {
	p := realKinds()[0].make(t)
	b := p.b.(*udp.Conn)
	in := b.NewInbox(maxDatagram)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	type result struct {
		n      int
		waited bool
		err    error
	}
	tids, done := make(chan int, 1), make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		n, waited, err := b.ReadOnThread(in, time.Now().Add(20*time.Second))
		done <- result{n, waited, err}
	}()
	tid := <-tids
	testutil.WaitFor(t, fmt.Sprintf("thread %d waiting in ppoll while this goroutine runs", tid), 10*time.Second, func() bool {
		return inSyscall(t, tid, unix.SYS_PPOLL)
	})
	if err := p.a.WriteTo(datagram(7, 1000), p.bAddr); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if got, _ := in.Datagram(0); r.err != nil || r.n != 1 || !r.waited || got[1] != 7 {
		t.Fatalf("read %d datagrams (waited %v, err %v), want datagram 7 after a wait", r.n, r.waited, r.err)
	}
}

// inSyscall reports whether thread tid of this process is blocked in
// system call nr (/proc's syscall file: its number first).
func inSyscall(t *testing.T, tid, nr int) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/syscall", tid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	return len(f) > 0 && f[0] == strconv.Itoa(nr)
}

// TestReadOnThreadWaitAllocs pins a read that waits in ppoll, and is woken
// there, at zero allocations: a sender goroutine sends each batch a little
// after the reader has started its read, and the test counts the reads
// that waited, so that the waiting path is known to have run.
func TestReadOnThreadWaitAllocs(t *testing.T) {
	p := realKinds()[0].make(t)
	b := p.b.(*udp.Conn)
	in := b.NewInbox(maxDatagram)
	batch := udp.NewBatch(8, maxDatagram)
	batch.Dest = p.bAddr
	for i := range 8 {
		_ = batch.Add(datagram(i, 1200))
	}
	start, sent := make(chan struct{}), make(chan error)
	go func() {
		for range start {
			time.Sleep(2 * time.Millisecond) // most reads are waiting by then
			_, err := p.a.WriteBatch(batch)
			sent <- err
		}
	}()
	defer close(start)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	waits := 0
	allocs := testing.AllocsPerRun(20, func() {
		start <- struct{}{}
		for n := 0; n < 8; {
			k, waited, err := b.ReadOnThread(in, time.Now().Add(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if waited && k > 0 {
				waits++
			}
			n += k
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	})
	if waits == 0 {
		t.Fatalf("no read waited in ppoll: the path under test did not run")
	}
	if allocs != 0 {
		t.Errorf("%v allocations per batch read after a wait, want 0 (%d of the reads waited)", allocs, waits)
	}
}
