package main

import (
	"github.com/vstreamd/vstreamd/capture"
	"github.com/vstreamd/vstreamd/daemon/config"
	"github.com/vstreamd/vstreamd/display"
)

// captureConfig maps the [capture] table to the capture package's config.
func captureConfig(c *config.Config) capture.Config {
	return capture.Config{
		Kind: c.Capture.Kind, Device: c.Capture.Device, Path: c.Capture.Path,
		Width: c.Capture.Width, Height: c.Capture.Height,
		FPS: c.Capture.FPS, Quality: c.Capture.Quality, Loop: true,
		Codec: c.Capture.Codec, Bitrate: int(c.Capture.BitrateMbps * 1e6),
	}
}

// displayConfig maps the [display] table to the display package's config.
func displayConfig(c *config.Config) display.Config {
	return display.Config{Kind: c.Display.Kind, Path: c.Display.Path, Title: c.WindowTitle(), Overlay: c.Display.Overlay, FPS: c.Capture.FPS}
}
