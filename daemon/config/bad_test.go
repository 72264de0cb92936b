package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// peerLine is prepended by withPeer so a case is about one problem only.
const peerLine = `peer = "192.0.2.10:5600"` + "\n"

func withPeer(s string) string { return peerLine + s }

type badCase struct {
	name string
	in   string
	want []string // each must appear in the error text
}

// badConfigs is the table of rejected files, shared with FuzzParse's seeds.
func badConfigs() []badCase {
	cases := []badCase{
		// Unknown keys and tables, with their lines.
		{"unknown top-level key", withPeer(`lisen = "0.0.0.0:5600"`),
			[]string{`config.toml:2: unknown key "lisen"`, `did you mean "listen"`}},
		{"unknown key in table", withPeer("[capture]\nfps = 30\nfsp = 30\n"),
			[]string{`config.toml:4: unknown key "fsp" in [capture]`, `did you mean "fps"`}},
		{"key in the wrong table", withPeer("[display]\nquality = 50\n"),
			[]string{`config.toml:3: unknown key "quality" in [display]`, "belongs in [capture]"}},
		{"top-level key after a table", "[capture]\nfps = 30\npeer = \"192.0.2.10:5600\"\n",
			[]string{`config.toml:3: unknown key "peer" in [capture]`, "belongs at the top"}},
		{"unknown table", withPeer("[video]\nfps = 30\n"),
			[]string{"config.toml:2: unknown table [video]", "the tables are [capture]"}},
		{"misspelt table", withPeer("[captur]\nfps = 30\n"),
			[]string{"config.toml:2: unknown table [captur]", "did you mean [capture]"}},
		{"unknown sub-table", withPeer("[capture.extra]\nx = 1\n"),
			[]string{"config.toml:2: unknown table [capture.extra]", "[capture] has no sub-tables"}},
		{"every unknown key reported", withPeer("colour = 1\n[log]\nlevel = \"info\"\nfile = \"x\"\n[security]\nkey = \"x\"\n"),
			[]string{`config.toml:2: unknown key "colour"`, `config.toml:5: unknown key "file" in [log]`,
				`config.toml:7: unknown key "key" in [security]`}},
		{"unknown key in inline table", withPeer("capture = { fps = 30, fsp = 1 }\n"),
			[]string{`config.toml:2: unknown key "fsp" in [capture]`}},

		// Wrong types.
		{"fps a string", withPeer("[capture]\nfps = \"30\"\n"),
			[]string{`config.toml:3: [capture] fps = "30": must be an integer`}},
		{"fps a float", withPeer("[capture]\nfps = 30.0\n"),
			[]string{`[capture] fps = 30: must be an integer`}},
		{"parity a string", withPeer("[transport]\nparity = \"0.5\"\n"),
			[]string{`config.toml:3: [transport] parity = "0.5": must be a number`}},
		{"bitrate bounds crossed", withPeer("[transport]\nmin_bitrate_mbps = 20\nmax_bitrate_mbps = 10\n"),
			[]string{`config.toml:3: [transport] min_bitrate_mbps = 20: is above max_bitrate_mbps (10)`}},
		{"adaptive a string", withPeer("[transport]\nadaptive = \"yes\"\n"),
			[]string{`[transport] adaptive = "yes": must be true or false`}},
		{"overlay a string", withPeer("[display]\noverlay = \"yes\"\n"),
			[]string{`[display] overlay = "yes": must be true or false`}},
		{"listen a number", withPeer("listen = 5600\n"),
			[]string{`config.toml:2: listen = 5600: must be a string`}},
		{"encryption a boolean", withPeer("[security]\nencryption = false\n"),
			[]string{`[security] encryption = false: must be "on" or "off"`}},
		{"table as a value", withPeer("capture = 5\n"),
			[]string{`config.toml:2: capture = 5: must be a table`}},
		{"table as an array of tables", withPeer("[[capture]]\nfps = 30\n"),
			[]string{`capture = [...]: must be a table`}},
		{"key as a table", withPeer("[capture.fps]\nx = 1\n"),
			[]string{`config.toml:2: [capture] fps = {...}: must be an integer`}},

		// Addresses.
		{"listen without port", withPeer(`listen = "0.0.0.0"`), []string{`listen = "0.0.0.0": missing port in address`}},
		{"listen port 0", withPeer(`listen = "0.0.0.0:0"`), []string{`listen = "0.0.0.0:0": port "0" must be a number between 1 and 65535`}},
		{"listen port too big", withPeer(`listen = "0.0.0.0:65536"`), []string{`port "65536" must be a number between 1 and 65535`}},
		{"listen host name", withPeer(`listen = "localhost:5600"`), []string{`listen = "localhost:5600": "localhost" is not an IP address`}},
		{"listen without address", withPeer(`listen = ":5600"`), []string{`listen = ":5600": the address is missing`, `"[::]:5600"`}},
		{"listen IPv6 without brackets", withPeer(`listen = "::1:5600"`), []string{`listen = "::1:5600": too many colons`}},
		{"peer missing", "listen = \"0.0.0.0:5600\"\n", []string{"config.toml: peer: missing", `peer = "192.0.2.10:5600"`}},
		{"peer without port", `peer = "192.0.2.10"`, []string{`config.toml:1: peer = "192.0.2.10": missing port in address`}},
		{"peer port 0", `peer = "192.0.2.10:0"`, []string{`peer = "192.0.2.10:0": port "0" must be`}},
		{"peer named port", `peer = "example.com:http"`, []string{`peer = "example.com:http": port "http" must be a number`}},
		{"peer bad host", `peer = "bad host!:5600"`, []string{`peer = "bad host!:5600": host "bad host!" is neither an IP address nor a valid host name`}},
		{"peer bad IPv4", `peer = "192.0.2.300:5600"`, []string{`host "192.0.2.300" is not a valid IP address`}},
		{"peer unspecified", `peer = "0.0.0.0:5600"`, []string{`peer = "0.0.0.0:5600": 0.0.0.0 is not an endpoint's address`}},
		{"peer empty", `peer = ""`, []string{`peer = "": missing port in address`}},
		{"peer a number", `peer = 5600`, []string{`peer = 5600: must be a string`}},

		{"http listen remote", withPeer("[http]\nlisten = \"0.0.0.0:9469\"\n"),
			[]string{`config.toml:3: [http] listen = "0.0.0.0:9469": 0.0.0.0 is not a loopback address`, "allow_remote = true"}},
		{"http listen remote IPv6", withPeer("[http]\nallow_remote = false\nlisten = \"[2001:db8::1]:80\"\n"),
			[]string{`config.toml:4: [http] listen = "[2001:db8::1]:80": 2001:db8::1 is not a loopback address`}},
		{"http listen host name", withPeer("[http]\nlisten = \"localhost:9469\"\n"),
			[]string{`[http] listen = "localhost:9469": "localhost" is not an IP address`, `"127.0.0.1:9469"`}},
		{"http listen without port", withPeer("[http]\nlisten = \"127.0.0.1\"\n"),
			[]string{`[http] listen = "127.0.0.1": missing port in address`}},
		{"http listen port 0", withPeer("[http]\nlisten = \"127.0.0.1:0\"\n"),
			[]string{`[http] listen = "127.0.0.1:0": port "0" must be a number between 1 and 65535`}},
		{"http allow_remote a string", withPeer("[http]\nallow_remote = \"yes\"\n"),
			[]string{`[http] allow_remote = "yes": must be true or false`}},

		// Sources and sinks.
		{"source unknown", withPeer("[capture]\nsource = \"webcam\"\n"),
			[]string{`config.toml:3: [capture] source = "webcam": must be "camera:N", "camera:/dev/videoN", "file:PATH", "jpegs:DIR", "pattern" or "none"`}},
		{"source empty", withPeer("[capture]\nsource = \"\"\n"), []string{`[capture] source = "": must be "camera:N"`}},
		{"camera without device", withPeer("[capture]\nsource = \"camera:\"\n"), []string{`source = "camera:": "camera:" needs a camera number`}},
		{"camera negative", withPeer("[capture]\nsource = \"camera:-1\"\n"), []string{`source = "camera:-1": "camera:" needs a camera number`}},
		{"camera relative path", withPeer("[capture]\nsource = \"camera:video0\"\n"), []string{`source = "camera:video0": "camera:" needs`}},
		{"camera path outside /dev", withPeer("[capture]\nsource = \"camera:/dev/../etc/passwd\"\n"), []string{`"camera:" needs a camera number (0, 1, ...) or an absolute /dev/ path`}},
		{"file without path", withPeer("[capture]\nsource = \"file:\"\n"), []string{`source = "file:": "file:" needs a path`}},
		{"file with tilde", withPeer("[capture]\nsource = \"file:~/clip.mjpeg\"\n"), []string{`source = "file:~/clip.mjpeg": ~ is not expanded`}},
		{"jpegs without directory", withPeer("[capture]\nsource = \"jpegs:\"\n"), []string{`source = "jpegs:": "jpegs:" needs a path, e.g. "jpegs:/var/lib/vstreamd/recording"`}},
		{"jpegs directory missing", withPeer("[capture]\nsource = \"jpegs:/nonexistent/vstreamd-jpegs\"\n"),
			[]string{`config.toml:3: [capture] source = "jpegs:/nonexistent/vstreamd-jpegs": the directory /nonexistent/vstreamd-jpegs does not exist: "jpegs:DIR" needs a directory holding only *.jpg or *.jpeg files`}},
		{"pattern with argument", withPeer("[capture]\nsource = \"pattern:bars\"\n"), []string{`source = "pattern:bars": must be "camera:N"`}},
		{"camera without colon", withPeer("[capture]\nsource = \"camera\"\n"), []string{`source = "camera": must be "camera:N"`}},
		{"none with colon", withPeer("[capture]\nsource = \"none:\"\n"), []string{`source = "none:": must be "camera:N"`}},
		{"kind in capitals", withPeer("[capture]\nsource = \"Pattern\"\n"), []string{`source = "Pattern": must be "camera:N"`}},
		{"sink unknown", withPeer("[display]\nsink = \"screen\"\n"),
			[]string{`config.toml:3: [display] sink = "screen": must be "window", "record:PATH", "null", "discard" or "none"`}},
		{"record without path", withPeer("[display]\nsink = \"record:\"\n"), []string{`sink = "record:": "record:" needs a path`}},
		{"record without colon", withPeer("[display]\nsink = \"record\"\n"), []string{`sink = "record": must be "window"`}},
		{"window with argument", withPeer("[display]\nsink = \"window:big\"\n"), []string{`sink = "window:big": must be "window"`}},
		{"null with colon", withPeer("[display]\nsink = \"null:\"\n"), []string{`sink = "null:": must be "window"`}},
		{"source and sink none", withPeer("[capture]\nsource = \"none\"\n[display]\nsink = \"none\"\n"),
			[]string{`config.toml:5: [display] sink = "none": [capture] source is "none" too`, "neither send nor receive"}},

		// Other strings.
		{"encryption maybe", withPeer("[security]\nencryption = \"maybe\"\n"), []string{`[security] encryption = "maybe": must be "on" or "off"`}},
		{"realtime_mode never", withPeer("[transport]\nrealtime_mode = \"never\"\n"),
			[]string{`config.toml:3: [transport] realtime_mode = "never": must be "auto" (real-time only while the CPU is contended) or "always"`}},
		{"realtime_mode always without a priority", withPeer("[transport]\nrealtime_priority = 0\nrealtime_mode = \"always\"\n"),
			[]string{`config.toml:4: [transport] realtime_mode = "always": needs a real-time priority, but realtime_priority = 0`, `realtime_mode = "auto"`}},
		{"realtime_mode a boolean", withPeer("[transport]\nrealtime_mode = true\n"), []string{`[transport] realtime_mode = true: must be "auto" or "always" (a string)`}},
		{"encryption without key", withPeer("[security]\nkey_file = \"\"\n"),
			[]string{`config.toml:3: [security] key_file = "": encryption is on but no key file is set`, "vstreamd genkey", `encryption = "off"`}},
		{"log level unknown", withPeer("[log]\nlevel = \"verbose\"\n"), []string{`[log] level = "verbose": must be "debug", "info", "warn" or "error"`}},
		{"socket empty", withPeer("[control]\nsocket = \"\"\n"), []string{`[control] socket = "": must be the path of the control socket`}},
		{"socket too long", withPeer("[control]\nsocket = \"/run/" + strings.Repeat("x", 110) + "\"\n"),
			[]string{`[control] socket = "/run/xxx`, "is 115 bytes long; a unix socket path can be at most 107"}},
		{"key file with NUL", withPeer("[security]\nkey_file = \"a\\u0000b\"\n"), []string{`[security] key_file = "a\x00b": a path can not contain a NUL byte`}},

		// Syntax errors name the line.
		{"unclosed table header", withPeer("[capture\nfps = 30\n"), []string{"config.toml:2:", "syntax error"}},
		{"missing value", withPeer("[capture]\nfps =\n"), []string{"config.toml:3:", "syntax error"}},
		{"duplicate key", withPeer("[capture]\nfps = 30\nfps = 25\n"), []string{"config.toml:4:", "syntax error", "already been defined"}},
		{"unterminated string", withPeer("[display]\ntitle = \"abc\n"), []string{"config.toml:3:", "syntax error"}},
		{"bare string", withPeer("[display]\nsink = window\n"), []string{"config.toml:3:", "syntax error"}},
		{"unknown codec", withPeer("[capture]\ncodec = \"vp8\"\n"), []string{`config.toml:3: [capture] codec = "vp8": must be "h264" or "jpeg"`}},
		{"odd width with h264", withPeer("[capture]\nwidth = 641\nheight = 479\n"), []string{
			`config.toml:3: [capture] width = 641: must be even with codec = "h264"`,
			`config.toml:4: [capture] height = 479: must be even with codec = "h264"`}},
	}
	ranges := []struct {
		table, key string
		lo, hi     string // the first invalid values below and above the range
		msg        string
	}{
		{"capture", "width", "15", "7681", "must be between 16 and 7680"},
		{"capture", "height", "15", "4321", "must be between 16 and 4320"},
		{"capture", "fps", "0", "121", "must be between 1 and 120"},
		{"capture", "quality", "0", "101", "must be between 1 and 100 (JPEG quality)"},
		{"capture", "bitrate_mbps", "0.09", "50.1", "must be between 0.1 and 50 (megabits per second: the H.264 target and ceiling)"},
		{"capture", "bitrate_mbps", "nan", "inf", "must be between 0.1 and 50"},
		{"transport", "max_datagram", "575", "65508", "must be between 576 and 65507"},
		{"transport", "max_delay_ms", "0", "10001", "must be between 1 and 10000 (milliseconds)"},
		{"transport", "parity", "-0.01", "2.01", "must be between 0 and 2 (0 turns FEC off)"},
		{"transport", "parity", "nan", "inf", "must be between 0 and 2"},
		{"transport", "max_frame_bytes", "65535", "67108865", "must be between 65536 and 67108864"},
		{"transport", "realtime_priority", "-1", "100", "must be between 0 and 99"},
		{"transport", "max_rate_mbps", "-1", "100001", "must be between 0 and 100000"},
		{"transport", "min_bitrate_mbps", "0.01", "10001", "must be between 0.05 and 10000 (megabits per second)"},
		{"transport", "max_bitrate_mbps", "0", "nan", "must be between 0.05 and 10000 (megabits per second)"},
		{"transport", "target_frame_loss", "0", "0.5", "must be between 1e-06 and 0.1 (a probability: 0.001 is one frame in a thousand)"},
		{"capture", "fps", "-9223372036854775808", "9223372036854775807", "must be between 1 and 120"},
	}
	for _, r := range ranges {
		for _, v := range []string{r.lo, r.hi} {
			cases = append(cases, badCase{
				name: r.key + "=" + v,
				in:   withPeer(fmt.Sprintf("[%s]\n%s = %s\n", r.table, r.key, v)),
				want: []string{fmt.Sprintf("config.toml:3: [%s] %s = %s: %s", r.table, r.key, v, r.msg)},
			})
		}
	}
	return cases
}

func TestParseRejects(t *testing.T) {
	for _, tc := range badConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in), "config.toml")
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tc.in, c)
			}
			if c != nil {
				t.Errorf("Parse(%q) returned a config with its error", tc.in)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) error =\n%s\nwant it to mention %q", tc.in, err, w)
				}
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) error %q does not match ErrInvalid", tc.in, err)
			}
		})
	}
}

// TestParseReportsEverything checks that all problems come back at once,
// one per line, sorted by line, each an *Error.
func TestParseReportsEverything(t *testing.T) {
	in := `listen = "localhost"
[capture]
fps = 500
quality = "high"
[transport]
parity = 5
[typo]
`
	_, err := Parse([]byte(in), "vs.toml")
	if err == nil {
		t.Fatal("Parse accepted a file with five problems")
	}
	want := []string{
		`vs.toml:1: listen = "localhost": missing port in address`,
		`vs.toml:3: [capture] fps = 500: must be between 1 and 120`,
		`vs.toml:4: [capture] quality = "high": must be an integer`,
		`vs.toml:6: [transport] parity = 5: must be between 0 and 2 (0 turns FEC off)`,
		`vs.toml:7: unknown table [typo]`,
		`vs.toml: peer: missing`,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Parse error has %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error line %d = %q, want it to start with %q", i+1, lines[i], w)
		}
	}
	probs := Problems(err)
	if len(probs) != len(want) {
		t.Fatalf("Problems returned %d errors, want %d", len(probs), len(want))
	}
	if p := probs[2]; p.Key != "capture.quality" || p.Line != 4 || p.Value != `"high"` {
		t.Errorf("Problems()[2] = %+v, want key capture.quality, line 4, value \"high\"", *p)
	}
	var e *Error
	if !errors.As(err, &e) || e.Line != 1 {
		t.Errorf("errors.As(err, *Error) = %v, want the first problem (line 1)", e)
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := Parse([]byte("peer = \"192.0.2.10:5600\"\n\n[capture]\nfps = = 3\n"), "x.toml")
	probs := Problems(err)
	if len(probs) != 1 {
		t.Fatalf("Problems(%v) = %d errors, want 1", err, len(probs))
	}
	if p := probs[0]; p.Line != 4 || p.Col == 0 || p.Key != "" {
		t.Errorf("syntax error = %+v, want line 4, a column and no key", *p)
	}
}
