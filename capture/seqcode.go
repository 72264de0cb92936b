package capture

import (
	"image"
	"image/color"
	"time"

	"gocv.io/x/gocv"
)

// The pattern carries its frame number and its capture time as a code of
// black and white cells in its top left corner, so that a test can tell
// from a screenshot, a recording or a decoded frame which frame it is
// looking at and when it was captured, even after JPEG and scaling; the
// glass-to-glass measurement (display/glass) reads it off a real window:
//
//	row 0: [W][B][s31][s30]...[s0]     W white, B black, sN bit N of seq (white = 1)
//	row 1: [B][W][!s31]...    [!s0]    the complement, so every cell is checked
//	row 2: [W][B][t31][t30]...[t0]     tN bit N of the capture time: Unix milliseconds mod 2^32
//	row 3: [B][W][!t31]...    [!t0]
//
// Cells are codeCell pixels of the image's width square (20 px at 1280
// wide), starting one cell from the top and left edges, on a grey margin.
// The time wraps every 49.7 days; PatternCode.Captured unwraps it against
// a clock reading taken near the capture.
const (
	codeBits    = 32
	codeCols    = codeBits + 2 // two guard cells, then the bits
	codeRows    = 4            // seq, its complement, time, its complement
	codeCellDiv = 64           // cell size = image width / codeCellDiv
)

// PatternCode is what the pattern source draws into each frame.
type PatternCode struct {
	Seq uint32 // the frame number (the source's media.Frame.Seq, truncated)
	// Ms is the capture time (media.Frame.Captured) in Unix milliseconds, modulo
	// 2^32; Captured gives the time back.
	Ms uint32
}

// Captured returns the capture time the code carries: the instant with
// c.Ms's low 32 bits of Unix milliseconds that is nearest to near (the
// reader's clock; any time within 24 days of the capture).
func (c PatternCode) Captured(near time.Time) time.Time {
	ref := near.UnixMilli()
	d := int64(int32(c.Ms - uint32(ref))) // signed distance modulo 2^32
	return time.UnixMilli(ref + d)
}

// codeCellRect returns the rectangle of the cell in row r, column c for an
// image w pixels wide.
func codeCellRect(w, r, c int) image.Rectangle {
	cell := float64(w) / codeCellDiv
	x0 := int(cell * float64(1+c))
	y0 := int(cell * float64(1+r))
	return image.Rect(x0, y0, int(cell*float64(2+c)), int(cell*float64(2+r)))
}

// PatternCodeBounds is where the code lies in a pattern image w pixels
// wide (shown at its own size): a reader needs only these pixels.
func PatternCodeBounds(w int) image.Rectangle {
	return codeCellRect(w, 0, 0).Union(codeCellRect(w, codeRows-1, codeCols-1))
}

// codeRow returns the cell values of row r for the code c.
func codeRow(c PatternCode, r int) [codeCols]bool {
	v := c.Seq
	if r >= 2 {
		v = c.Ms
	}
	var row [codeCols]bool
	row[0] = true
	for i := range codeBits {
		row[2+i] = v>>(codeBits-1-i)&1 == 1
	}
	if r%2 == 1 {
		for i := range row {
			row[i] = !row[i]
		}
	}
	return row
}

// drawPatternCode draws c into img.
func drawPatternCode(img *gocv.Mat, c PatternCode) {
	w := img.Cols()
	margin := PatternCodeBounds(w).Inset(-max(1, w/256))
	gocv.Rectangle(img, margin, color.RGBA{128, 128, 128, 0}, -1)
	for r := range codeRows {
		for col, on := range codeRow(c, r) {
			fill := color.RGBA{0, 0, 0, 0}
			if on {
				fill = color.RGBA{255, 255, 255, 0}
			}
			gocv.Rectangle(img, codeCellRect(w, r, col), fill, -1)
		}
	}
}

// ReadPatternSeq reads the frame number that the pattern source drew into
// img, a BGR image of the pattern at any scale (a decoded frame, a crop of a
// screenshot or a frame of a recording). ok is false when the code is not
// there or not consistent, so a wrong read is detected rather than returned.
func ReadPatternSeq(img gocv.Mat) (seq uint32, ok bool) {
	c, ok := ReadPatternCode(img)
	return c.Seq, ok
}

// ReadPatternCode reads the frame number and capture time that the pattern
// source drew into img, as ReadPatternSeq does.
func ReadPatternCode(img gocv.Mat) (PatternCode, bool) {
	w, h := img.Cols(), img.Rows()
	if img.Channels() != 3 || PatternCodeBounds(w).Max.Y >= h {
		return PatternCode{}, false
	}
	return DecodePatternCode(w, func(x, y int) int {
		v := img.GetVecbAt(y, x)
		return int(v[0]) + int(v[1]) + int(v[2])
	})
}

// DecodePatternCode reads the code from any picture of the pattern shown w
// pixels wide: level(x, y) is the sum of the three colour channels of the
// pixel at x, y relative to the picture's top left corner, and is called
// only inside PatternCodeBounds(w). It does not allocate.
func DecodePatternCode(w int, level func(x, y int) int) (PatternCode, bool) {
	if w < MinPatternWidth/2 {
		return PatternCode{}, false
	}
	var rows [codeRows][codeCols]bool
	for r := range codeRows {
		for c := range codeCols {
			on, sure := cellValue(codeCellRect(w, r, c), level)
			if !sure {
				return PatternCode{}, false
			}
			rows[r][c] = on
		}
	}
	var vals [2]uint32
	for pair := range 2 {
		a, b := rows[2*pair], rows[2*pair+1]
		for c := range codeCols {
			if a[c] == b[c] {
				return PatternCode{}, false
			}
		}
		if !a[0] || a[1] {
			return PatternCode{}, false
		}
		for i := range codeBits {
			if a[2+i] {
				vals[pair] |= 1 << (codeBits - 1 - i)
			}
		}
	}
	return PatternCode{Seq: vals[0], Ms: vals[1]}, true
}

// cellValue averages the middle third of a cell. It is sure when the mean is
// clearly bright or clearly dark.
func cellValue(cell image.Rectangle, level func(x, y int) int) (on, sure bool) {
	d := cell.Dx() / 3
	in := cell.Inset(min(d, cell.Dx()/2-1))
	if in.Empty() {
		in = image.Rect(cell.Min.X, cell.Min.Y, cell.Min.X+1, cell.Min.Y+1)
	}
	sum, n := 0, 0
	for y := in.Min.Y; y < in.Max.Y; y++ {
		for x := in.Min.X; x < in.Max.X; x++ {
			sum += level(x, y)
			n += 3
		}
	}
	mean := sum / n
	switch {
	case mean >= 170:
		return true, true
	case mean <= 85:
		return false, true
	}
	return false, false
}
