package config

import (
	"strconv"
	"strings"
)

// The TOML library knows where each key is but does not export it, so
// keyLines finds the lines itself. It runs only on a document the library
// has already parsed, so it need not diagnose anything: it follows table
// headers, dotted keys, strings (all four kinds) and multi-line arrays well
// enough that a "key =" inside a string or array is never taken for a key,
// and stops quietly on anything it does not follow.

// keyLines maps each key and table header in a TOML document (joined with
// joinKey) to the 1-based line where it first appears.
func keyLines(data []byte) map[string]int {
	s := &lineScanner{b: data, line: 1, lines: make(map[string]int)}
	s.run()
	return s.lines
}

// lineOf returns the line of key, or of its closest parent that has one,
// or 0. Keys inside an inline table take the line of the table.
func lineOf(lines map[string]int, key []string) int {
	for n := len(key); n > 0; n-- {
		if l, ok := lines[joinKey(key[:n])]; ok {
			return l
		}
	}
	return 0
}

func joinKey(k []string) string { return strings.Join(k, "\x00") }

type lineScanner struct {
	b     []byte
	i     int
	line  int
	table []string
	lines map[string]int
}

func (s *lineScanner) peek(off int) byte {
	if s.i+off < len(s.b) {
		return s.b[s.i+off]
	}
	return 0
}

func (s *lineScanner) record(k []string) {
	for n := 1; n <= len(k); n++ {
		j := joinKey(k[:n])
		if _, ok := s.lines[j]; !ok {
			s.lines[j] = s.line
		}
	}
}

func (s *lineScanner) run() {
	for {
		s.skipBlank()
		if s.i >= len(s.b) {
			return
		}
		if s.b[s.i] == '[' {
			s.i++
			array := s.peek(0) == '['
			if array {
				s.i++
			}
			key, ok := s.key()
			if !ok || s.peek(0) != ']' {
				return
			}
			s.i++
			if array {
				s.i++
			}
			s.table = key
			s.record(key)
			continue
		}
		key, ok := s.key()
		if !ok || s.peek(0) != '=' {
			return
		}
		s.i++
		s.record(append(append([]string(nil), s.table...), key...))
		s.skipValue()
	}
}

// skipBlank skips whitespace, newlines and comments.
func (s *lineScanner) skipBlank() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\n':
			s.line++
		case ' ', '\t', '\r':
		case '#':
			s.skipComment()
			continue
		default:
			return
		}
		s.i++
	}
}

func (s *lineScanner) skipComment() {
	for s.i < len(s.b) && s.b[s.i] != '\n' {
		s.i++
	}
}

func (s *lineScanner) skipSpace() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t') {
		s.i++
	}
}

// key reads a possibly dotted, possibly quoted key and the blanks after it.
func (s *lineScanner) key() ([]string, bool) {
	var parts []string
	for {
		s.skipSpace()
		var part string
		switch c := s.peek(0); {
		case c == '"':
			raw, ok := s.quoted('"')
			if !ok {
				return nil, false
			}
			part = raw
			if u, err := strconv.Unquote(`"` + raw + `"`); err == nil {
				part = u
			}
		case c == '\'':
			raw, ok := s.quoted('\'')
			if !ok {
				return nil, false
			}
			part = raw
		default:
			start := s.i
			for s.i < len(s.b) && isBareKeyRune(rune(s.b[s.i])) {
				s.i++
			}
			if s.i == start {
				return nil, false
			}
			part = string(s.b[start:s.i])
		}
		parts = append(parts, part)
		s.skipSpace()
		if s.peek(0) != '.' {
			return parts, true
		}
		s.i++
	}
}

// quoted reads a one-line string opened by q at s.i and returns its raw
// content; basic strings ('"') honour backslash escapes.
func (s *lineScanner) quoted(q byte) (string, bool) {
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '\n':
			return "", false
		case c == '\\' && q == '"':
			s.i++
		case c == q:
			raw := string(s.b[start:s.i])
			s.i++
			return raw, true
		}
		s.i++
	}
	return "", false
}

// skipValue skips a value up to the end of its line, following strings and
// nested arrays and inline tables across lines.
func (s *lineScanner) skipValue() {
	depth := 0
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '\n':
			if depth == 0 {
				return
			}
			s.line++
		case '#':
			s.skipComment()
			continue
		case '"', '\'':
			if s.peek(1) == c && s.peek(2) == c {
				s.skipMultiline(c)
			} else if _, ok := s.quoted(c); !ok {
				return
			}
			continue
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
		s.i++
	}
}

// skipMultiline skips a multi-line string (opened by three q) at s.i, counting lines.
func (s *lineScanner) skipMultiline(q byte) {
	s.i += 3
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '\n':
			s.line++
		case c == '\\' && q == '"':
			s.i++
			if s.peek(0) == '\n' {
				s.line++
			}
		case c == q && s.peek(1) == q && s.peek(2) == q:
			s.i += 3
			for extra := 0; extra < 2 && s.peek(0) == q; extra++ {
				s.i++
			}
			return
		}
		s.i++
	}
}
