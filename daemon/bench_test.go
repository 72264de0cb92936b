package daemon_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/fake"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTransportCPU measures the CPU the transport spends per frame,
// both ends together (packetize, parity, seal, send; receive, open,
// reassemble, verify), with and without encryption, in one run. Frames are
// 100 KB (a 720p JPEG) from the fake source, so no OpenCV time is in it.
//
//	go test ./daemon -run '^$' -bench TransportCPU -benchtime 900x
func BenchmarkTransportCPU(b *testing.B) {
	for _, enc := range []bool{false, true} {
		name := "encryption=off"
		if enc {
			name = "encryption=on"
		}
		b.Run(name, func(b *testing.B) {
			pa, pb := freePortB(b), freePortB(b)
			ca, cb := benchConfig(b, pa, pb), benchConfig(b, pb, pa)
			// A fixed stream: the adaptation would move the source to
			// its ladder's frame rate, and the frames would no longer
			// come back to back.
			ca.Transport.Adaptive, cb.Transport.Adaptive = false, false
			if enc {
				k := newKeyB(b)
				ca.Security.Encryption, ca.Security.KeyFile = true, writeKeyB(b, k)
				cb.Security.Encryption, cb.Security.KeyFile = true, writeKeyB(b, k)
			}
			src := fake.NewSource(300, 80, 100000)
			sink := fake.NewSink()
			ea := startB(b, "A", ca, src, nil)
			eb := startB(b, "B", cb, nil, sink)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := sink.Wait(ctx, 30); err != nil {
				b.Fatal(err)
			}
			n0, cpu0, wall0 := len(sink.Frames()), cpuTime(), time.Now()
			b.ResetTimer()
			if err := sink.Wait(ctx, n0+b.N); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			frames := len(sink.Frames()) - n0
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(cpu.Microseconds())/float64(frames), "cpu-us/frame")
			b.ReportMetric(float64(frames)/time.Since(wall0).Seconds(), "frames/s")
			// Where the receive loops waited: reads late by 1 ms or
			// more, and moves between the poller and the thread (one
			// each to the poller at the start).
			sa, sb := ea.d.Status().RX, eb.d.Status().RX
			b.ReportMetric(float64(sa.ReadsLate+sb.ReadsLate), "late-reads")
			b.ReportMetric(float64(sa.Realtime.Switches+sb.Realtime.Switches), "rx-moves")
		})
	}
}
