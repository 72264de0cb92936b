package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// rateStep is a change of the relay's rate cap during a run, at a time
// from the relay's start.
type rateStep struct {
	At   time.Duration
	Mbps float64
}

// schedule is a condition's capacity over time: a start rate and steps.
type schedule struct {
	StartMbps float64
	Steps     []rateStep
}

// at returns the capacity at t from the relay's start.
func (s schedule) at(t time.Duration) float64 {
	c := s.StartMbps
	for _, st := range s.Steps {
		if t >= st.At {
			c = st.Mbps
		}
	}
	return c
}

// relayFlags are badlink's flags for the schedule, with a 64 KB queue.
func (s schedule) relayFlags() []string {
	flags := []string{"-rate", fmt.Sprintf("%gmbit", s.StartMbps), "-queue", "64KB"}
	if len(s.Steps) > 0 {
		list := ""
		for i, st := range s.Steps {
			if i > 0 {
				list += ","
			}
			list += fmt.Sprintf("%s=%gmbit", st.At, st.Mbps)
		}
		flags = append(flags, "-rate-steps", list)
	}
	return flags
}

// point is one second of a timeline.
type point struct {
	T            float64 // seconds from the relay's start
	CapacityMbps float64 // the relay's cap; 0: none
	TargetMbps   float64 // A's adaptation target
	WireMbps     float64 // A's sending rate
	FPS          float64 // frames B delivered in the second
	TransportP95 float64 // ms, B's transport latency over its recent frames
	Parity       float64 // A's parity for its last frame
	Height       int     // A's frame height
	Quality      int     // A's JPEG quality
}

// timeline samples both daemons once a second until ctx is done.
func timeline(ctx context.Context, p *pair, sched *schedule, relayStart time.Time) []point {
	var pts []point
	var lastDelivered uint64
	var lastAt time.Time
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return pts
		case <-t.C:
		}
		a, errA := queryStatus(ctx, p.sockA, 2*time.Second)
		b, errB := queryStatus(ctx, p.sockB, 2*time.Second)
		now := time.Now()
		if errA != nil || errB != nil {
			continue
		}
		pt := point{
			T: now.Sub(relayStart).Seconds(), WireMbps: a.TX.BitrateBps / 1e6,
			TransportP95: b.RX.TransportRecentMs.P95, Parity: a.TX.Parity,
		}
		if sched != nil {
			pt.CapacityMbps = sched.at(now.Sub(relayStart))
		}
		if ad := a.TX.Adapt; ad != nil {
			pt.TargetMbps, pt.Height, pt.Quality = ad.TargetBps/1e6, ad.Height, ad.Quality
		}
		if !lastAt.IsZero() {
			pt.FPS = float64(b.RX.FramesDelivered-lastDelivered) / now.Sub(lastAt).Seconds()
			pts = append(pts, pt)
		}
		lastDelivered, lastAt = b.RX.FramesDelivered, now
	}
}

// writeTimeline writes the points as CSV and as a PNG of three panels:
// rates, frames per second, and transport latency with parity.
func writeTimeline(pts []point, title, base string) error {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return err
	}
	if err := writeCSV(pts, base+".csv"); err != nil {
		return err
	}
	rates, err := linePanel("Mb/s",
		series{"capacity", xy(pts, func(p point) float64 { return p.CapacityMbps })},
		series{"target", xy(pts, func(p point) float64 { return p.TargetMbps })},
		series{"sent", xy(pts, func(p point) float64 { return p.WireMbps })})
	if err != nil {
		return err
	}
	rates.Title.Text = title
	fps, err := linePanel("frames/s, height/24",
		series{"delivered", xy(pts, func(p point) float64 { return p.FPS })},
		series{"height/24", xy(pts, func(p point) float64 { return float64(p.Height) / 24 })},
		series{"quality/3", xy(pts, func(p point) float64 { return float64(p.Quality) / 3 })})
	if err != nil {
		return err
	}
	lat, err := linePanel("ms, parity %",
		series{"transport p95 ms", xy(pts, func(p point) float64 { return p.TransportP95 })},
		series{"parity %", xy(pts, func(p point) float64 { return p.Parity * 100 })})
	if err != nil {
		return err
	}
	return savePanels(base+".png", rates, fps, lat)
}

// series is one line of a panel.
type series struct {
	name string
	xy   plotter.XYs
}

// xy maps the points' times to f of each.
func xy(pts []point, f func(point) float64) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, p := range pts {
		out[i].X, out[i].Y = p.T, f(p)
	}
	return out
}

// linePanel is a plot of lines over seconds with a legend.
func linePanel(ylabel string, lines ...series) (*plot.Plot, error) {
	p := plot.New()
	p.Y.Label.Text = ylabel
	p.X.Label.Text = "seconds"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for i, s := range lines {
		l, err := plotter.NewLine(s.xy)
		if err != nil {
			return nil, err
		}
		l.Color = plotColor(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	return p, nil
}

// savePanels stacks the plots in one PNG.
func savePanels(path string, panels ...*plot.Plot) error {
	img := vgimg.New(vg.Points(720), vg.Points(float64(215*len(panels))))
	dc := draw.New(img)
	plots := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		plots[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(plots, draw.Tiles{Rows: len(panels), Cols: 1, PadY: vg.Points(8), PadX: vg.Points(6)}, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plotColor is the colour of a panel's i-th line: grey, red, blue.
func plotColor(i int) color.Color {
	colors := [...]color.RGBA{{R: 120, G: 120, B: 120, A: 255}, {R: 200, G: 40, B: 40, A: 255}, {R: 40, G: 90, B: 200, A: 255}}
	return colors[i%len(colors)]
}

func writeCSV(pts []point, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"t_s", "capacity_mbps", "target_mbps", "sent_mbps", "delivered_fps", "transport_p95_ms", "parity", "height", "quality"})
	ff := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	for _, p := range pts {
		_ = w.Write([]string{ff(p.T), ff(p.CapacityMbps), ff(p.TargetMbps), ff(p.WireMbps), ff(p.FPS), ff(p.TransportP95), ff(p.Parity), strconv.Itoa(p.Height), strconv.Itoa(p.Quality)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stepNotes says, for each capacity step, how long the stream took to be
// back at 25 frames a second (after a drop) or at 1280x720 quality 70 or
// better (after a rise), judged from the once-a-second points.
func stepNotes(pts []point, sched *schedule) []string {
	if sched == nil {
		var out []string
		for _, p := range pts {
			if p.FPS >= 28 && p.T > 0 {
				out = append(out, fmt.Sprintf("first second at >= 28 fps: %.0f s after the relay started", p.T))
				break
			}
		}
		return out
	}
	var out []string
	prev := sched.StartMbps
	for _, st := range sched.Steps {
		at := st.At.Seconds()
		down := st.Mbps < prev
		prev = st.Mbps
		found := false
		for _, p := range pts {
			if p.T < at {
				continue
			}
			ok := p.Height >= 720 && p.Quality >= 70
			want := "1280x720 q>=70"
			if down {
				ok, want = p.FPS >= 25, ">= 25 fps"
			}
			if ok {
				out = append(out, fmt.Sprintf("step to %g Mbit/s at %.0f s: %s after %.1f s", st.Mbps, at, want, p.T-at))
				found = true
				break
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("step to %g Mbit/s at %.0f s: never back within the run", st.Mbps, at))
		}
	}
	return out
}
