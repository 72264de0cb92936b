package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vstreamd/vstreamd/daemon/media"
)

// maxSocketPath is the longest unix socket path: sun_path holds 108 bytes
// including the terminating NUL.
const maxSocketPath = 107

// errBadPort marks a port out of range: the message says all there is to say.
var errBadPort = errors.New("bad port")

// splitHostPort splits "host:port" and checks the port is 1..65535.
func splitHostPort(s string) (string, uint16, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", 0, errors.New(ae.Err)
		}
		return "", 0, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("%w: port %q must be a number between 1 and 65535", errBadPort, port)
	}
	return host, uint16(n), nil
}

// parseListen parses the listen key: an IP literal and a port.
func parseListen(s string) (netip.AddrPort, string) {
	const want = `must be a local IP address and port, e.g. "0.0.0.0:5600" (IPv4) or "[::]:5600" (IPv6)`
	host, port, err := splitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, withHint(err, want)
	}
	if host == "" {
		return netip.AddrPort{}, "the address is missing: " + want
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Sprintf("%q is not an IP address (listen takes no host names): %s", host, want)
	}
	return netip.AddrPortFrom(ip, port), ""
}

// withHint is err's message, followed by what would be valid unless err
// is only about the port.
func withHint(err error, want string) string {
	if errors.Is(err, errBadPort) {
		return strings.TrimPrefix(err.Error(), errBadPort.Error()+": ")
	}
	return err.Error() + ": " + want
}

// parseHTTPListen parses [http] listen: "" (off), or an IP literal and a
// port.
func parseHTTPListen(s string) (netip.AddrPort, string) {
	const want = `must be "" (off) or a local IP address and TCP port, e.g. "127.0.0.1:9469"`
	if s == "" {
		return netip.AddrPort{}, ""
	}
	host, port, err := splitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, withHint(err, want)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Sprintf("%q is not an IP address (listen takes no host names): %s", host, want)
	}
	return netip.AddrPortFrom(ip, port), ""
}

// checkPeer checks the peer key: an IP literal or DNS name, and a port.
func checkPeer(s string) string {
	const want = `must be the other endpoint's HOST:PORT, e.g. "192.0.2.10:5600", "[2001:db8::10]:5600" or "peer.example.com:5600"`
	host, _, err := splitHostPort(s)
	if err != nil {
		return withHint(err, want)
	}
	if host == "" {
		return "the host is missing: " + want
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.IsUnspecified() || ip.IsMulticast() {
			return fmt.Sprintf("%s is not an endpoint's address: %s", host, want)
		}
		return ""
	}
	if msg := checkHostname(host); msg != "" {
		return msg + ": " + want
	}
	return ""
}

// checkHostname checks a DNS name (RFC 1123 labels; "_" tolerated).
func checkHostname(h string) string {
	name := strings.TrimSuffix(h, ".")
	if len(name) == 0 || len(name) > 253 {
		return fmt.Sprintf("host %q is not a valid host name", h)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Sprintf("host %q is not a valid host name", h)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Sprintf("host %q is neither an IP address nor a valid host name", h)
			}
		}
	}
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return fmt.Sprintf("host %q is not a valid IP address", h)
	}
	return ""
}

// parseSource parses [capture] source into c: a kind's name, and for the
// kinds that need one, a colon and an argument.
func parseSource(c *Capture, s string) string {
	const want = `must be "camera:N", "camera:/dev/videoN", "file:PATH", "jpegs:DIR", "pattern" or "none"`
	name, arg, colon := strings.Cut(s, ":")
	kind, ok := media.ParseSourceKind(name)
	// camera, file and jpegs take an argument after a colon, the others none.
	if !ok || colon != (kind == media.SourceCamera || kind == media.SourceFile || kind == media.SourceJPEGs) {
		return want
	}
	src := *c // the other keys of the table stay
	src.Source, src.Kind, src.Device, src.Path = s, kind, "", ""
	switch kind {
	case media.SourceCamera:
		if !isCameraIndex(arg) && !isDevPath(arg) {
			return `"camera:" needs a camera number (0, 1, ...) or an absolute /dev/ path, e.g. "camera:0" or "camera:/dev/video0"`
		}
		src.Device = arg
	case media.SourceFile:
		if msg := pathArg(name, arg, "file:/srv/vstreamd/clip.mjpeg"); msg != "" {
			return msg
		}
		src.Path = arg
	case media.SourceJPEGs:
		if msg := pathArg(name, arg, "jpegs:/var/lib/vstreamd/recording"); msg != "" {
			return msg
		}
		src.Path = arg // checkJPEGs looks into it once relative paths are resolved
	}
	*c = src
	return ""
}

func isCameraIndex(s string) bool {
	if len(s) == 0 || len(s) > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isDevPath(s string) bool {
	return strings.HasPrefix(s, "/dev/") && len(s) > len("/dev/") && filepath.Clean(s) == s
}

// parseSink parses [display] sink into d: a kind's name, and for record a
// colon and a path.
func parseSink(d *Display, s string) string {
	name, arg, colon := strings.Cut(s, ":")
	kind, ok := media.ParseSinkKind(name)
	// record takes a path after a colon, the others nothing.
	if !ok || colon != (kind == media.SinkRecord) {
		return `must be "window", "record:PATH", "null", "discard" or "none"`
	}
	sink := Display{Sink: s, Kind: kind, Title: d.Title, Overlay: d.Overlay}
	if kind == media.SinkRecord {
		if msg := pathArg(name, arg, "record:/var/lib/vstreamd/call.mjpeg"); msg != "" {
			return msg
		}
		sink.Path = arg
	}
	*d = sink
	return ""
}

// pathArg checks the path after "kind:" in a source or sink; example is a
// whole valid value.
func pathArg(kind, path, example string) string {
	if path == "" {
		return fmt.Sprintf("%q needs a path, e.g. %q", kind+":", example)
	}
	return checkPath(path)
}

// checkPath rejects paths the system could not open as meant. An empty path
// is left to the caller.
func checkPath(p string) string {
	switch {
	case strings.ContainsRune(p, 0):
		return "a path can not contain a NUL byte"
	case strings.HasPrefix(p, "~"):
		return "~ is not expanded here: write the full path, e.g. /home/NAME/..."
	}
	return ""
}

// checkSocket checks [control] socket.
func checkSocket(p string) string {
	if p == "" {
		return `must be the path of the control socket, e.g. "/run/vstreamd/vstreamd.sock"`
	}
	if msg := checkPath(p); msg != "" {
		return msg
	}
	if len(p) > maxSocketPath {
		return fmt.Sprintf("is %d bytes long; a unix socket path can be at most %d", len(p), maxSocketPath)
	}
	return ""
}

// parseLevel parses [log] level.
func parseLevel(s string) (slog.Level, string) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, ""
	case "info":
		return slog.LevelInfo, ""
	case "warn", "warning":
		return slog.LevelWarn, ""
	case "error":
		return slog.LevelError, ""
	}
	return slog.LevelInfo, `must be "debug", "info", "warn" or "error"`
}
