package media

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSourceKinds(t *testing.T) {
	testKinds(t, numSourceKinds, ParseSourceKind, []string{"camera", "file", "pattern", "none", "jpegs"})
}

func TestSinkKinds(t *testing.T) {
	testKinds(t, numSinkKinds, ParseSinkKind, []string{"window", "record", "null", "none", "discard"})
}

// testKinds checks that the kinds 1..end-1 are named names, in order,
// that parse and JSON give each back, and that nothing else parses.
func testKinds[K kind](t *testing.T, end K, parse func(string) (K, bool), names []string) {
	t.Helper()
	if int(end)-1 != len(names) {
		t.Fatalf("%d %T kinds, want %d: %q", int(end)-1, end, len(names), names)
	}
	for i, name := range names {
		k := K(i + 1)
		if got := k.String(); got != name {
			t.Errorf("%T(%d).String() = %q, want %q", k, i+1, got, name)
		}
		if got, ok := parse(name); got != k || !ok {
			t.Errorf("parse %q = %v, %v; want %v, true", name, got, ok, k)
		}
		b, err := json.Marshal(k)
		back := new(K)
		if err != nil || string(b) != `"`+name+`"` || json.Unmarshal(b, back) != nil || *back != k {
			t.Errorf("JSON of %v: %s, %v, decoded back to %v", k, b, err, *back)
		}
	}
	for _, k := range []K{0, end, -1} {
		if got, want := k.String(), strings.TrimPrefix(fmt.Sprintf("%T(%d)", k, int(k)), "media."); got != want {
			t.Errorf("%T(%d).String() = %q, want %q", k, int(k), got, want)
		}
	}
	for _, bad := range []string{"", "Camera", "camera:0", "record:x", "fake", K(0).String(), names[0] + " "} {
		if k, ok := parse(bad); ok {
			t.Errorf("parse %q = %v, true; want false", bad, k)
		}
		if err := json.Unmarshal([]byte(`"`+bad+`"`), new(K)); err == nil {
			t.Errorf("JSON %q decoded into a %T without an error", bad, K(0))
		}
	}
}
