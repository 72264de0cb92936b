package config

import (
	"errors"
	"os"
	"reflect"
	"testing"
)

// FuzzParse feeds Parse arbitrary files, seeded with config.toml and every
// rejected file in badConfigs. Parse must not panic; an error must be a
// config error; and an accepted config, written back with MarshalTOML, must
// pass validation again and come back unchanged.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(rootConfig); err == nil {
		f.Add(data)
	} else {
		f.Fatal(err)
	}
	for _, tc := range badConfigs() {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.toml")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %q is not ErrInvalid", err)
			}
			if len(Problems(err)) == 0 {
				t.Fatalf("Parse error %q holds no *Error", err)
			}
			return
		}
		out, err := c.MarshalTOML()
		if err != nil {
			t.Fatalf("MarshalTOML of an accepted config: %v", err)
		}
		back, err := Parse(out, "fuzz.toml")
		if err != nil {
			t.Fatalf("accepted config fails validation when written back:\n%s\n%v", out, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("config changed when written back and parsed again (keys %v):\n%s", Diff(back, c), out)
		}
	})
}
