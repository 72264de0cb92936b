package udp_test

import (
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/udp"
)

// realKinds are the kinds with a real socket and batched I/O, where
// ReadOnThread waits on the thread (without batching it is ReadBatch).
func realKinds() (ks []kind) {
	for _, k := range kinds[1:] {
		if k.name != "v4-one-at-a-time" {
			ks = append(ks, k)
		}
	}
	return ks
}

// TestReadOnThread: a queued datagram is read at once (waited false); one
// that comes while the reader waits wakes it (waited true); nothing at all
// ends at the deadline with os.ErrDeadlineExceeded.
func TestReadOnThread(t *testing.T) {
	for _, k := range realKinds() {
		t.Run(k.name, func(t *testing.T) {
			p := k.make(t)
			b := p.b.(*udp.Conn)
			in := b.NewInbox(maxDatagram)
			if err := p.a.WriteTo(datagram(1, 1200), p.bAddr); err != nil {
				t.Fatal(err)
			}
			// Past its deadline a read only takes what is queued: it tries
			// until the datagram is through loopback.
			var n int
			var waited bool
			for end := time.Now().Add(5 * time.Second); n == 0 && time.Now().Before(end); {
				var err error
				n, waited, err = b.ReadOnThread(in, time.Now().Add(-time.Millisecond))
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatal(err)
				}
			}
			if waited {
				t.Errorf("a datagram was queued, yet the read says it waited")
			}
			if got, _ := in.Datagram(0); n != 1 || got[1] != 1 || len(got) != 1200 {
				t.Fatalf("read %d datagrams, first %d bytes, want datagram 1 of 1200 bytes", n, len(got))
			}

			got := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				n, _, err := b.ReadOnThread(in, time.Now().Add(10*time.Second))
				if err == nil && n != 1 {
					err = errors.New("not one datagram")
				}
				got <- err
			}()
			if err := p.a.WriteTo(datagram(2, 1200), p.bAddr); err != nil {
				t.Fatal(err)
			}
			if err := <-got; err != nil {
				t.Fatalf("waiting reader: %v", err)
			}

			start := time.Now()
			_, waited, err := b.ReadOnThread(in, start.Add(30*time.Millisecond))
			if !errors.Is(err, os.ErrDeadlineExceeded) || !waited {
				t.Fatalf("nothing to read: err %v waited %v, want the deadline, having waited", err, waited)
			}
			if el := time.Since(start); el < 30*time.Millisecond {
				t.Fatalf("gave up after %v, before its deadline", el)
			}
			if n, _, err := b.ReadOnThread(in, time.Now().Add(-time.Second)); !errors.Is(err, os.ErrDeadlineExceeded) || n != 0 {
				t.Fatalf("past deadline: %d, %v", n, err)
			}
		})
	}
}

// TestReadOnThreadEndsAtClose: Close ends a wait without a deadline, with
// net.ErrClosed; so does closing the socket under the Conn, within a
// second.
func TestReadOnThreadEndsAtClose(t *testing.T) {
	for _, k := range realKinds() {
		t.Run(k.name, func(t *testing.T) {
			for _, under := range []bool{false, true} {
				b := k.make(t).b.(*udp.Conn)
				in := b.NewInbox(maxDatagram)
				done := make(chan error, 1)
				go func() {
					_, _, err := b.ReadOnThread(in, time.Time{})
					done <- err
				}()
				if under {
					b.UDPConn().Close()
				} else {
					b.Close()
				}
				select {
				case err := <-done:
					if !errors.Is(err, net.ErrClosed) {
						t.Errorf("closed (under the Conn: %v): %v, want net.ErrClosed", under, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("still waiting 10 s after the close (under the Conn: %v)", under)
				}
			}
		})
	}
}
