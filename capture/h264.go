package capture

import (
	"errors"
	"fmt"
	"image"
	"sync/atomic"

	"github.com/asticode/go-astiav"
	"gocv.io/x/gocv"

	"github.com/vstreamd/vstreamd/packetizer"
)

// H.264 settings. The encoder is libx264 through FFmpeg (go-astiav), tuned
// for a call: no B-frames and no lookahead (zerolatency), one frame in, one
// access unit out; intra refresh instead of periodic keyframes, so every
// frame is about the same size and the picture heals from any loss within
// one refresh period; an IDR only on the first frame and on request.
const (
	DefaultBitrate = 3_000_000  // bits per second when Config.Bitrate is 0
	MinBitrate     = 100_000    // SetBitrate clamps to [MinBitrate, Config.Bitrate]
	MaxBitrate     = 50_000_000 // the largest Config.Bitrate
	// vbvFrames is the VBV buffer in frame times at the target rate: room
	// for an IDR of a few frames' size without letting a burst build a
	// queue on the link.
	vbvFrames = 4
)

// ErrOddSize is returned for an H.264 frame whose width or height is odd
// (4:2:0 chroma needs even sizes).
var ErrOddSize = errors.New("H.264 needs an even width and height")

// h264Control is what a Source keeps for H.264: the settings callers change
// at any time (atomics), and the encoder, used under Source.mu.
type h264Control struct {
	bitrate   atomic.Int64 // target, bits per second
	keyframe  atomic.Bool  // the next frame is an IDR
	keyframes atomic.Uint64
	enc       *H264Encoder // nil until the first H.264 frame
}

// SetBitrate sets the H.264 encoder's target bitrate in bits per second,
// from the next frame on, without a keyframe. It is clamped to
// MinBitrate..the configured bitrate (the ceiling). A JPEG source ignores
// it. Safe for concurrent use.
func (s *Source) SetBitrate(bps int) {
	s.h264.bitrate.Store(int64(min(max(bps, MinBitrate), s.cfg.Bitrate)))
}

// RequestKeyframe makes the next H.264 frame an IDR, which decodes on its
// own: a receiver that lost frames or just joined shows pictures again from
// it. A JPEG source ignores it (every JPEG is one). Safe for concurrent use.
func (s *Source) RequestKeyframe() { s.h264.keyframe.Store(true) }

// encodeImage appends img, encoded with the configured codec, to dst and
// says what it is. s.mu is held.
func (s *Source) encodeImage(dst []byte, img gocv.Mat) ([]byte, packetizer.Media, error) {
	if s.cfg.Codec != packetizer.CodecH264 {
		data, err := AppendJPEG(dst, img, int(s.quality.Load()))
		return data, packetizer.Media{Codec: packetizer.CodecJPEG, Flags: packetizer.MediaKeyframe}, err
	}
	if w, h := img.Cols(), img.Rows(); w%2 != 0 || h%2 != 0 {
		// 4:2:0 needs even sizes: drop the odd column or row (a camera's
		// own size, a ladder step).
		even := img.Region(image.Rect(0, 0, w&^1, h&^1))
		defer even.Close()
		img = even
	}
	h := &s.h264
	fps := int(s.fps.Load())
	if e := h.enc; e != nil && (e.w != img.Cols() || e.h != img.Rows() || e.fps != fps) {
		e.Close() // a new size or rate: start over (with an IDR)
		h.enc = nil
	}
	if h.enc == nil {
		e, err := NewH264Encoder(img.Cols(), img.Rows(), fps, int(h.bitrate.Load()))
		if err != nil {
			return dst, packetizer.Media{}, err
		}
		h.enc = e
	}
	idr := h.keyframe.Swap(false)
	data, m, err := h.enc.Encode(dst, img, int(h.bitrate.Load()), idr)
	if err == nil && m.Keyframe() {
		h.keyframes.Add(1)
	}
	return data, m, err
}

// closeH264 releases the encoder; s.mu is held.
func (s *Source) closeH264() {
	if s.h264.enc != nil {
		s.h264.enc.Close()
		s.h264.enc = nil
	}
}

// H264Encoder encodes BGR images to H.264 access units, one access unit per
// image. A Source uses one; it is exported for the display package's tests
// and the benchmarks. It is not safe for concurrent use.
type H264Encoder struct {
	w, h, fps int
	gop       int // intra-refresh period in frames
	bitrate   int
	cc        *astiav.CodecContext
	frame     *astiav.Frame
	pkt       *astiav.Packet
	i420      gocv.Mat
	pts       int64
}

// NewH264Encoder opens libx264 for w x h (both even) at fps and bitrate
// bits/s. The caller must Close it.
func NewH264Encoder(w, h, fps, bitrate int) (*H264Encoder, error) {
	if w%2 != 0 || h%2 != 0 {
		return nil, fmt.Errorf("h264: %dx%d: %w", w, h, ErrOddSize)
	}
	codec := astiav.FindEncoderByName("libx264")
	if codec == nil {
		return nil, errors.New("h264: FFmpeg has no libx264 encoder (install libavcodec with x264, e.g. Debian's libavcodec59)")
	}
	e := &H264Encoder{w: w, h: h, fps: max(fps, 1), bitrate: bitrate, i420: gocv.NewMat()}
	e.gop = e.fps // the picture heals within a second of any loss
	e.cc = astiav.AllocCodecContext(codec)
	if e.cc == nil {
		e.Close()
		return nil, errors.New("h264: cannot allocate an encoder context")
	}
	e.cc.SetWidth(w)
	e.cc.SetHeight(h)
	e.cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	e.cc.SetTimeBase(astiav.NewRational(1, e.fps))
	e.cc.SetFramerate(astiav.NewRational(e.fps, 1))
	e.cc.SetGopSize(e.gop)
	e.cc.SetBitRate(int64(bitrate))
	e.cc.SetThreadCount(1) // one frame, one thread: no frame of delay, and the machine's other core is the receiver's
	opts := astiav.NewDictionary()
	defer opts.Free()
	for _, kv := range [][2]string{
		{"preset", "ultrafast"},
		{"tune", "zerolatency"},
		{"intra-refresh", "1"},
		{"forced-idr", "1"}, // a requested keyframe is an IDR, not a new refresh wave
		{"bf", "0"},
		{"maxrate", fmt.Sprint(bitrate)},
		{"bufsize", fmt.Sprint(vbvBits(bitrate, e.fps))},
	} {
		if err := opts.Set(kv[0], kv[1], 0); err != nil {
			e.Close()
			return nil, fmt.Errorf("h264: option %s: %w", kv[0], err)
		}
	}
	if err := e.cc.Open(codec, opts); err != nil {
		e.Close()
		return nil, fmt.Errorf("h264: opening libx264 for %dx%d@%d: %w", w, h, e.fps, err)
	}
	e.frame = astiav.AllocFrame()
	e.frame.SetWidth(w)
	e.frame.SetHeight(h)
	e.frame.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := e.frame.AllocBuffer(0); err != nil {
		e.Close()
		return nil, fmt.Errorf("h264: frame buffer: %w", err)
	}
	e.pkt = astiav.AllocPacket()
	return e, nil
}

// vbvBits is the VBV buffer for a bitrate at fps.
func vbvBits(bitrate, fps int) int { return bitrate * vbvFrames / max(fps, 1) }

// Encode encodes img (BGR, the encoder's size) at bitrate, as an IDR when
// idr is set, appends the access unit to dst and says what it is.
func (e *H264Encoder) Encode(dst []byte, img gocv.Mat, bitrate int, idr bool) ([]byte, packetizer.Media, error) {
	if img.Empty() {
		return dst, packetizer.Media{}, errEmptyImage
	}
	if bitrate != e.bitrate {
		setRate(e.cc, bitrate, bitrate, vbvBits(bitrate, e.fps))
		e.bitrate = bitrate
	}
	gocv.CvtColor(img, &e.i420, gocv.ColorBGRToYUVI420)
	pix, err := e.i420.DataPtrUint8()
	if err != nil {
		return dst, packetizer.Media{}, fmt.Errorf("h264: %w", err)
	}
	if err := fillI420(e.frame, pix, e.w, e.h); err != nil {
		return dst, packetizer.Media{}, fmt.Errorf("h264: %w", err)
	}
	e.frame.SetPts(e.pts)
	e.pts++
	e.frame.SetPictureType(astiav.PictureTypeNone)
	if idr {
		e.frame.SetPictureType(astiav.PictureTypeI)
	}
	if err := e.cc.SendFrame(e.frame); err != nil {
		return dst, packetizer.Media{}, fmt.Errorf("h264: encode: %w", err)
	}
	if err := e.cc.ReceivePacket(e.pkt); err != nil {
		// zerolatency gives one access unit per frame; none is a failure
		return dst, packetizer.Media{}, fmt.Errorf("h264: no access unit for the frame: %w", err)
	}
	defer e.pkt.Unref()
	data := e.pkt.Data()
	m := packetizer.Media{Codec: packetizer.CodecH264}
	switch {
	case HasIDR(data):
		m.Flags = packetizer.MediaKeyframe
	case e.pkt.Flags().Has(astiav.PacketFlagKey): // x264 marks the start of an intra-refresh wave
		m.Flags, m.Refresh = packetizer.MediaRefresh, uint16(e.gop)
	}
	return append(dst, data...), m, nil
}

// Close releases the encoder.
func (e *H264Encoder) Close() {
	if e.pkt != nil {
		e.pkt.Free()
	}
	if e.frame != nil {
		e.frame.Free()
	}
	if e.cc != nil {
		e.cc.Free()
	}
	e.i420.Close()
}

// HasIDR reports whether an H.264 Annex-B access unit holds an IDR slice
// (NAL unit type 5).
func HasIDR(au []byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			if au[i+3]&0x1f == 5 {
				return true
			}
			i += 2
		}
	}
	return false
}
