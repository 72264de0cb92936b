package config

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/vstreamd/vstreamd/packetizer"
)

// kind is the TOML type a key takes.
type kind int

const (
	kindString kind = iota
	kindInt
	kindFloat // an integer is accepted too
	kindBool
)

// value is a decoded TOML value of a spec's kind.
type value struct {
	s string
	i int64
	f float64
	b bool
}

// spec describes one key: its type, how it is validated and stored, how it
// is read back (for Diff and MarshalTOML), and whether a reload can apply it while running.
type spec struct {
	key     string // dotted key: "listen", "capture.fps"
	kind    kind
	typeMsg string // what to say when the type is wrong; "" for the default
	live    bool
	set     func(c *Config, v value) string // stores v; returns what is wrong, or ""
	get     func(c *Config) any             // the value in TOML form: string, int64, float64 or bool
}

// tables lists the known tables in file order.
func tables() []string {
	return []string{"capture", "display", "transport", "control", "security", "http", "log"}
}

// specs lists every key in file order. It is the one place a key is declared:
// Parse, Keys, Diff and the tests all read it.
func specs() []spec {
	return []spec{
		{key: "listen", kind: kindString,
			set: func(c *Config, v value) (msg string) { c.Listen, msg = parseListen(v.s); return msg },
			get: func(c *Config) any { return c.Listen.String() }},
		live(strKey("peer", checkPeer, func(c *Config) *string { return &c.Peer })),

		{key: "capture.source", kind: kindString,
			set: func(c *Config, v value) string { return parseSource(&c.Capture, v.s) },
			get: func(c *Config) any { return c.Capture.Source }},
		intKey("capture.width", 16, 7680, "", func(c *Config) *int { return &c.Capture.Width }),
		intKey("capture.height", 16, 4320, "", func(c *Config) *int { return &c.Capture.Height }),
		live(intKey("capture.fps", 1, 120, "", func(c *Config) *int { return &c.Capture.FPS })),
		live(intKey("capture.quality", 1, 100, "JPEG quality", func(c *Config) *int { return &c.Capture.Quality })),
		{key: "capture.codec", kind: kindString,
			set: func(c *Config, v value) string {
				codec, ok := packetizer.ParseCodec(v.s)
				if !ok {
					return `must be "h264" or "jpeg"`
				}
				c.Capture.Codec = codec
				return ""
			},
			get: func(c *Config) any { return c.Capture.Codec.String() }},
		{key: "capture.bitrate_mbps", kind: kindFloat,
			set: func(c *Config, v value) string {
				if !(v.f >= 0.1 && v.f <= 50) { // also rejects nan
					return "must be between 0.1 and 50 (megabits per second: the H.264 target and ceiling)"
				}
				c.Capture.BitrateMbps = v.f
				return ""
			},
			get: func(c *Config) any { return c.Capture.BitrateMbps }},

		{key: "display.sink", kind: kindString,
			set: func(c *Config, v value) string { return parseSink(&c.Display, v.s) },
			get: func(c *Config) any { return c.Display.Sink }},
		strKey("display.title", nil, func(c *Config) *string { return &c.Display.Title }),
		{key: "display.overlay", kind: kindBool,
			set: func(c *Config, v value) string { c.Display.Overlay = v.b; return "" },
			get: func(c *Config) any { return c.Display.Overlay }},

		intKey("transport.max_datagram", 576, 65507,
			"1200 suits the internet, up to 1472 an Ethernet LAN, more only with jumbo frames",
			func(c *Config) *int { return &c.Transport.MaxDatagram }),
		live(spec{key: "transport.max_delay_ms", kind: kindInt,
			set: func(c *Config, v value) string {
				if v.i < 1 || v.i > 10000 {
					return "must be between 1 and 10000 (milliseconds)"
				}
				c.Transport.MaxDelay = time.Duration(v.i) * time.Millisecond
				return ""
			},
			get: func(c *Config) any { return int64(c.Transport.MaxDelay / time.Millisecond) }}),
		live(spec{key: "transport.parity", kind: kindFloat,
			set: func(c *Config, v value) string {
				if !(v.f >= 0 && v.f <= 2) { // also rejects nan
					return "must be between 0 and 2 (0 turns FEC off)"
				}
				c.Transport.Parity = v.f
				return ""
			},
			get: func(c *Config) any { return c.Transport.Parity }}),
		live(spec{key: "transport.max_rate_mbps", kind: kindFloat,
			set: func(c *Config, v value) string {
				if !(v.f >= 0 && v.f <= 100000) { // also rejects nan
					return "must be between 0 and 100000 (megabits per second; 0 sends each frame at once)"
				}
				c.Transport.MaxRateMbps = v.f
				return ""
			},
			get: func(c *Config) any { return c.Transport.MaxRateMbps }}),
		live(spec{key: "transport.adaptive", kind: kindBool,
			set: func(c *Config, v value) string { c.Transport.Adaptive = v.b; return "" },
			get: func(c *Config) any { return c.Transport.Adaptive }}),
		live(floatKey("transport.min_bitrate_mbps", 0.05, 10000, "megabits per second",
			func(c *Config) *float64 { return &c.Transport.MinBitrateMbps })),
		live(floatKey("transport.max_bitrate_mbps", 0.05, 10000, "megabits per second",
			func(c *Config) *float64 { return &c.Transport.MaxBitrateMbps })),
		live(floatKey("transport.target_frame_loss", 0.000001, 0.1, "a probability: 0.001 is one frame in a thousand",
			func(c *Config) *float64 { return &c.Transport.TargetFrameLoss })),
		intKey("transport.max_frame_bytes", 65536, 67108864, "64 KiB to 64 MiB",
			func(c *Config) *int { return &c.Transport.MaxFrameBytes }),
		intKey("transport.realtime_priority", 0, 99, "the receive thread's SCHED_FIFO priority; 0: no thread of its own",
			func(c *Config) *int { return &c.Transport.RealtimePriority }),
		wordKey("transport.realtime_mode", "always", "auto", [2]string{"auto", "always"}, `must be "auto" (real-time only while the CPU is contended) or "always"`,
			func(c *Config) *bool { return &c.Transport.RealtimeAlways }),

		strKey("control.socket", checkSocket, func(c *Config) *string { return &c.Control.Socket }),

		strKey("security.key_file", checkPath, func(c *Config) *string { return &c.Security.KeyFile }),
		wordKey("security.encryption", "on", "off", [2]string{"on", "off"}, `must be "on" or "off"`,
			func(c *Config) *bool { return &c.Security.Encryption }),

		{key: "http.listen", kind: kindString,
			set: func(c *Config, v value) (msg string) { c.HTTP.Listen, msg = parseHTTPListen(v.s); return msg },
			get: func(c *Config) any {
				if !c.HTTP.Listen.IsValid() {
					return ""
				}
				return c.HTTP.Listen.String()
			}},
		{key: "http.allow_remote", kind: kindBool,
			set: func(c *Config, v value) string { c.HTTP.AllowRemote = v.b; return "" },
			get: func(c *Config) any { return c.HTTP.AllowRemote }},

		live(spec{key: "log.level", kind: kindString,
			set: func(c *Config, v value) (msg string) { c.Log.Level, msg = parseLevel(v.s); return msg },
			get: func(c *Config) any { return strings.ToLower(c.Log.Level.String()) }}),
	}
}

func live(s spec) spec {
	s.live = true
	return s
}

// wordKey is a key whose value is one of two words, yes (true) or no
// (false), listed in the messages in the order of order; msg says so when
// it is neither.
func wordKey(key, yes, no string, order [2]string, msg string, field func(*Config) *bool) spec {
	return spec{key: key, kind: kindString, typeMsg: fmt.Sprintf("must be %q or %q (a string)", order[0], order[1]),
		set: func(c *Config, v value) string {
			switch v.s {
			case yes:
				*field(c) = true
			case no:
				*field(c) = false
			default:
				return msg
			}
			return ""
		},
		get: func(c *Config) any {
			if *field(c) {
				return yes
			}
			return no
		}}
}

func intKey(key string, lo, hi int64, note string, field func(*Config) *int) spec {
	msg := fmt.Sprintf("must be between %d and %d", lo, hi)
	if note != "" {
		msg += " (" + note + ")"
	}
	return spec{key: key, kind: kindInt,
		set: func(c *Config, v value) string {
			if v.i < lo || v.i > hi {
				return msg
			}
			*field(c) = int(v.i)
			return ""
		},
		get: func(c *Config) any { return int64(*field(c)) }}
}

// floatKey is a float key within lo..hi; note says what the unit is.
func floatKey(key string, lo, hi float64, note string, field func(*Config) *float64) spec {
	msg := fmt.Sprintf("must be between %g and %g (%s)", lo, hi, note)
	return spec{key: key, kind: kindFloat,
		set: func(c *Config, v value) string {
			if !(v.f >= lo && v.f <= hi) { // also rejects nan
				return msg
			}
			*field(c) = v.f
			return ""
		},
		get: func(c *Config) any { return *field(c) }}
}

// strKey is a string key stored as written once check (if any) accepts it.
func strKey(key string, check func(string) string, field func(*Config) *string) spec {
	return spec{key: key, kind: kindString,
		set: func(c *Config, v value) string {
			if check != nil {
				if msg := check(v.s); msg != "" {
					return msg
				}
			}
			*field(c) = v.s
			return ""
		},
		get: func(c *Config) any { return *field(c) }}
}

// Keys returns every key config.toml can hold, dotted ("capture.fps"), in
// the order the documented file lists them.
func Keys() []string {
	var keys []string
	for _, s := range specs() {
		keys = append(keys, s.key)
	}
	return keys
}

// Live reports whether a reload applies key while running (peer, fps,
// quality, parity, max_delay_ms, max_rate_mbps, the adaptation's keys, log
// level). Other keys need
// a restart.
func Live(key string) bool {
	for _, s := range specs() {
		if s.key == key {
			return s.live
		}
	}
	return false
}

// Diff returns the keys whose values differ between a and b, in file order.
// A reload can use it with Live to tell what applies now and what waits for
// a restart.
func Diff(a, b *Config) []string {
	var changed []string
	for _, s := range specs() {
		if s.get(a) != s.get(b) {
			changed = append(changed, s.key)
		}
	}
	return changed
}

// MarshalTOML returns c as a config file setting every key, with relative
// paths already resolved; Parse gives c back from it. It makes toml.Marshal
// and toml.Encoder use this form too.
func (c *Config) MarshalTOML() ([]byte, error) {
	doc := map[string]any{}
	for _, s := range specs() {
		table, name := splitKey(s.key)
		if table == "" {
			doc[name] = s.get(c)
			continue
		}
		t, ok := doc[table].(map[string]any)
		if !ok {
			t = map[string]any{}
			doc[table] = t
		}
		t[name] = s.get(c)
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(doc); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return b.Bytes(), nil
}

// splitKey splits a dotted spec key into its table ("" at top level) and name.
func splitKey(key string) (table, name string) {
	if t, n, ok := strings.Cut(key, "."); ok {
		return t, n
	}
	return "", key
}
