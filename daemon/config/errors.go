package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is matched (with errors.Is) by every error Parse and Load return
// because of what the file says: a syntax error, an unknown key, a value of the
// wrong type or out of range. An error reading the file is not ErrInvalid; it
// wraps the *fs.PathError from os.ReadFile instead.
var ErrInvalid = errors.New("invalid configuration")

// Error is one problem in a configuration file. Parse and Load return every
// problem they find, joined with errors.Join, one per line; use Problems to get
// them back one by one.
type Error struct {
	File  string // the file name given to Parse or Load
	Line  int    // 1-based line of the key, 0 when not known
	Col   int    // 1-based column, only for syntax errors
	Key   string // dotted key such as "transport.parity"; "" for syntax errors and unknown keys (Msg names those)
	Value string // the value as written, in TOML notation; "" when the key is missing or unknown
	Msg   string // what is wrong and what would be valid
}

// Error formats e as "FILE:LINE: [table] key = value: what is wrong".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File == "" {
		b.WriteString("config")
	} else {
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(keyRef(e.Key))
		if e.Value != "" {
			b.WriteString(" = ")
			b.WriteString(e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Problems returns the individual problems in err, an error returned by Parse
// or Load, in the order they were found. It returns nil when err holds none.
func Problems(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		var e *Error
		switch x := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, inner := range x.Unwrap() {
				walk(inner)
			}
		default:
			if errors.As(err, &e) {
				out = append(out, e)
			}
		}
	}
	walk(err)
	return out
}

// keyRef renders a dotted key the way a reader finds it in the file:
// "listen" for a top-level key, "[capture] fps" for a key in a table.
func keyRef(key string) string {
	table, name, ok := strings.Cut(key, ".")
	if !ok {
		return quoteKey(key)
	}
	return "[" + quoteKey(table) + "] " + quoteKey(name)
}

// quoteKey quotes a key piece that is not a bare TOML key.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !isBareKeyRune(r) {
			return strconv.Quote(k)
		}
	}
	return k
}

func isBareKeyRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

// maxShown bounds how much of a long string value a message repeats.
const maxShown = 80

// formatValue renders a decoded TOML value in TOML notation for messages.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > maxShown {
			return strconv.Quote(x[:maxShown]) + "..."
		}
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			return "nan"
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		return "{...}"
	case []map[string]any, []any:
		return "[...]"
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
