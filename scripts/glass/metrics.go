package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vstreamd/vstreamd/display/glass"
)

// serveMetrics serves vstreamd_glass_to_glass_seconds, a histogram of the
// samples observe is given, at addr/metrics, so a long measurement can be
// watched with Prometheus beside the daemons' own metrics. The daemons can
// not measure it themselves: it needs the screen.
func serveMetrics(addr string, log io.Writer) (bound string, stop func(), observe func(glass.Sample), err error) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "vstreamd_glass_to_glass_seconds",
		Help:    "Time from the sender's capture of a frame to the frame being on the receiver's screen, read off the window by scripts/glass.",
		Buckets: []float64{.005, .01, .015, .02, .025, .03, .04, .05, .06, .075, .1, .15, .2, .3, .5, 1},
	})
	reg.MustRegister(h)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, nil, fmt.Errorf("-metrics %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(log, "glass: serving the glass-to-glass histogram at http://%s/metrics\n", ln.Addr())
	return ln.Addr().String(), func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}, func(s glass.Sample) {
			h.Observe(s.Latency.Seconds())
		}, nil
}
