package udp_test

import (
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/udp"
)

// TestArrivedIsTheKernels: on Linux each datagram read comes with the
// kernel's receive time (SO_TIMESTAMPNS), with and without receive offload:
// after its send and before the read returned, one per datagram (they left
// 2 ms apart), and not the read's own time when the reader came late.
func TestArrivedIsTheKernels(t *testing.T) {
	for _, opt := range []udp.Options{{}, {NoOffload: true}} {
		a, b := realConn(t, "127.0.0.1:0", opt), realConn(t, "127.0.0.1:0", opt)
		in := b.NewInbox(2048)
		read := func() (int, time.Time) {
			t.Helper()
			n, _, err := b.ReadOnThread(in, time.Now().Add(5*time.Second))
			if err != nil {
				t.Fatalf("%+v: read: %v", opt, err)
			}
			return n, time.Now()
		}
		// The kernel turns receive stamps on for the machine a little
		// after the first socket asks (a deferred job); datagrams that
		// come before carry the time they were read.
		warm := time.Now().Add(2 * time.Second)
		for {
			if err := a.WriteTo(datagram(0, 100), b.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
			n, at := read()
			if n == 1 && at.Sub(time.Unix(0, in.Arrived(0))) >= 4*time.Millisecond {
				break
			}
			if time.Now().After(warm) {
				t.Fatalf("%+v: after 2 s, datagrams still carry their read time, not the kernel's receive time", opt)
			}
		}
		var sent [3]time.Time
		for i := range sent {
			sent[i] = time.Now()
			if err := a.WriteTo(datagram(i, 1000), b.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // the reader comes late
		var stamps []time.Time
		for len(stamps) < len(sent) {
			n, done := read()
			for i := range n {
				at := time.Unix(0, in.Arrived(i))
				if k := len(stamps); at.Before(sent[k].Add(-time.Millisecond)) || at.After(done) || done.Sub(at) < 15*time.Millisecond {
					t.Errorf("%+v: datagram %d stamped %v after its send, %v before the read; want the kernel's receive time", opt, k, at.Sub(sent[k]), done.Sub(at))
				}
				stamps = append(stamps, at)
			}
		}
		for i := 1; i < len(stamps); i++ {
			if gap := stamps[i].Sub(stamps[i-1]); gap < 1500*time.Microsecond {
				t.Errorf("%+v: datagrams %d and %d stamped %v apart, sent 2 ms apart", opt, i-1, i, gap)
			}
		}
		// A burst in one batch (with offload, one buffer the kernel
		// segments and may coalesce again): every datagram stamped on
		// arrival, not when read.
		batch := udp.NewBatch(8, 2048)
		batch.Dest = b.LocalAddr()
		for i := range 8 {
			if err := batch.Add(datagram(i, 1000)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.WriteBatch(batch); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		for got := 0; got < 8; {
			n, done := read()
			for i := range n {
				if at := time.Unix(0, in.Arrived(i)); done.Sub(at) < 15*time.Millisecond {
					t.Errorf("%+v: datagram %d of a burst stamped %v before the read, want its arrival, 20 ms earlier", opt, got+i, done.Sub(at))
				}
			}
			got += n
		}
	}
}
