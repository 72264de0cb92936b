package display

import (
	"errors"
	"fmt"
	"time"

	"github.com/asticode/go-astiav"
)

// muxer writes H.264 access units into a container file (Matroska, MP4 or
// AVI, chosen by the file name) through FFmpeg's muxers (go-astiav), as
// received: no re-encoding. Timestamps are the capture times, in
// milliseconds from the first frame. It is not safe for concurrent use.
type muxer struct {
	path  string
	fc    *astiav.FormatContext
	pb    *astiav.IOContext
	st    *astiav.Stream
	pkt   *astiav.Packet
	first time.Time
	last  int64 // pts of the last frame, ms
	n     int
	ready bool // the header is written
}

// frameMs is the duration given to the first frame, before the frame
// interval is known: a frame time at 30 fps.
const frameMs = 33

// msBase is the time base the muxer is given; it may choose another.
func msBase() astiav.Rational { return astiav.NewRational(1, 1000) }

// openMuxer creates path for an H.264 stream of w x h pictures; first is
// the first access unit, whose parameter sets (SPS, PPS) the container's
// header holds.
func openMuxer(path string, w, h int, first []byte) (*muxer, error) {
	fc, err := astiav.AllocOutputFormatContext(nil, "", path)
	if err != nil {
		return nil, fmt.Errorf("record %s: no container for this file name: %w", path, err)
	}
	m := &muxer{path: path, fc: fc, pkt: astiav.AllocPacket(), last: -1}
	m.st = fc.NewStream(nil)
	if m.st == nil {
		m.close()
		return nil, fmt.Errorf("record %s: cannot add a stream", path)
	}
	cp := m.st.CodecParameters()
	cp.SetCodecID(astiav.CodecIDH264)
	cp.SetMediaType(astiav.MediaTypeVideo)
	cp.SetWidth(w)
	cp.SetHeight(h)
	if ps := parameterSets(first); len(ps) > 0 {
		if err := cp.SetExtraData(ps); err != nil {
			m.close()
			return nil, fmt.Errorf("record %s: %w", path, err)
		}
	}
	m.st.SetTimeBase(msBase())
	if !fc.OutputFormat().Flags().Has(astiav.IOFormatFlagNofile) {
		if m.pb, err = astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite)); err != nil {
			m.close()
			return nil, fmt.Errorf("record %s: %w", path, err)
		}
		fc.SetPb(m.pb)
	}
	if err := fc.WriteHeader(nil); err != nil {
		m.close()
		return nil, fmt.Errorf("record %s: writing the header: %w", path, err)
	}
	m.ready = true
	return m, nil
}

// write adds one access unit captured at the given time; key marks one a
// player can start from.
func (m *muxer) write(au []byte, key bool, at time.Time) error {
	if m.n == 0 {
		m.first = at
	}
	pts := max(at.Sub(m.first).Milliseconds(), m.last+1)
	dur := int64(frameMs)
	if m.n > 0 {
		dur = pts - m.last
	}
	m.last = pts
	if err := m.pkt.FromData(au); err != nil {
		return fmt.Errorf("record %s: %w", m.path, err)
	}
	defer m.pkt.Unref()
	m.pkt.SetStreamIndex(m.st.Index())
	m.pkt.SetPts(pts)
	m.pkt.SetDts(pts)
	m.pkt.SetDuration(dur)
	if key {
		m.pkt.SetFlags(m.pkt.Flags().Add(astiav.PacketFlagKey))
	}
	m.pkt.RescaleTs(msBase(), m.st.TimeBase())
	if err := m.fc.WriteInterleavedFrame(m.pkt); err != nil {
		return fmt.Errorf("record %s: %w", m.path, err)
	}
	m.n++
	return nil
}

// close writes the trailer (the index) and closes the file.
func (m *muxer) close() error {
	var errs []error
	if m.ready {
		if err := m.fc.WriteTrailer(); err != nil {
			errs = append(errs, fmt.Errorf("record %s: writing the index: %w", m.path, err))
		}
	}
	if m.pb != nil {
		if err := m.pb.Close(); err != nil {
			errs = append(errs, fmt.Errorf("record %s: %w", m.path, err))
		}
		m.pb = nil
	}
	m.ready = false
	if m.fc != nil {
		m.fc.Free()
		m.fc = nil
	}
	if m.pkt != nil {
		m.pkt.Free()
		m.pkt = nil
	}
	return errors.Join(errs...)
}

// parameterSets returns the sequence and picture parameter sets (NAL unit
// types 7 and 8) at the start of an Annex-B access unit, with their start
// codes, as encoders put them before a keyframe; empty when it has none.
func parameterSets(au []byte) []byte {
	end := 0
	for _, u := range nalUnits(au) {
		if t := au[u.start] & 0x1f; t != 7 && t != 8 {
			break
		}
		end = u.end
	}
	return au[:end]
}

// nalUnit is where a NAL unit of an Annex-B stream lies: its header byte is
// at start, and it ends at end (the next start code, or the end).
type nalUnit struct{ start, end int }

// nalUnits splits an Annex-B access unit at its start codes.
func nalUnits(au []byte) []nalUnit {
	var units []nalUnit
	for i := 0; i+3 < len(au); i++ {
		if au[i] != 0 || au[i+1] != 0 || au[i+2] != 1 {
			continue
		}
		if n := len(units); n > 0 {
			units[n-1].end = i
			if au[i-1] == 0 && i-1 >= units[n-1].start {
				units[n-1].end = i - 1 // a four-byte start code
			}
		}
		units = append(units, nalUnit{start: i + 3, end: len(au)})
		i += 2
	}
	return units
}
