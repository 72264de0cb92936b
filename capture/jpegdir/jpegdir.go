// Package jpegdir reads the directory of JPEG files that the "jpegs:DIR"
// frame source replays: every file once, at start, into memory, in the
// order of their names, each checked to be a JPEG whose header gives its
// size. It is pure Go (image/jpeg reads the headers; nothing is decoded), so
// the config loader can check a directory as well as the source can load it.
//
// The directory may hold nothing but JPEG files (names ending in .jpg or
// .jpeg, any case): no subdirectories, no other files, so that a stray file
// is an error rather than a frame. Names sort as strings, so number them
// with leading zeros (frame-000001.jpg, as the record sink writes them).
//
// Everything is held in memory for as long as the source runs, so the
// directory is bounded: at most MaxFiles files and MaxBytes bytes in all,
// and no file larger than the limit the caller gives (the largest frame the
// transport carries).
package jpegdir

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Bounds of a directory, chosen so that a replay costs at most a modest
// share of a host's memory: MaxBytes is about 90 s of 720p JPEG at 30 fps
// (100 KB a frame), MaxFiles over five minutes at 30 fps.
const (
	MaxFiles = 10000
	MaxBytes = 256 << 20
)

// Errors a caller may branch on; every error Check and Load return wraps one
// of them, or an *fs.PathError from reading the directory.
var (
	ErrEmpty   = errors.New("no JPEG files")
	ErrNotJPEG = errors.New("not a JPEG file")
	ErrTooBig  = errors.New("too big")
)

// Image is one file of the directory.
type Image struct {
	Name          string // the file's name, without the directory
	Data          []byte // the whole file, as it is
	Width, Height int    // from its header
}

// Check lists dir and checks what can be known without reading the files:
// it exists and is a directory, holds at least one file, only files named
// *.jpg or *.jpeg, at most MaxFiles of them and MaxBytes in all, none larger
// than maxFile bytes (0: no limit but MaxBytes). The error says which file
// and what is allowed.
func Check(dir string, maxFile int) error {
	_, err := list(dir, maxFile)
	return err
}

// Load reads every file of dir, in the order of their names, after the
// checks of Check, and checks that each starts with a JPEG header that
// gives its size.
func Load(dir string, maxFile int) ([]Image, error) {
	names, err := list(dir, maxFile)
	if err != nil {
		return nil, err
	}
	images := make([]Image, 0, len(names))
	var total int64
	for _, name := range names {
		path := filepath.Join(dir, name)
		data, err := readBounded(path, maxFile)
		if err != nil {
			return nil, err
		}
		if total += int64(len(data)); total > MaxBytes { // the files grew since they were listed
			return nil, fmt.Errorf("%s: the files hold more than %d MiB: %w", dir, MaxBytes>>20, ErrTooBig)
		}
		w, h, err := Size(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		images = append(images, Image{Name: name, Data: data, Width: w, Height: h})
	}
	return images, nil
}

// Size returns the width and height a JPEG's header gives, or an error
// wrapping ErrNotJPEG.
func Size(data []byte) (width, height int, err error) {
	if len(data) < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF {
		return 0, 0, fmt.Errorf("%w: it does not start with a JPEG's SOI marker (FF D8 FF)", ErrNotJPEG)
	}
	c, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: its header does not parse: %v", ErrNotJPEG, err)
	}
	if c.Width <= 0 || c.Height <= 0 {
		return 0, 0, fmt.Errorf("%w: its header gives no size", ErrNotJPEG)
	}
	return c.Width, c.Height, nil
}

// list returns the names of dir's files, sorted, after Check's checks.
func list(dir string, maxFile int) ([]string, error) {
	// Stat before opening: opening a named pipe would wait for a writer.
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory (jpegs: takes a directory of JPEG files)", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One more than allowed, so that a huge directory is not read whole.
	des, err := f.ReadDir(MaxFiles + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(des) > MaxFiles {
		return nil, fmt.Errorf("%s holds more than %d files: %w (all are kept in memory; use a shorter recording)", dir, MaxFiles, ErrTooBig)
	}
	names := make([]string, 0, len(des))
	var total int64
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() && de.Type()&fs.ModeSymlink == 0 {
			return nil, fmt.Errorf("%s: %w: only .jpg and .jpeg files may be in the directory", filepath.Join(dir, name), ErrNotJPEG)
		}
		if ext := strings.ToLower(filepath.Ext(name)); ext != ".jpg" && ext != ".jpeg" {
			return nil, fmt.Errorf("%s: %w: only files named *.jpg or *.jpeg may be in the directory", filepath.Join(dir, name), ErrNotJPEG)
		}
		fi, err := os.Stat(filepath.Join(dir, name)) // follows a symlink
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: %w: only .jpg and .jpeg files may be in the directory", filepath.Join(dir, name), ErrNotJPEG)
		}
		if maxFile > 0 && fi.Size() > int64(maxFile) {
			return nil, fmt.Errorf("%s: %d bytes: %w: a frame may be at most %d bytes ([transport] max_frame_bytes)", filepath.Join(dir, name), fi.Size(), ErrTooBig, maxFile)
		}
		if total += fi.Size(); total > MaxBytes {
			return nil, fmt.Errorf("%s: the files hold more than %d MiB: %w (all are kept in memory; use a shorter recording)", dir, MaxBytes>>20, ErrTooBig)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: %w (the directory is empty; it needs at least one *.jpg or *.jpeg)", dir, ErrEmpty)
	}
	slices.Sort(names)
	return names, nil
}

// readBounded reads the file at path, refusing one larger than maxFile
// bytes (0: MaxBytes).
func readBounded(path string, maxFile int) ([]byte, error) {
	limit := int64(MaxBytes)
	if maxFile > 0 {
		limit = int64(maxFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", path, limit, ErrTooBig)
	}
	return data, nil
}
