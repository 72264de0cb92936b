package capture

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"time"

	"gocv.io/x/gocv"
)

// pattern draws the synthetic live test pattern. A textured background is
// computed once; each frame copies a scrolled window of it and draws the
// moving parts and the frame's identity over it, so a frame costs one image
// copy plus a few small drawings.
//
// A pattern is not safe for concurrent use.
type pattern struct {
	w, h int
	bg   gocv.Mat // the texture twice side by side (2w x h), so any w-wide window wraps
	font float64  // text scale
}

// Texture parameters, tuned so that 1280x720 frames at quality 80 come to
// about 100 KB, the size a real camera's give: the tiles' edges and stripes
// and the zone plate carry most of the bits, the noise (like a sensor's)
// the rest.
const (
	noiseAmp  = 3  // peak amplitude of the per-pixel noise, in 8-bit levels
	tileCount = 50 // coloured rectangles in the texture, per 1280x720
)

func newPattern(w, h int) (*pattern, error) {
	tex := texture(w, h)
	half, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, tex)
	if err != nil {
		return nil, fmt.Errorf("capture: pattern %dx%d: %w", w, h, err)
	}
	defer half.Close()
	bg := gocv.NewMat()
	gocv.Hconcat(half, half, &bg)
	return &pattern{w: w, h: h, bg: bg, font: float64(h) / 720}, nil
}

func (p *pattern) close() { p.bg.Close() }

// draw renders frame seq, captured at at, into img (allocated w x h BGR if it
// is not already).
func (p *pattern) draw(img *gocv.Mat, seq uint64, at time.Time) {
	if img.Rows() != p.h || img.Cols() != p.w || img.Type() != gocv.MatTypeCV8UC3 {
		img.Close()
		*img = gocv.NewMatWithSize(p.h, p.w, gocv.MatTypeCV8UC3)
	}
	// Scroll the background one full width every 240 frames (8 s at 30 fps).
	off := int(seq%240) * p.w / 240
	win := p.bg.Region(image.Rect(off, 0, off+p.w, p.h))
	win.CopyTo(img)
	win.Close()

	p.drawBall(img, seq)
	p.drawClock(img, seq)
	p.drawLabel(img, seq, at)
	drawPatternCode(img, PatternCode{Seq: uint32(seq), Ms: uint32(at.UnixMilli())})
}

// drawBall draws a ball bouncing around the picture.
func (p *pattern) drawBall(img *gocv.Mat, seq uint64) {
	r := p.h / 9
	x := r + triangle(seq, 97, p.w-2*r)
	y := r + triangle(seq, 61, p.h-2*r)
	hue := float64(seq%180) * 2
	gocv.Circle(img, image.Pt(x, y), r, hsv(hue, 0.9, 0.95), -1)
	gocv.Circle(img, image.Pt(x, y), r, color.RGBA{255, 255, 255, 0}, max(1, r/12))
	gocv.Circle(img, image.Pt(x-r/3, y-r/3), r/5, color.RGBA{250, 250, 250, 0}, -1)
}

// drawClock draws a hand turning once every 60 frames.
func (p *pattern) drawClock(img *gocv.Mat, seq uint64) {
	r := p.h / 8
	c := image.Pt(p.w-r-p.h/20, p.h-r-p.h/20)
	gocv.Circle(img, c, r, color.RGBA{20, 20, 20, 0}, -1)
	gocv.Circle(img, c, r, color.RGBA{230, 230, 230, 0}, max(1, r/20))
	a := float64(seq%60) / 60 * 2 * math.Pi
	tip := image.Pt(c.X+int(float64(r)*0.9*math.Sin(a)), c.Y-int(float64(r)*0.9*math.Cos(a)))
	gocv.Line(img, c, tip, color.RGBA{255, 220, 0, 0}, max(2, r/10))
}

// drawLabel draws the frame number, the capture time and the size on a
// dark panel, so that a screenshot shows which frame is on screen.
func (p *pattern) drawLabel(img *gocv.Mat, seq uint64, at time.Time) {
	big := 1.6 * p.font
	small := 0.8 * p.font
	thick := max(1, int(3*p.font))
	lines := []struct {
		text  string
		scale float64
	}{
		{fmt.Sprintf("#%08d", seq), big},
		{at.Format("15:04:05.000"), big},
		{fmt.Sprintf("vstreamd pattern %dx%d", p.w, p.h), small},
	}
	x0, y0 := p.h/20, p.h*11/20
	panel := image.Rect(x0, y0, x0+int(560*p.font), y0+int(215*p.font))
	gocv.Rectangle(img, panel, color.RGBA{16, 16, 16, 0}, -1)
	y := y0
	for _, l := range lines {
		sz := gocv.GetTextSize(l.text, gocv.FontHersheySimplex, l.scale, thick)
		y += sz.Y + int(28*p.font)
		gocv.PutText(img, l.text, image.Pt(x0+int(20*p.font), y), gocv.FontHersheySimplex, l.scale,
			color.RGBA{255, 255, 255, 0}, thick)
	}
}

// triangle maps seq to a triangle wave 0..span..0 with the given period.
func triangle(seq uint64, period, span int) int {
	if span <= 0 {
		return 0
	}
	ph := int(seq % uint64(period))
	half := period / 2
	if ph > half {
		ph = period - ph
	}
	return ph * span / half
}

// texture returns a w x h BGR image that wraps around horizontally: a hue
// gradient, coloured tiles, a zone plate and per-pixel noise. It is
// deterministic, so benchmarks compare like with like.
func texture(w, h int) []byte {
	buf := make([]byte, w*h*3)
	for y := range h {
		v := 0.55 + 0.4*float64(y)/float64(h)
		for x := range w {
			c := hsv(float64(x)*360/float64(w), 0.45, v)
			i := (y*w + x) * 3
			buf[i], buf[i+1], buf[i+2] = c.B, c.G, c.R
		}
	}
	rng := rand.New(rand.NewPCG(0x76737472, 0x65616d64))
	n := max(8, tileCount*w*h/(1280*720))
	for range n {
		tw := rng.IntN(w/6) + w/40
		th := rng.IntN(h/6) + h/40
		x0, y0 := rng.IntN(w), rng.IntN(h-th)
		c := hsv(rng.Float64()*360, 0.3+0.6*rng.Float64(), 0.3+0.7*rng.Float64())
		stripes := rng.IntN(5) == 0 // some tiles carry fine stripes, like fabric or text
		for y := y0; y < y0+th; y++ {
			for x := x0; x < x0+tw; x++ {
				i := (y*w + x%w) * 3
				b, g, r := c.B, c.G, c.R
				if stripes && (x+y)/6%2 == 0 {
					b, g, r = b/2, g/2, r/2
				}
				buf[i], buf[i+1], buf[i+2] = b, g, r
			}
		}
	}
	zonePlate(buf, w, h)
	for i := range buf {
		v := int(buf[i]) + rng.IntN(2*noiseAmp+1) - noiseAmp
		buf[i] = uint8(min(max(v, 0), 255))
	}
	return buf
}

// zonePlate draws concentric rings of rising spatial frequency, the classic
// resolution test, in a disc in the upper right quarter.
func zonePlate(buf []byte, w, h int) {
	r := h / 5
	cx, cy := w*3/4, h/4+h/20
	k := math.Pi / float64(2*r) // the frequency reaches ~1/4 cycle per pixel at the edge
	for y := max(cy-r, 0); y < min(cy+r, h); y++ {
		for x := max(cx-r, 0); x < min(cx+r, w); x++ {
			dx, dy := float64(x-cx), float64(y-cy)
			d2 := dx*dx + dy*dy
			if d2 > float64(r*r) {
				continue
			}
			v := uint8(127.5 + 127.5*math.Cos(k*d2/2))
			i := (y*w + x) * 3
			buf[i], buf[i+1], buf[i+2] = v, v, v
		}
	}
}

// hsv converts hue (degrees), saturation and value (0..1) to a colour.
func hsv(hue, s, v float64) color.RGBA {
	hue = math.Mod(hue, 360) / 60
	c := v * s
	x := c * (1 - math.Abs(math.Mod(hue, 2)-1))
	var r, g, b float64
	switch int(hue) {
	case 0:
		r, g = c, x
	case 1:
		r, g = x, c
	case 2:
		g, b = c, x
	case 3:
		g, b = x, c
	case 4:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := v - c
	to8 := func(f float64) uint8 { return uint8(math.Round((f + m) * 255)) }
	return color.RGBA{R: to8(r), G: to8(g), B: to8(b)}
}
