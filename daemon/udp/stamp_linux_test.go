package udp_test

import (
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/udp"
)

// TestArrivedIsTheKernels: on Linux each datagram read comes with the
// kernel's receive time (SO_TIMESTAMPNS), with and without receive offload:
// after the send began and before the read returned, and not the read's
// own time when the reader came late.
func TestArrivedIsTheKernels(t *testing.T) {
	for _, opt := range []udp.Options{{}, {NoOffload: true}} {
		a, b := realConn(t, "127.0.0.1:0", opt), realConn(t, "127.0.0.1:0", opt)
		in := b.NewInbox(2048)
		before := time.Now()
		for i := range 3 {
			if err := a.WriteTo(datagram(i, 1000), b.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // the reader comes late
		got := 0
		for got < 3 {
			n, _, err := b.ReadOnThread(in, time.Now().Add(5*time.Second))
			if err != nil {
				t.Fatalf("%+v: read: %v", opt, err)
			}
			read := time.Now()
			for i := range n {
				at := time.Unix(0, in.Arrived(i))
				if at.Before(before.Add(-time.Millisecond)) || at.After(read) {
					t.Errorf("%+v: datagram %d arrived at %v, want between the send (%v) and the read (%v)", opt, got+i, at, before, read)
				}
				if read.Sub(at) < 15*time.Millisecond {
					t.Errorf("%+v: datagram %d arrived %v before the read, want the kernel's time, 20 ms earlier", opt, got+i, read.Sub(at))
				}
			}
			got += n
		}
	}
}
