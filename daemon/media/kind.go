package media

import (
	"fmt"
	"strconv"
)

// SourceKind says where frames come from: the part of [capture] source
// before the colon. The zero SourceKind is invalid, so that a forgotten
// setting is an error rather than a silent default. In JSON it is its name.
type SourceKind int

// The kinds of source. A new kind is a constant here, before
// numSourceKinds, and its name in String, in the same place.
const (
	SourceCamera  SourceKind = iota + 1 // "camera:N" or "camera:/dev/videoN": a V4L2 camera
	SourceFile                          // "file:PATH": a video file
	SourcePattern                       // "pattern": the synthetic test pattern
	SourceNone                          // "none": receive only
	SourceJPEGs                         // "jpegs:DIR": JPEG files replayed as they are
	numSourceKinds
)

// String returns the name used in configuration files, logs and status.
func (k SourceKind) String() string {
	return kindName(k, "SourceKind", "camera", "file", "pattern", "none", "jpegs")
}

// Encodes reports whether a source of this kind captures and encodes its
// frames, media work heavy enough for the daemon to run it on a thread of
// its own below the transport's priority, rather than handing out frames
// that are ready (a replay costs a copy).
func (k SourceKind) Encodes() bool { return k != SourceJPEGs && k != SourceNone }

// ParseSourceKind returns the kind String names; ok is false for any other
// name.
func ParseSourceKind(name string) (k SourceKind, ok bool) { return parseKind(name, numSourceKinds) }

// MarshalText returns the kind's name.
func (k SourceKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a name String returns.
func (k *SourceKind) UnmarshalText(b []byte) error { return unmarshalKind(k, b, numSourceKinds) }

// SinkKind says where received frames go: the part of [display] sink
// before the colon. The zero SinkKind is invalid. In JSON it is its name.
type SinkKind int

// The kinds of sink. A new kind is a constant here, before numSinkKinds,
// and its name in String, in the same place.
const (
	SinkWindow  SinkKind = iota + 1 // "window": a GoCV window
	SinkRecord                      // "record:PATH": a video file or a JPEG sequence
	SinkNull                        // "null": decode and drop
	SinkNone                        // "none": send only; count and drop without decoding
	SinkDiscard                     // "discard": count frames and bytes, drop without decoding
	numSinkKinds
)

// String returns the name used in configuration files, logs and status.
func (k SinkKind) String() string {
	return kindName(k, "SinkKind", "window", "record", "null", "none", "discard")
}

// ParseSinkKind returns the kind String names; ok is false for any other
// name.
func ParseSinkKind(name string) (k SinkKind, ok bool) { return parseKind(name, numSinkKinds) }

// MarshalText returns the kind's name.
func (k SinkKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a name String returns.
func (k *SinkKind) UnmarshalText(b []byte) error { return unmarshalKind(k, b, numSinkKinds) }

// kind is what SourceKind and SinkKind have in common: values 1, 2, ...
// up to an end, each named by String.
type kind interface {
	~int
	String() string
}

// kindName returns names[k-1], or the type's name and k's number for a k
// out of range.
func kindName[K ~int](k K, typ string, names ...string) string {
	if k < 1 || int(k) > len(names) {
		return typ + "(" + strconv.Itoa(int(k)) + ")"
	}
	return names[k-1]
}

// parseKind returns the k in [1, end) whose String is name.
func parseKind[K kind](name string, end K) (K, bool) {
	for k := K(1); k < end; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

// unmarshalKind sets *k to the kind b names.
func unmarshalKind[K kind](k *K, b []byte, end K) error {
	v, ok := parseKind(string(b), end)
	if !ok {
		return fmt.Errorf("media: unknown %T %q", v, b)
	}
	*k = v
	return nil
}
