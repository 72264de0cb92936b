package impair

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"8mbit", 8_000_000}, {"8Mbit", 8_000_000}, {"1.5gbit", 1_500_000_000},
		{"500kbit", 500_000}, {"64000bit", 64_000}, {"0", 0}, {" 2mbit ", 2_000_000},
	} {
		got, err := ParseRate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRate(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
		if tc.want > 0 {
			if back, err := ParseRate(FormatRate(got)); err != nil || back != got {
				t.Errorf("ParseRate(FormatRate(%d) = %q) = %d, %v", got, FormatRate(got), back, err)
			}
		}
	}
	for _, tc := range []struct{ in, wantErr string }{
		{"8", "no unit"}, {"8m", "no unit"}, {"8mbps", "no unit"}, {"mbit", "not a number"},
		{"-1mbit", "between"}, {"xkbit", "not a number"}, {"0.0001bit", "between"}, {"", "no unit"},
	} {
		if got, err := ParseRate(tc.in); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseRate(%q) = %d, %v, want an error containing %q", tc.in, got, err, tc.wantErr)
		}
	}
}

func TestParseQueue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Queue
	}{
		{"64KB", Queue{Bytes: 64_000}}, {"64kb", Queue{Bytes: 64_000}}, {"64KiB", Queue{Bytes: 65536}},
		{"1MB", Queue{Bytes: 1_000_000}}, {"2MiB", Queue{Bytes: 2 << 20}}, {"1500B", Queue{Bytes: 1500}},
		{"1500", Queue{Bytes: 1500}}, {"50ms", Queue{Time: 50 * time.Millisecond}}, {"1.5KB", Queue{Bytes: 1500}},
	} {
		got, err := ParseQueue(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseQueue(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
		if back, err := ParseQueue(got.String()); err != nil || back != got {
			t.Errorf("ParseQueue(%q.String() = %q) = %+v, %v", tc.in, got.String(), back, err)
		}
	}
	for _, tc := range []struct{ in, wantErr string }{
		{"64XB", "neither"}, {"-5", "negative"}, {"-5ms", "negative"}, {"2000MB", "1GiB"}, {"", "neither"},
	} {
		if got, err := ParseQueue(tc.in); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseQueue(%q) = %+v, %v, want an error containing %q", tc.in, got, err, tc.wantErr)
		}
	}
}
