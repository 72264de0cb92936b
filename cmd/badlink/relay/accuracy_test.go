package relay

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/cmd/badlink/impair"
	"github.com/vstreamd/vstreamd/daemon/testutil"
)

// BenchmarkRelayDelayAccuracy measures how far the relay's real delay
// strays from the one asked for (30 ms, no jitter) at a given datagram
// rate over 127.0.0.1, and reports the error's percentiles in
// microseconds. It measures; it asserts nothing about time.
func BenchmarkRelayDelayAccuracy(b *testing.B) {
	for _, rate := range []int{300, 3000, 10000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			const delay = 30 * time.Millisecond
			ea, eb := loopback(b), loopback(b)
			ca, cb := loopback(b), loopback(b)
			cfg := Config{PeerA: addrOf(ea), PeerB: addrOf(eb), A2B: impair.Params{Delay: delay}}
			r, err := New(cfg, ca, cb, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- r.Run(ctx) }()
			defer func() { cancel(); <-done }()

			epoch := time.Now()
			errs := make(chan []time.Duration)
			go func() {
				got := make([]time.Duration, 0, b.N)
				buf := make([]byte, 2048)
				for {
					n, _, err := eb.ReadFromUDPAddrPort(buf)
					if err != nil || n < 8 {
						errs <- got
						return
					}
					sent := time.Duration(binary.BigEndian.Uint64(buf))
					got = append(got, time.Since(epoch)-sent-delay)
				}
			}()
			to := addrOf(ca)
			pkt := make([]byte, 1200)
			perMS := max(rate/1000, 1)
			every := time.Duration(perMS) * time.Second / time.Duration(rate)
			next := time.Now()
			b.ResetTimer()
			for i := 0; i < b.N; {
				for j := 0; j < perMS && i < b.N; j, i = j+1, i+1 {
					binary.BigEndian.PutUint64(pkt, uint64(time.Since(epoch)))
					ea.WriteToUDPAddrPort(pkt, to)
				}
				next = next.Add(every)
				time.Sleep(time.Until(next))
			}
			// Give the last datagrams time to come out, then stop the
			// receiver.
			testutil.WaitFor(b, "the relay to send everything", 5*time.Second, func() bool {
				s := r.Stats().A2B
				return s.In >= uint64(b.N) && s.InFlight() == 0 || s.In < uint64(b.N) && time.Since(next) > time.Second
			})
			time.Sleep(50 * time.Millisecond)
			eb.Close()
			got := <-errs
			b.StopTimer()
			if s := r.Stats().A2B; s.In != uint64(b.N) {
				b.Logf("relay received %d of %d (the rest were lost in the kernel)", s.In, b.N)
			}
			if len(got) == 0 {
				b.Fatal("nothing received")
			}
			slices.Sort(got)
			pct := func(p float64) float64 {
				return float64(got[int(p*float64(len(got)-1))]) / 1e3
			}
			b.ReportMetric(pct(0), "min-µs")
			b.ReportMetric(pct(0.5), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
			b.ReportMetric(pct(1), "max-µs")
			b.ReportMetric(float64(len(got))/float64(b.N), "delivered")
		})
	}
}
