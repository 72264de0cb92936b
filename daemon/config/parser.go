package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// parser checks one decoded file against specs and collects every problem.
type parser struct {
	file  string
	raw   map[string]any
	md    toml.MetaData
	lines map[string]int
	errs  []*Error
	bad   map[string]bool // keys already reported, so cross-checks skip them
}

// add records a problem with key; v is the value as decoded, or nil.
func (p *parser) add(key string, v any, msg string) {
	e := &Error{File: p.file, Line: p.line(key), Key: key, Msg: msg}
	if v != nil {
		e.Value = formatValue(v)
	}
	p.errs = append(p.errs, e)
	if p.bad == nil {
		p.bad = make(map[string]bool)
	}
	p.bad[key] = true
}

// err joins the problems found, sorted by line; those without a line last.
func (p *parser) err() error {
	slices.SortStableFunc(p.errs, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line - a.Line // the one with a line first
		}
		return a.Line - b.Line
	})
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// line returns the line of key (dotted, as in specs) or of the closest
// enclosing table that has one, or 0.
func (p *parser) line(key string) int {
	table, name := splitKey(key)
	if table == "" {
		return lineOf(p.lines, []string{name})
	}
	return lineOf(p.lines, []string{table, name})
}

// unknownKeys reports keys and tables the schema does not have, in the
// order they appear, and known tables whose value is not a table.
func (p *parser) unknownKeys() {
	known := map[string]bool{}
	for _, s := range specs() {
		known[s.key] = true
	}
	isTable := func(t string) bool { return slices.Contains(tables(), t) }
	for _, k := range p.md.Keys() {
		switch {
		case len(k) == 1 && isTable(k[0]):
			if _, ok := p.raw[k[0]].(map[string]any); !ok {
				p.add(k[0], p.raw[k[0]], "must be a table, written ["+k[0]+"] on a line of its own")
			}
		case len(k) == 1 && !known[k[0]]:
			p.unknown(k, p.md.Type(k...))
		case len(k) == 2 && isTable(k[0]) && !known[k[0]+"."+k[1]]:
			p.unknown(k, p.md.Type(k...))
		}
		// Deeper keys sit under a key or table already reported, or under
		// a known key whose type check reports them (capture.fps.x = 1).
	}
}

func (p *parser) unknown(k toml.Key, tomlType string) {
	name := k[len(k)-1]
	table := ""
	if len(k) == 2 {
		table = k[0]
	}
	e := &Error{File: p.file, Line: lineOf(p.lines, k)}
	switch {
	case tomlType == "Hash" || tomlType == "ArrayHash":
		e.Msg = "unknown table [" + strings.Join(quoteKeys(k), ".") + "]" + suggestTable(table, name)
	case table == "":
		e.Msg = "unknown key " + strconv.Quote(name) + suggestKey(table, name)
	default:
		e.Msg = "unknown key " + strconv.Quote(name) + " in [" + table + "]" + suggestKey(table, name)
	}
	p.errs = append(p.errs, e)
}

func quoteKeys(k toml.Key) []string {
	out := make([]string, len(k))
	for i, piece := range k {
		out[i] = quoteKey(piece)
	}
	return out
}

// apply type-checks, validates and stores every key the file sets.
func (p *parser) apply(c *Config) {
	for _, s := range specs() {
		table, name := splitKey(s.key)
		m := p.raw
		if table != "" {
			t, ok := p.raw[table].(map[string]any)
			if !ok {
				continue // missing, or reported by unknownKeys
			}
			m = t
		}
		raw, ok := m[name]
		if !ok {
			continue
		}
		v, ok := convert(s.kind, raw)
		if !ok {
			msg := s.typeMsg
			if msg == "" {
				msg = "must be " + kindName(s.kind)
			}
			p.add(s.key, raw, msg)
			continue
		}
		if msg := s.set(c, v); msg != "" {
			p.add(s.key, raw, msg)
		}
	}
}

// convert checks that raw, a decoded TOML value, has kind k.
func convert(k kind, raw any) (value, bool) {
	switch x := raw.(type) {
	case string:
		return value{s: x}, k == kindString
	case int64:
		if k == kindFloat {
			return value{f: float64(x)}, true
		}
		return value{i: x}, k == kindInt
	case float64:
		return value{f: x}, k == kindFloat
	case bool:
		return value{b: x}, k == kindBool
	}
	return value{}, false
}

func kindName(k kind) string {
	switch k {
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindBool:
		return "true or false"
	}
	return "a string"
}

// crossCheck reports problems that involve more than one key.
func (p *parser) crossCheck(c *Config) {
	if !p.md.IsDefined("peer") {
		p.add("peer", nil, `missing: set it to the other endpoint's address, e.g. peer = "192.0.2.10:5600"`)
	}
	if c.Capture.Kind == media.SourceNone && c.Display.Kind == media.SinkNone &&
		!p.bad["capture.source"] && !p.bad["display.sink"] {
		p.add("display.sink", c.Display.Sink,
			`[capture] source is "none" too: this endpoint would neither send nor receive; set one of them`)
	}
	if n := len(c.Control.Socket); n > maxSocketPath && !p.bad["control.socket"] {
		p.add("control.socket", c.Control.Socket, fmt.Sprintf(
			"is %d bytes long once made absolute; a unix socket path can be at most %d", n, maxSocketPath))
	}
	if a := c.HTTP.Listen.Addr(); c.HTTP.Listen.IsValid() && !a.IsLoopback() && !c.HTTP.AllowRemote && !p.bad["http.listen"] {
		p.add("http.listen", c.HTTP.Listen.String(), fmt.Sprintf(
			"%s is not a loopback address, and the page shows the call's video to whoever reaches it: "+
				"use 127.0.0.1 or [::1] (and an SSH tunnel), or set allow_remote = true in [http] to serve other hosts", a))
	}
	if c.Transport.MinBitrateMbps > c.Transport.MaxBitrateMbps && !p.bad["transport.min_bitrate_mbps"] && !p.bad["transport.max_bitrate_mbps"] {
		p.add("transport.min_bitrate_mbps", c.Transport.MinBitrateMbps, fmt.Sprintf(
			"is above max_bitrate_mbps (%g): the adaptation would have no room; lower it or raise max_bitrate_mbps", c.Transport.MaxBitrateMbps))
	}
	if c.Capture.Kind == media.SourceJPEGs && !p.bad["capture.source"] {
		p.checkJPEGs(c)
	}
	if c.Capture.Codec == packetizer.CodecH264 && c.Capture.Kind != media.SourceNone && !p.bad["capture.codec"] {
		for _, k := range []struct {
			key string
			v   int
		}{{"capture.width", c.Capture.Width}, {"capture.height", c.Capture.Height}} {
			if k.v%2 != 0 && !p.bad[k.key] {
				p.add(k.key, k.v, `must be even with codec = "h264" (its 4:2:0 colour halves both sizes); use an even size, or codec = "jpeg"`)
			}
		}
	}
	if c.Transport.RealtimeAlways && c.Transport.RealtimePriority == 0 && !p.bad["transport.realtime_mode"] && !p.bad["transport.realtime_priority"] {
		p.add("transport.realtime_mode", "always",
			`needs a real-time priority, but realtime_priority = 0 gives the receive loop no thread of its own: set realtime_priority to 1..99, or realtime_mode = "auto"`)
	}
	if c.Security.Encryption && c.Security.KeyFile == "" && !p.bad["security.key_file"] && !p.bad["security.encryption"] {
		p.add("security.key_file", c.Security.KeyFile,
			`encryption is on but no key file is set: run "vstreamd genkey" to make a key and name it here, or set encryption = "off" to send unencrypted`)
	}
}

// suggestKey says where an unknown key named name, found in table ("" for
// the top level), probably belongs, or returns "".
func suggestKey(table, name string) string {
	for _, s := range specs() {
		t, n := splitKey(s.key)
		if n != name || t == table {
			continue
		}
		if t == "" {
			return " (" + name + " belongs at the top of the file, before the first [table])"
		}
		return " (" + name + " belongs in [" + t + "])"
	}
	for _, s := range specs() {
		if t, n := splitKey(s.key); t == table && similar(name, n) {
			return ` (did you mean "` + n + `"?)`
		}
	}
	return ""
}

func suggestTable(parent, name string) string {
	if parent != "" {
		return " ([" + parent + "] has no sub-tables)"
	}
	for _, t := range tables() {
		if similar(name, t) {
			return " (did you mean [" + t + "]?)"
		}
	}
	return " (the tables are [" + strings.Join(tables(), "], [") + "])"
}

// similar reports whether a is probably a misspelling of b: one edit away for
// short names, two for longer ones.
func similar(a, b string) bool {
	limit := 2
	if len(b) <= 4 {
		limit = 1
	}
	return editDistance(a, b) <= limit
}

// editDistance is the optimal string alignment distance between a and b
// (Levenshtein with adjacent transpositions counted as one edit). Inputs
// longer than 64 bytes are simply "far".
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
