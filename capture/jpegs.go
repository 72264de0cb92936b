package capture

import (
	"context"
	"fmt"
	"time"

	"github.com/vstreamd/vstreamd/capture/jpegdir"
	"github.com/vstreamd/vstreamd/daemon/alarm"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// JPEGsNote is what Status().Note says of a jpegs source: its frames are sent
// as the files are, so the adaptation's only lever is the frame rate.
const JPEGsNote = "replaying JPEG files as they are: quality, size and bit rate are the files'; only the frame rate changes"

// jpegReplay hands out the files of a jpegs source, one per frame slot,
// cycling. It is used under Source.mu.
type jpegReplay struct {
	images []jpegdir.Image // Data: a view into framed
	framed [][]byte        // each file with the media prefix before it
	slot   uint64          // the next slot's number; slot n shows image n mod len
}

// jpegMedia is the media prefix of every replayed frame.
var jpegMedia = packetizer.Media{Codec: packetizer.CodecJPEG, Flags: packetizer.MediaKeyframe}

// openJPEGs reads the directory (see package jpegdir for what it may
// hold) and settles the rate and the size the source reports at start.
func (s *Source) openJPEGs() error {
	images, err := jpegdir.Load(s.cfg.Path, 0)
	if err != nil {
		return fmt.Errorf("capture: jpegs %s: %w", s.cfg.Path, err)
	}
	// Each file is kept once, with its media prefix before it, so that a
	// frame goes out as it is, without a copy (media.Frame.Framed).
	framed := make([][]byte, len(images))
	for i := range images {
		framed[i] = append(jpegMedia.AppendTo(make([]byte, 0, packetizer.MediaLen+len(images[i].Data))), images[i].Data...)
		images[i].Data = framed[i][packetizer.MediaLen:]
	}
	s.jpegs = &jpegReplay{images: images, framed: framed}
	s.alarm = alarm.New()
	if s.cfg.FPS == 0 {
		s.cfg.FPS = DefaultFPS
	}
	s.cfg.Width, s.cfg.Height = images[0].Width, images[0].Height
	var total int
	for _, im := range images {
		total += len(im.Data)
	}
	s.log.Info("JPEG files loaded for replay", "dir", s.cfg.Path, "files", len(images), "bytes", total)
	return nil
}

// nextJPEG waits for the next slot and hands out its file as it is kept
// (Frame.Framed; dst is not used). A slot
// missed (the caller fell behind) passes over its file, so the replay keeps
// to the clock as the pattern does; Frame.Seq is the slot number.
func (s *Source) nextJPEG(ctx context.Context) (media.Frame, error) {
	r := s.jpegs
	missed := s.pace.catchUp(time.Now())
	s.m.dropped.Add(missed)
	r.slot += missed
	if err := s.sleepUntil(ctx, s.pace.due); err != nil {
		return media.Frame{}, err
	}
	at := time.Now()
	s.pace.advance()
	seq := r.slot
	r.slot++
	i := seq % uint64(len(r.images))
	im := &r.images[i]
	s.m.grabbed.Add(1)
	f := media.Frame{
		Data: im.Data, Framed: r.framed[i], Media: jpegMedia,
		Seq: seq, Captured: at, Width: im.Width, Height: im.Height,
	}
	f.EncodeTime = time.Since(at)
	s.m.delivered(f)
	s.offerPreview(s.img, f.Data) // a JPEG: offered as it is; s.img is not used
	return f, nil
}
