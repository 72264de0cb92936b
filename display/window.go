package display

import (
	"fmt"
	"image"
	"image/color"
	"time"

	"github.com/vstreamd/vstreamd/daemon/media"
	"gocv.io/x/gocv"
)

// windowRenderer shows frames in a highgui window. Every highgui call runs
// on the process's GUI thread.
//
// The window stops on q, Q or Esc, or when it is closed (its close button).
// Whether it still exists is asked through the OpenGL property: it is the
// one that OpenCV 4.6's Qt backend answers (-1) once the user has closed
// the last window; asking for any other property, or destroying the window,
// then throws a C++ exception, which aborts the process. So a window the
// user closed is not destroyed again. (GoCV's NewWindow locks the calling
// OS thread and its Close unlocks it; the GUI thread stays locked either
// way.)
type windowRenderer struct {
	gui     *guiThread
	win     *gocv.Window
	name    string // highgui's name for the window, unique in the process
	overlay bool
	gone    bool // the window no longer exists
	// size is the first frame's size, which the window keeps: later
	// frames of another size (the sender's adaptation steps the
	// resolution) are scaled to it, so the window neither resizes nor
	// flickers. scaled holds them; render's goroutine only.
	size   image.Point
	scaled gocv.Mat
}

// pollInterval is how often the window handles its events while no frame
// comes, so that it repaints, and notices q and its close button, promptly.
const pollInterval = 30 * time.Millisecond

func newWindow(cfg Config) (*windowRenderer, error) {
	if err := checkDisplay(); err != nil {
		return nil, err
	}
	title := cfg.Title
	if title == "" {
		title = "vstreamd"
	}
	w := &windowRenderer{gui: processGUI(), overlay: cfg.Overlay}
	// highgui identifies windows by name, so the name must be unique in the
	// process; the title is what the user sees.
	w.name = fmt.Sprintf("%s (%p)", title, w)
	w.gui.do(func() {
		w.win = gocv.NewWindow(w.name)
		// Fit the window to the picture, 1:1 (GoCV opens it resizable, which
		// Qt shows at a default size, scaling the picture into it).
		w.win.SetWindowProperty(gocv.WindowPropertyAutosize, gocv.WindowAutosize)
		w.win.SetWindowTitle(title)
		w.win.WaitKey(1)
	})
	return w, nil
}

func (w *windowRenderer) render(img *gocv.Mat, _ []byte, f media.Received, st *media.SinkStatus) error {
	got := image.Pt(img.Cols(), img.Rows())
	if w.size == (image.Point{}) {
		w.size = got
	}
	if got != w.size {
		if w.scaled.Ptr() == nil {
			w.scaled = gocv.NewMat()
		}
		interp := gocv.InterpolationLinear
		if got.X > w.size.X {
			interp = gocv.InterpolationArea
		}
		gocv.Resize(*img, &w.scaled, w.size, 0, 0, interp)
		img = &w.scaled
	}
	if w.overlay {
		drawOverlay(img, got, f, st)
	}
	var err error
	w.gui.do(func() {
		if !w.exists() {
			err = errClosedByUser
			return
		}
		w.win.IMShow(*img)
		err = userKey(w.win.WaitKey(1))
	})
	return err
}

func (w *windowRenderer) pollEvery() time.Duration { return pollInterval }

func (w *windowRenderer) poll() error {
	var err error
	w.gui.do(func() {
		if !w.exists() {
			err = errClosedByUser
			return
		}
		err = userKey(w.win.WaitKey(1))
	})
	return err
}

// exists reports whether the window is still there; GUI thread only.
func (w *windowRenderer) exists() bool {
	if !w.gone && w.win.GetWindowProperty(gocv.WindowPropertyOpenGL) < 0 {
		w.gone = true
	}
	return !w.gone
}

func (w *windowRenderer) close() error {
	if w.scaled.Ptr() != nil {
		w.scaled.Close()
	}
	w.gui.do(func() {
		if w.exists() {
			w.win.Close()
			w.win.WaitKey(1) // let Qt take the window down
			w.gone = true
		}
	})
	return nil
}

// userKey maps a key from WaitKey to errClosedByUser for q, Q and Esc.
func userKey(k int) error {
	if k < 0 {
		return nil
	}
	switch k & 0xFF {
	case 'q', 'Q', 27:
		return errClosedByUser
	}
	return nil
}

// drawOverlay writes the received size, the shown rate, the latency and
// the frame id in the top right corner (the top left carries the test
// pattern's frame code).
func drawOverlay(img *gocv.Mat, received image.Point, f media.Received, st *media.SinkStatus) {
	lat := "latency -"
	if f.Latency > 0 {
		lat = fmt.Sprintf("latency %d ms", f.Latency.Milliseconds())
	}
	text := fmt.Sprintf("%dx%d  %.1f fps  %s  #%d", received.X, received.Y, st.FPS, lat, f.ID)
	scale := max(0.4, float64(img.Rows())/900)
	thick := max(1, int(scale*2))
	sz := gocv.GetTextSize(text, gocv.FontHersheySimplex, scale, thick)
	pad := sz.Y / 2
	x := img.Cols() - sz.X - 3*pad
	box := image.Rect(x, pad, img.Cols()-pad, 4*pad+sz.Y)
	gocv.Rectangle(img, box, color.RGBA{0, 0, 0, 0}, -1)
	gocv.PutText(img, text, image.Pt(x+pad, 2*pad+sz.Y), gocv.FontHersheySimplex, scale, color.RGBA{255, 255, 255, 0}, thick)
}
