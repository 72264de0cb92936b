package udp_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/daemon/udp"
)

// BenchmarkFrame sends a 720p JPEG frame's datagrams (110 of 1200 bytes:
// 100 KB with parity 0.25) over loopback and reads them back, in one
// goroutine, one at a time, batched, and batched with segmentation
// offload. It reports system calls and CPU time (user + system, of the
// whole process) per datagram; both ends are in the count.
//
//	go test ./daemon/udp -run '^$' -bench Frame -benchtime 2000x
func BenchmarkFrame(b *testing.B) {
	const count, size = 110, 1200
	for _, m := range []struct {
		name string
		opt  udp.Options
	}{
		{"one-at-a-time", udp.Options{NoBatch: true}},
		{"batch", udp.Options{NoOffload: true}},
		{"batch+offload", udp.Options{}},
	} {
		b.Run(m.name, func(b *testing.B) {
			tx, rx := realConn(b, "127.0.0.1:0", m.opt), realConn(b, "127.0.0.1:0", m.opt)
			batch := udp.NewBatch(count, size)
			batch.Dest = rx.LocalAddr()
			for i := range count {
				_ = batch.Add(datagram(i, size))
			}
			in := rx.NewInbox(size)
			_ = rx.SetReadDeadline(time.Now().Add(time.Hour))
			cpu0 := cpuTime(b)
			b.SetBytes(count * size)
			b.ReportAllocs()
			b.ResetTimer()
			lost := 0
			for b.Loop() {
				if _, err := tx.WriteBatch(batch); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < count; {
					_ = rx.SetReadDeadline(time.Now().Add(time.Second))
					n, err := rx.ReadBatch(in)
					if err != nil { // lost on loopback: count and go on
						lost += count - got
						break
					}
					got += n
				}
			}
			cpu := cpuTime(b) - cpu0
			dgrams := float64(b.N * count)
			b.ReportMetric(float64(cpu.Nanoseconds())/dgrams, "cpu-ns/datagram")
			b.ReportMetric(float64(tx.Stats().SendCalls.Load())/dgrams, "send-calls/datagram")
			b.ReportMetric(float64(rx.Stats().RecvCalls.Load())/dgrams, "read-calls/datagram")
			b.ReportMetric(float64(lost), "lost")
		})
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
