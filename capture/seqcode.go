package capture

import (
	"image"
	"image/color"

	"gocv.io/x/gocv"
)

// The pattern carries its frame number as a code of black and white cells in
// its top left corner, so that a test can tell from a screenshot, a recording
// or a decoded frame which frame it is looking at, even after JPEG and
// scaling:
//
//	row 0: [W][B][b31][b30]...[b0]     W white, B black, bN bit N of seq (white = 1)
//	row 1: [B][W][!b31]...    [!b0]    the complement, so every cell is checked
//
// Cells are codeCell pixels of the image's width square (20 px at 1280
// wide), starting one cell from the top and left edges, on a grey margin.
const (
	codeBits    = 32
	codeCols    = codeBits + 2 // two guard cells, then the bits
	codeCellDiv = 64           // cell size = image width / codeCellDiv
)

// codeCellRect returns the rectangle of the cell in row r, column c for an
// image w pixels wide.
func codeCellRect(w, r, c int) image.Rectangle {
	cell := float64(w) / codeCellDiv
	x0 := int(cell * float64(1+c))
	y0 := int(cell * float64(1+r))
	return image.Rect(x0, y0, int(cell*float64(2+c)), int(cell*float64(2+r)))
}

// codeRow returns the cell values of row r for seq.
func codeRow(seq uint32, r int) [codeCols]bool {
	var row [codeCols]bool
	row[0] = true
	for i := range codeBits {
		row[2+i] = seq>>(codeBits-1-i)&1 == 1
	}
	if r == 1 {
		for i := range row {
			row[i] = !row[i]
		}
	}
	return row
}

// drawSeqCode draws seq's code into img.
func drawSeqCode(img *gocv.Mat, seq uint32) {
	w := img.Cols()
	margin := codeCellRect(w, 0, 0).Union(codeCellRect(w, 1, codeCols-1)).Inset(-max(1, w/256))
	gocv.Rectangle(img, margin, color.RGBA{128, 128, 128, 0}, -1)
	for r := range 2 {
		for c, on := range codeRow(seq, r) {
			col := color.RGBA{0, 0, 0, 0}
			if on {
				col = color.RGBA{255, 255, 255, 0}
			}
			gocv.Rectangle(img, codeCellRect(w, r, c), col, -1)
		}
	}
}

// ReadPatternSeq reads the frame number that the pattern source drew into
// img, a BGR image of the pattern at any scale (a decoded frame, a crop of a
// screenshot or a frame of a recording). ok is false when the code is not
// there or not consistent, so a wrong read is detected rather than returned.
func ReadPatternSeq(img gocv.Mat) (seq uint32, ok bool) {
	w := img.Cols()
	if w < MinPatternWidth/2 || img.Channels() != 3 || codeCellRect(w, 1, 0).Max.Y >= img.Rows() {
		return 0, false
	}
	var rows [2][codeCols]bool
	for r := range 2 {
		for c := range codeCols {
			on, sure := cellValue(img, codeCellRect(w, r, c))
			if !sure {
				return 0, false
			}
			rows[r][c] = on
		}
	}
	for c := range codeCols {
		if rows[0][c] == rows[1][c] {
			return 0, false
		}
	}
	if !rows[0][0] || rows[0][1] {
		return 0, false
	}
	for i := range codeBits {
		if rows[0][2+i] {
			seq |= 1 << (codeBits - 1 - i)
		}
	}
	return seq, true
}

// cellValue averages the middle third of a cell. It is sure when the mean is
// clearly bright or clearly dark.
func cellValue(img gocv.Mat, cell image.Rectangle) (on, sure bool) {
	d := cell.Dx() / 3
	in := cell.Inset(min(d, cell.Dx()/2-1))
	if in.Empty() {
		in = image.Rect(cell.Min.X, cell.Min.Y, cell.Min.X+1, cell.Min.Y+1)
	}
	sum, n := 0, 0
	for y := in.Min.Y; y < in.Max.Y; y++ {
		for x := in.Min.X; x < in.Max.X; x++ {
			v := img.GetVecbAt(y, x)
			sum += int(v[0]) + int(v[1]) + int(v[2])
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
