package config

import (
	"errors"
	"io/fs"

	"github.com/vstreamd/vstreamd/capture/jpegdir"
	"github.com/vstreamd/vstreamd/packetizer"
)

// checkJPEGs checks [capture] source = "jpegs:DIR" against the rest of the
// table and the directory's listing: its files are sent as they are, so
// they are JPEG whatever codec says (codec = "h264" is an error; left
// out, it becomes "jpeg"), and each must fit max_frame_bytes. Only the
// listing is read here (names, count, sizes); the source reads the files
// and checks their headers when it starts.
func (p *parser) checkJPEGs(c *Config) {
	if p.md.IsDefined("capture", "codec") {
		if c.Capture.Codec != packetizer.CodecJPEG && !p.bad["capture.codec"] {
			p.add("capture.codec", c.Capture.Codec.String(),
				`source "jpegs:DIR" sends its JPEG files as they are, without encoding: set codec = "jpeg", or leave the key out`)
		}
	} else {
		c.Capture.Codec = packetizer.CodecJPEG
	}
	limit := 0
	if !p.bad["transport.max_frame_bytes"] {
		limit = c.Transport.MaxFrameBytes - packetizer.MediaLen // each frame carries the media prefix
	}
	const want = `"jpegs:DIR" needs a directory holding only *.jpg or *.jpeg files`
	switch err := jpegdir.Check(c.Capture.Path, limit); {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		p.add("capture.source", c.Capture.Source, "the directory "+c.Capture.Path+" does not exist: "+want)
	case errors.Is(err, jpegdir.ErrEmpty), errors.Is(err, jpegdir.ErrNotJPEG), errors.Is(err, jpegdir.ErrTooBig):
		p.add("capture.source", c.Capture.Source, err.Error()) // says what is allowed
	default:
		p.add("capture.source", c.Capture.Source, err.Error()+": "+want)
	}
}
