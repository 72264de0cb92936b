package control

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	good := map[string]string{
		`{"command":"status"}`:           "status",
		` {"command" : "check-config"} `: "check-config",
		`{"command":"a_1"}` + "\r":       "a_1",
	}
	for in, want := range good {
		req, err := DecodeRequest([]byte(in))
		if err != nil || req.Command != want {
			t.Errorf("DecodeRequest(%q) = %+v, %v; want command %q", in, req, err, want)
		}
	}
	bad := map[string]string{
		``:                                  "EOF",
		`garbage`:                           "invalid character",
		`null`:                              "missing or empty",
		`[]`:                                "cannot unmarshal array",
		`{}`:                                "missing or empty",
		`{"command":1}`:                     "cannot unmarshal number",
		`{"command":"status","extra":true}`: "unknown field",
		`{"command":"status"}{}`:            "more than one JSON value",
		`{"command":"Status"}`:              "characters other than",
		`{"command":"st atus"}`:             "characters other than",
		`{"command":"` + strings.Repeat("a", 65) + `"}`:         "longer than 64 bytes",
		`{"command":"` + strings.Repeat("a", MaxRequest) + `"}`: "longer than 4096 bytes",
	}
	for in, want := range bad {
		_, err := DecodeRequest([]byte(in))
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeRequest(%.50q) error = %v, want ErrBadRequest mentioning %q", in, err, want)
		}
	}
}

// FuzzRequest feeds the request decoder arbitrary lines. It must not panic;
// what it accepts must encode and decode back to the same request.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{`{"command":"status"}`, `{"command":""}`, `{"command":"status","x":[1,{}]}`,
		`{"command":"status"} {}`, `null`, "\x00\xff", `{"command":"\u0073tatus"}`, `{"COMMAND":"status"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeRequest(line)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("DecodeRequest(%q) error %v is not ErrBadRequest", line, err)
			}
			return
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeRequest(b)
		if err != nil || back != req {
			t.Fatalf("DecodeRequest(%q) = %+v, but its encoding %s decodes to %+v, %v", line, req, b, back, err)
		}
	})
}
