// Package web owns vstreamd's HTTP side: Prometheus metrics at /metrics,
// and a live page at / that shows the call's state as `vstreamd status`
// does, previews of the video this endpoint sends and receives (Motion
// JPEG, multipart/x-mixed-replace), and charts of the last minutes (frame
// rate, latency, loss, bitrate).
//
// Everything comes from daemon.Status, the same value `vstreamd status
// -json` prints, read when asked; the latency histograms are observed per
// delivered frame (Metrics is a daemon.FrameObserver). The page's files are
// embedded in the binary; it loads nothing from elsewhere.
//
//	GET /                  the live page
//	GET /metrics           Prometheus text (or OpenMetrics) exposition
//	GET /api/status        daemon.Status as JSON
//	GET /api/history?after=MS  the chart samples after Unix millisecond MS
//	GET /api/frames        the last delivered frames' capture and completion times
//	GET /preview/tx.mjpeg  what this endpoint sends, as Motion JPEG
//	GET /preview/rx.mjpeg  what it receives
//	GET /preview/tx.jpg, /preview/rx.jpg  one image of each
//
// The page shows the call's video and has no login: config refuses a
// listen address that is not loopback unless [http] allow_remote is set.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vstreamd/vstreamd/daemon"
)

//go:embed static
var static embed.FS

// Options are what New needs.
type Options struct {
	Status  func() daemon.Status // required: normally (*daemon.Daemon).Status
	Metrics *Metrics             // nil: NewMetrics, without latency histograms
	Tx, Rx  *Tap                 // previews of what is sent and received; nil: that direction has none
	Logger  *slog.Logger
	// AnyHost answers requests whatever their Host header says. Without
	// it only loopback hosts (localhost, 127.0.0.0/8, ::1) are answered,
	// so a web page elsewhere can not read the video through DNS
	// rebinding (its name made to resolve to 127.0.0.1). Set it with
	// [http] allow_remote.
	AnyHost bool
}

// Server serves the HTTP side. Safe for concurrent use.
type Server struct {
	opt  Options
	log  *slog.Logger
	hist history
	mux  *http.ServeMux
}

// New prepares a Server; Serve starts it.
func New(opt Options) (*Server, error) {
	if opt.Status == nil {
		return nil, errors.New("web: no status function")
	}
	if opt.Metrics == nil {
		opt.Metrics = NewMetrics()
	}
	opt.Metrics.SetStatus(opt.Status)
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opt: opt, log: log.With("component", "http"), mux: http.NewServeMux()}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /", http.FileServerFS(files))
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opt.Metrics.Registry(), promhttp.HandlerOpts{
		EnableOpenMetrics: true, MaxRequestsInFlight: 4, Timeout: 10 * time.Second,
	}))
	s.mux.HandleFunc("GET /api/status", s.serveStatus)
	s.mux.HandleFunc("GET /api/history", s.serveHistory)
	s.mux.HandleFunc("GET /api/frames", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, opt.Metrics.frames.all()) })
	for _, p := range []struct {
		name string
		tap  *Tap
	}{{"tx", opt.Tx}, {"rx", opt.Rx}} {
		if p.tap == nil {
			continue
		}
		tap := p.tap
		s.mux.HandleFunc("GET /preview/"+p.name+".mjpeg", func(w http.ResponseWriter, r *http.Request) { serveMJPEG(tap, w, r) })
		s.mux.HandleFunc("GET /preview/"+p.name+".jpg", func(w http.ResponseWriter, r *http.Request) { serveSnapshot(tap, w, r) })
	}
	return s, nil
}

// Handler is the server's routes, for tests.
func (s *Server) Handler() http.Handler { return s.securityHeaders(s.mux) }

// Listen binds addr for Serve; it fails at once if the address is taken.
func Listen(addr netip.AddrPort) (net.Listener, error) {
	return net.Listen("tcp", addr.String())
}

// Serve serves on ln until ctx is done, samples the status for the charts
// every second meanwhile, then closes ln and waits for its handlers and its
// goroutines (open preview streams end with ctx).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.hist.run(ctx, s.opt.Status) })
	wg.Go(func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			hs.Close()
		}
	})
	s.log.Info("serving metrics and the live page", "url", "http://"+ln.Addr().String()+"/")
	err := hs.Serve(ln)
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("web: %w", err)
}

// securityHeaders keeps the page from being framed or sniffed, and lets it
// load only its own files; unless AnyHost, it answers only requests made to
// a loopback host name.
func (s *Server) securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.opt.AnyHost && !loopbackHost(r.Host) {
			http.Error(w, "this endpoint answers only requests to localhost, 127.0.0.1 or [::1] (see [http] allow_remote)", http.StatusForbidden)
			return
		}
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether host, a Host header ("name[:port]"), names
// this machine's loopback: localhost or a loopback IP literal.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// page is what /api/status adds to daemon.Status for the page.
type page struct {
	daemon.Status
	Previews []string `json:"previews"` // which of "tx", "rx" have a preview
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	p := page{Status: s.opt.Status(), Previews: []string{}}
	if s.opt.Tx != nil {
		p.Previews = append(p.Previews, "tx")
	}
	if s.opt.Rx != nil {
		p.Previews = append(p.Previews, "rx")
	}
	writeJSON(w, p)
}

func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request) {
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		var err error
		if after, err = strconv.ParseInt(v, 10, 64); err != nil {
			http.Error(w, "after: want Unix milliseconds", http.StatusBadRequest)
			return
		}
	}
	writeJSON(w, s.hist.since(after))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
