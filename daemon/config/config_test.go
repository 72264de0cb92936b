package config

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/vstreamd/vstreamd/daemon/media"
)

// rootConfig is the documented default configuration at the repository root.
const rootConfig = "../../config.toml"

func mustParse(t *testing.T, in, file string) *Config {
	t.Helper()
	c, err := Parse([]byte(in), file)
	if err != nil {
		t.Fatalf("Parse(%q) error:\n%v", in, err)
	}
	return c
}

func TestParseAccepts(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vs.toml")
	tests := []struct {
		name  string
		in    string
		check func(c *Config) bool
		want  string
	}{
		{"only peer takes defaults", peerLine, func(c *Config) bool {
			d := Default()
			d.File, d.Peer = file, "192.0.2.10:5600"
			return reflect.DeepEqual(c, d)
		}, "Default() with File and Peer set"},
		{"IPv6 listen", withPeer(`listen = "[::]:5601"`), func(c *Config) bool {
			return c.Listen == netip.MustParseAddrPort("[::]:5601")
		}, "listen [::]:5601"},
		{"peer host name", `peer = "peer.example.com:5600"`, func(c *Config) bool {
			return c.Peer == "peer.example.com:5600"
		}, "peer kept as written"},
		{"peer IPv6", `peer = "[2001:db8::10]:5600"`, func(c *Config) bool {
			return c.Peer == "[2001:db8::10]:5600"
		}, "peer kept as written"},
		{"camera by number", withPeer("[capture]\nsource = \"camera:2\""), func(c *Config) bool {
			return c.Capture.Kind == media.SourceCamera && c.Capture.Device == "2" && c.Capture.Path == ""
		}, "camera device 2"},
		{"camera by path", withPeer("[capture]\nsource = \"camera:/dev/video1\""), func(c *Config) bool {
			return c.Capture.Kind == media.SourceCamera && c.Capture.Device == "/dev/video1"
		}, "camera device /dev/video1"},
		{"file source, relative to the config", withPeer("[capture]\nsource = \"file:clips/a.mjpeg\""), func(c *Config) bool {
			return c.Capture.Kind == media.SourceFile && c.Capture.Source == "file:clips/a.mjpeg" &&
				c.Capture.Path == filepath.Join(dir, "clips/a.mjpeg") && c.Capture.Device == ""
		}, "file source with path resolved against the config's directory"},
		{"pattern source", withPeer("[capture]\nsource = \"pattern\"\nwidth = 16\nheight = 4320"), func(c *Config) bool {
			return c.Capture.Kind == media.SourcePattern && c.Capture.Width == 16 && c.Capture.Height == 4320
		}, "pattern at the range limits"},
		{"discard sink", withPeer("[display]\nsink = \"discard\""), func(c *Config) bool {
			return c.Display.Kind == media.SinkDiscard && c.Display.Sink == "discard" && c.Display.Path == ""
		}, "sink discard"},
		{"receive only", withPeer("[capture]\nsource = \"none\""), func(c *Config) bool {
			return c.Capture.Kind == media.SourceNone && c.Display.Kind == media.SinkWindow
		}, "source none, sink window"},
		{"record sink", withPeer("[display]\nsink = \"record:/var/lib/vstreamd/call.mjpeg\"\ntitle = \"T\"\noverlay = false"), func(c *Config) bool {
			return c.Display.Kind == media.SinkRecord && c.Display.Path == "/var/lib/vstreamd/call.mjpeg" &&
				c.Display.Title == "T" && !c.Display.Overlay
		}, "record sink with its path, title and overlay"},
		{"send only", withPeer("[display]\nsink = \"none\""), func(c *Config) bool {
			return c.Display.Kind == media.SinkNone
		}, "sink none"},
		{"parity an integer", withPeer("[transport]\nparity = 2\nmax_delay_ms = 10000"), func(c *Config) bool {
			return c.Transport.Parity == 2 && c.Transport.MaxDelay == 10*time.Second
		}, "parity 2.0, max delay 10s"},
		{"FEC off", withPeer("[transport]\nparity = 0.0"), func(c *Config) bool {
			return c.Transport.Parity == 0
		}, "parity 0"},
		{"encryption off without key", withPeer("[security]\nencryption = \"off\"\nkey_file = \"\""), func(c *Config) bool {
			return !c.Security.Encryption && c.Security.KeyFile == ""
		}, "encryption off"},
		{"relative key file", withPeer("[security]\nkey_file = \"psk\""), func(c *Config) bool {
			return c.Security.KeyFile == filepath.Join(dir, "psk")
		}, "key file resolved against the config's directory"},
		{"log level", withPeer("[log]\nlevel = \"debug\""), func(c *Config) bool {
			return c.Log.Level == slog.LevelDebug
		}, "debug"},
		{"http on loopback", withPeer("[http]\nlisten = \"127.0.0.1:9469\""), func(c *Config) bool {
			return c.HTTP.Listen == netip.MustParseAddrPort("127.0.0.1:9469") && !c.HTTP.AllowRemote
		}, "http on 127.0.0.1:9469"},
		{"http on IPv6 loopback", withPeer("[http]\nlisten = \"[::1]:9469\""), func(c *Config) bool {
			return c.HTTP.Listen == netip.MustParseAddrPort("[::1]:9469")
		}, "http on [::1]:9469"},
		{"http remote allowed", withPeer("[http]\nlisten = \"[::]:9469\"\nallow_remote = true"), func(c *Config) bool {
			return c.HTTP.Listen == netip.MustParseAddrPort("[::]:9469") && c.HTTP.AllowRemote
		}, "http on every address"},
		{"http off", withPeer("[http]\nlisten = \"\""), func(c *Config) bool {
			return !c.HTTP.Listen.IsValid()
		}, "http off"},
		{"inline table", withPeer("capture = { fps = 60 }"), func(c *Config) bool {
			return c.Capture.FPS == 60
		}, "fps 60"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.in, file)
			if !tc.check(c) {
				t.Errorf("Parse(%q) = %+v, want %s", tc.in, c, tc.want)
			}
		})
	}
}

// TestRootConfig loads config.toml from the repository root. It must equal
// Default() except for File and Peer: peer has no default (it is required),
// so the file sets it to an address from the documentation range
// 192.0.2.0/24 (RFC 5737), which passes validation and reaches nobody.
func TestRootConfig(t *testing.T) {
	c, err := Load(rootConfig)
	if err != nil {
		t.Fatalf("Load(%s): %v", rootConfig, err)
	}
	want := Default()
	want.File = rootConfig
	want.Peer = "192.0.2.10:5600"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(%s) differs from Default() in %v:\n got %+v\nwant %+v", rootConfig, Diff(c, want), c, want)
	}
}

// TestRootConfigDocumentsEveryKey checks that config.toml sets every key
// Parse knows, each with a comment on its line or just above it.
func TestRootConfigDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(rootConfig)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Split(string(data), "\n")
	lines := keyLines(data)
	for _, key := range Keys() {
		path := strings.Split(key, ".")
		if !md.IsDefined(path...) {
			t.Errorf("%s does not set %s", rootConfig, key)
			continue
		}
		l := lines[joinKey(path)]
		if l < 2 || !(strings.Contains(text[l-1], "#") || strings.HasPrefix(strings.TrimSpace(text[l-2]), "#")) {
			t.Errorf("%s:%d: %s has no comment on its line or the line above", rootConfig, l, key)
		}
	}
}

// TestEveryFieldHasAKey sets every key to a value other than its default and
// checks that every field of Config changed: a field no key reaches would be
// a setting config.toml can not document.
func TestEveryFieldHasAKey(t *testing.T) {
	in := `listen = "[::1]:7000"
peer = "peer.example.com:7000"
[capture]
source = "file:/srv/clip.mjpeg"
width = 640
height = 480
fps = 15
quality = 50
codec = "jpeg"
bitrate_mbps = 1.5
[display]
sink = "record:/srv/out.mjpeg"
title = "hello"
overlay = false
[transport]
max_datagram = 1472
max_delay_ms = 250
parity = 0.5
max_rate_mbps = 50
adaptive = false
min_bitrate_mbps = 1
max_bitrate_mbps = 20
target_frame_loss = 0.01
max_frame_bytes = 1048576
realtime_priority = 2
realtime_mode = "always"
[control]
socket = "/tmp/vs.sock"
[security]
key_file = "/srv/psk"
encryption = "off"
[http]
listen = "0.0.0.0:9469"
allow_remote = true
[log]
level = "error"
`
	c := mustParse(t, in, "all.toml")
	d := Default()
	var walk func(path string, got, def reflect.Value)
	walk = func(path string, got, def reflect.Value) {
		if got.Kind() == reflect.Struct && got.Type().PkgPath() == reflect.TypeFor[Config]().PkgPath() {
			for i := range got.NumField() {
				walk(path+"."+got.Type().Field(i).Name, got.Field(i), def.Field(i))
			}
			return
		}
		if path == ".File" {
			return
		}
		if reflect.DeepEqual(got.Interface(), def.Interface()) {
			t.Errorf("Config%s = %v, the default, although every key was set to something else", path, got)
		}
	}
	walk("", reflect.ValueOf(c).Elem(), reflect.ValueOf(d).Elem())
	if diff := Diff(d, c); !slices.Equal(diff, Keys()) {
		t.Errorf("Diff(Default(), all set) = %v, want every key %v", diff, Keys())
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	c := mustParse(t, withPeer("[capture]\nsource = \"file:a \\\"b\\\".mjpeg\"\n[display]\ntitle = \"t\\u0001\"\n"), "rt.toml")
	b, err := c.MarshalTOML()
	if err != nil {
		t.Fatal(err)
	}
	back := mustParse(t, string(b), "rt.toml")
	if !reflect.DeepEqual(back, c) {
		t.Errorf("Parse(MarshalTOML()) differs in %v:\n%s", Diff(back, c), b)
	}
}

func TestDiffAndLive(t *testing.T) {
	a := mustParse(t, peerLine, "a.toml")
	b := mustParse(t, withPeer("listen = \"0.0.0.0:5601\"\n[capture]\nquality = 40\n"), "a.toml")
	if got, want := Diff(a, b), []string{"listen", "capture.quality"}; !slices.Equal(got, want) {
		t.Errorf("Diff = %v, want %v", got, want)
	}
	for key, want := range map[string]bool{
		"peer": true, "capture.quality": true, "capture.fps": true, "transport.parity": true,
		"transport.max_delay_ms": true, "log.level": true,
		"listen": false, "capture.source": false, "display.sink": false, "control.socket": false, "nonsense": false,
	} {
		if got := Live(key); got != want {
			t.Errorf("Live(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.toml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(%s) error = %v, want a not-exist error naming the path, not ErrInvalid", path, err)
	}
}

func TestWindowTitle(t *testing.T) {
	c := mustParse(t, peerLine, "a.toml")
	if got, want := c.WindowTitle(), "vstreamd: 192.0.2.10:5600"; got != want {
		t.Errorf("WindowTitle() = %q, want %q", got, want)
	}
	c = mustParse(t, withPeer("[display]\ntitle = \"Kitchen\""), "a.toml")
	if got, want := c.WindowTitle(), "Kitchen"; got != want {
		t.Errorf("WindowTitle() = %q, want %q", got, want)
	}
}

func TestResolvePeer(t *testing.T) {
	tests := []struct {
		listen, peer string
		want         netip.AddrPort
	}{
		{"0.0.0.0:5600", "192.0.2.10:5601", netip.MustParseAddrPort("192.0.2.10:5601")},
		{"[::]:5600", "[2001:db8::1]:5601", netip.MustParseAddrPort("[2001:db8::1]:5601")},
		{"[::]:5600", "[::ffff:192.0.2.1]:7", netip.MustParseAddrPort("192.0.2.1:7")},
		{"127.0.0.1:5600", "localhost:5601", netip.MustParseAddrPort("127.0.0.1:5601")},
	}
	for _, tc := range tests {
		c := mustParse(t, "listen = \""+tc.listen+"\"\npeer = \""+tc.peer+"\"\n", "a.toml")
		got, err := c.ResolvePeer(t.Context())
		if err != nil || got != tc.want {
			t.Errorf("listen %s: ResolvePeer(%s) = %v, %v; want %v", tc.listen, tc.peer, got, err, tc.want)
		}
	}

	c := mustParse(t, `peer = "vstreamd-test.invalid:5600"`, "a.toml")
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // a cancelled lookup fails without touching the network
	if _, err := c.ResolvePeer(ctx); err == nil || !strings.Contains(err.Error(), `peer = "vstreamd-test.invalid:5600"`) {
		t.Errorf("ResolvePeer with a failing lookup: error = %v, want it to name the peer key and value", err)
	}
}
