package main

import (
	"context"

	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/display"
	"github.com/vstreamd/vstreamd/packetizer"
)

// source adapts a capture.Source to daemon.Source.
type source struct{ s *capture.Source }

func (a source) Next(ctx context.Context, dst []byte) (daemon.Captured, error) {
	f, err := a.s.Next(ctx, dst)
	return daemon.Captured{Data: f.Data, Media: f.Media, Time: f.Captured}, err
}

func (a source) SetQuality(q int)   { a.s.SetQuality(q) }
func (a source) SetFPS(fps int)     { a.s.SetFPS(fps) }
func (a source) SetSize(w, h int)   { a.s.SetSize(w, h) }
func (a source) SetBitrate(bps int) { a.s.SetBitrate(bps) }
func (a source) RequestKeyframe()   { a.s.RequestKeyframe() }

func (a source) Status() daemon.SourceStatus {
	st := a.s.Stats()
	ss := daemon.SourceStatus{
		Kind: st.Kind.String(), Width: st.Width, Height: st.Height, FPS: st.ActualFPS,
		Configured: st.FPS, Quality: st.Quality, Frames: st.Frames, Dropped: st.Dropped,
		EncodeMs: float64(st.EncodeMean) / 1e6, Codec: st.Codec.String(), Keyframes: st.Keyframes, Note: st.Note,
	}
	if st.Codec == packetizer.CodecH264 {
		ss.BitrateBps = st.Bitrate
	}
	return ss
}

// sink adapts a display.Sink to daemon.Sink.
type sink struct{ s *display.Sink }

func (a sink) Show(f daemon.Shown) {
	a.s.Show(display.Frame{Data: f.Data, Codec: f.Codec, Use: f.Use, Start: f.Start, ID: f.ID, Captured: f.Captured, Latency: f.Latency})
}

func (a sink) Breaks() uint64 { return a.s.Breaks() }

func (a sink) Status() daemon.SinkStatus {
	st := a.s.Stats()
	return daemon.SinkStatus{
		Kind: st.Kind.String(), State: st.State, Shown: st.Shown, Skipped: st.Skipped,
		DecodeErrors: st.DecodeErrors, DecodeMs: float64(st.DecodeMean) / 1e6, Held: st.Held, Bytes: st.Bytes,
	}
}

// captureConfig maps the [capture] table to the capture package's config.
func captureConfig(c *config.Config) capture.Config {
	cc := capture.Config{
		Device: c.Capture.Device, Path: c.Capture.Path,
		Width: c.Capture.Width, Height: c.Capture.Height,
		FPS: c.Capture.FPS, Quality: c.Capture.Quality, Loop: true,
		Codec: packetizer.CodecJPEG, Bitrate: int(c.Capture.BitrateMbps * 1e6),
	}
	if c.Capture.Codec == "h264" {
		cc.Codec = packetizer.CodecH264
	}
	switch c.Capture.Kind {
	case config.SourceCamera:
		cc.Kind = capture.Camera
	case config.SourceFile:
		cc.Kind = capture.File
	case config.SourcePattern:
		cc.Kind = capture.Pattern
	case config.SourceJPEGs:
		cc.Kind = capture.JPEGs
	}
	return cc
}

// displayConfig maps the [display] table to the display package's config.
func displayConfig(c *config.Config) display.Config {
	dc := display.Config{Path: c.Display.Path, Title: c.WindowTitle(), Overlay: c.Display.Overlay, FPS: c.Capture.FPS}
	switch c.Display.Kind {
	case config.SinkWindow:
		dc.Kind = display.Window
	case config.SinkRecord:
		dc.Kind = display.Record
	case config.SinkNull:
		dc.Kind = display.Null
	case config.SinkDiscard:
		dc.Kind = display.Discard
	}
	return dc
}
