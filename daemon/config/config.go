// Package config loads and validates vstreamd's config.toml.
//
// The file at the root of the repository documents every key with its default.
// A missing key takes its default; an unknown key, a value of the wrong type or
// out of range, and a syntax error are all rejected, every problem at once,
// each naming the file, the line, the key, the value and what would be valid:
//
//	config.toml:14: [transport] parity = 5: must be between 0 and 2 (0 turns FEC off)
//
// Relative paths in the file (key_file, file:PATH, record:PATH, socket) are
// taken relative to the directory of the config file, so a config works the
// same whatever directory the daemon is started from.
//
// A *Config is a plain value: Parse and Load return a new one each time and
// nothing in this package changes it afterwards. It is safe for concurrent
// reads; a reload replaces the whole *Config rather than editing it.
package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// Config is a validated configuration.
type Config struct {
	File      string         // where it was loaded from, as given to Load or Parse
	Listen    netip.AddrPort // key listen: local UDP address, an IP literal and a port
	Peer      string         // key peer: "host:port" as written; host an IP literal or a DNS name
	Capture   Capture
	Display   Display
	Transport Transport
	Control   Control
	Security  Security
	HTTP      HTTP
	Log       Log
}

// Capture is the [capture] table.
type Capture struct {
	Source  string           // as written, e.g. "camera:0"
	Kind    media.SourceKind // parsed from Source
	Device  string           // camera: "0".."N" or an absolute /dev/ path
	Path    string           // file: the file to play
	Width   int              // 16..7680
	Height  int              // 16..4320
	FPS     int              // 1..120
	Quality int              // JPEG quality 1..100
	Codec   packetizer.Codec // H.264 or JPEG
	// BitrateMbps is the H.264 encoder's target and ceiling, Mb/s (a rate
	// controller may lower the target); 0.1..50.
	BitrateMbps float64
}

// Display is the [display] table.
type Display struct {
	Sink    string         // as written, e.g. "window"
	Kind    media.SinkKind // parsed from Sink
	Path    string         // record: the file to write
	Title   string         // window title; empty means WindowTitle's default
	Overlay bool           // draw fps and latency on the window
}

// Transport is the [transport] table.
type Transport struct {
	MaxDatagram   int           // UDP payload bytes per datagram, vstreamd's header and tag included; 576..65507
	MaxDelay      time.Duration // from max_delay_ms; 1ms..10s
	Parity        float64       // parity shards per data shard; 0 (FEC off)..2
	MaxRateMbps   float64       // cap on the pacing rate, Mb/s; 0: none (adaptive) or each frame at once (not adaptive)
	MaxFrameBytes int           // largest encoded frame; 65536..67108864
	// RealtimePriority is the SCHED_FIFO priority of the thread the
	// receive loop waits on (daemon/sched.Realtime); 0: none, the loop
	// waits in the Go runtime's poller.
	RealtimePriority int
	// RealtimeAlways keeps the receive loop on its real-time thread
	// whatever the CPU's load (realtime_mode = "always"); false
	// ("auto"): only while the CPU is contended (daemon/sched.Contention)
	// once the loop has read late in the poller (daemon.rxWait).
	RealtimeAlways bool
	// Adaptive fits the stream to the link: congestion control, encoder
	// ladder, pacing and parity from measured loss. Parity is then chosen,
	// not configured.
	Adaptive        bool
	MinBitrateMbps  float64 // the adaptation never aims below this
	MaxBitrateMbps  float64 // nor above this
	TargetFrameLoss float64 // parity is chosen to lose at most this share of frames
}

// Control is the [control] table.
type Control struct {
	Socket string // unix socket path `vstreamd status` talks to
}

// Security is the [security] table.
type Security struct {
	KeyFile    string // pre-shared key file; may be "" only with encryption off
	Encryption bool   // from encryption = "on" | "off"
}

// HTTP is the [http] table: the metrics endpoint and the live page.
type HTTP struct {
	Listen      netip.AddrPort // TCP address to serve on; the zero value (listen = "") turns HTTP off
	AllowRemote bool           // serve on an address other hosts can reach, not only loopback
}

// Log is the [log] table.
type Log struct {
	Level slog.Level
}

// Default returns the configuration a file with no keys would give, except
// that a real file must also set peer (Default's Peer is empty, so Default is
// not valid on its own).
func Default() *Config {
	return &Config{
		Listen: netip.AddrPortFrom(netip.IPv4Unspecified(), 5600),
		Capture: Capture{
			Source: "camera:0", Kind: media.SourceCamera, Device: "0",
			Width: 1280, Height: 720, FPS: 30, Quality: 80,
			Codec: packetizer.CodecH264, BitrateMbps: 3,
		},
		Display: Display{Sink: "window", Kind: media.SinkWindow, Overlay: true},
		Transport: Transport{
			MaxDatagram:      1200,
			MaxDelay:         100 * time.Millisecond,
			Parity:           0.25,
			MaxFrameBytes:    4 << 20,
			RealtimePriority: 1,
			Adaptive:         true,
			MinBitrateMbps:   0.3,
			MaxBitrateMbps:   100,
			TargetFrameLoss:  0.001,
		},
		Control:  Control{Socket: "/run/vstreamd/vstreamd.sock"},
		Security: Security{KeyFile: "/etc/vstreamd/psk", Encryption: true},
		Log:      Log{Level: slog.LevelInfo},
	}
}

// Load reads and validates the config file at path. Errors about the file's
// content match ErrInvalid; an error reading it wraps the *fs.PathError.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse validates a config file's content; file names it in messages, and its
// directory is where relative paths in the file are taken from.
func Parse(data []byte, file string) (*Config, error) {
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, syntaxError(file, data, err)
	}
	p := &parser{file: file, raw: raw, md: md, lines: keyLines(data)}
	c := Default()
	c.File = file
	p.unknownKeys()
	p.apply(c)
	resolvePaths(c, configDir(file))
	p.crossCheck(c)
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	return c, nil
}

// syntaxError turns a TOML decoding error into an *Error with its position.
// The position is worked out again from the error's byte offset: the
// library counts an error found at a newline on the line after it.
func syntaxError(file string, data []byte, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: file, Msg: "syntax error: " + err.Error()}
	}
	e := &Error{File: file, Line: pe.Position.Line, Col: pe.Position.Col, Msg: "syntax error: " + pe.Message}
	if start := pe.Position.Start; start >= 0 && start <= len(data) {
		e.Line = bytes.Count(data[:start], []byte("\n")) + 1
		e.Col = start - bytes.LastIndexByte(data[:start], '\n')
	}
	return e
}

// configDir returns the absolute directory of file, where relative paths in
// it are taken from; or "." if that can not be found.
func configDir(file string) string {
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return "."
	}
	return dir
}

// resolvePaths makes relative paths relative to dir, the config file's
// directory.
func resolvePaths(c *Config, dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Capture.Path)
	abs(&c.Display.Path)
	abs(&c.Control.Socket)
	abs(&c.Security.KeyFile)
}

// WindowTitle is the title of the display window: [display] title, or
// "vstreamd: PEER" when that is empty.
func (c *Config) WindowTitle() string {
	if c.Display.Title != "" {
		return c.Display.Title
	}
	return "vstreamd: " + c.Peer
}

// ResolvePeer returns the peer's address, looking its host name up with
// net.DefaultResolver when it is not an IP literal. With an IPv4 listen
// address only IPv4 addresses are looked up, with a specific IPv6 one only
// IPv6, and with "[::]" (dual stack) either. The address is unmapped
// (::ffff:a.b.c.d becomes a.b.c.d); compare it with received addresses after
// Unmap too. Errors name the key and its value.
func (c *Config) ResolvePeer(ctx context.Context) (netip.AddrPort, error) {
	host, port, err := splitHostPort(c.Peer)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("peer = %q: %w", c.Peer, err)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), port), nil
	}
	network := "ip"
	switch a := c.Listen.Addr(); {
	case a.Unmap().Is4():
		network = "ip4"
	case a.IsValid() && !a.IsUnspecified():
		network = "ip6"
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("peer = %q: resolve %s: %w", c.Peer, host, err)
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("peer = %q: resolve %s: no %s address", c.Peer, host, network)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), port), nil
}
