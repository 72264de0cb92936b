package impair

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		p       Params
		wantErr string
	}{
		{Params{}, ""},
		{everything(), ""},
		{Params{Loss: 1}, ""},
		{Params{Loss: 0.5, Burst: 1}, ""},
		{Params{Loss: 1.5}, "loss 1.5: must be between 0 and 1"},
		{Params{Loss: -0.1}, "loss -0.1: must be between 0 and 1"},
		{Params{Dup: 2}, "dup 2: must be between 0 and 1"},
		{Params{Loss: 0.1, Burst: 0.5}, "burst 0.5: must be 0"},
		{Params{Loss: 0.6, Burst: 1.2}, "mean burst must be at least loss/(1-loss) = 1.5"},
		{Params{Loss: 1, Burst: 4}, "bursts need loss below 1"},
		{Params{Delay: -time.Millisecond}, "delay -1ms"},
		{Params{Jitter: time.Minute}, "jitter 1m0s"},
		{Params{Rate: 1000, Queue: Queue{Bytes: 64_000}}, "drains in"},
		{Params{Queue: Queue{Bytes: 1, Time: 1}}, "not both"},
	} {
		err := tc.p.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v.Validate() = %v, want nil", tc.p, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v.Validate() = %v, want an error containing %q", tc.p, err, tc.wantErr)
		}
	}
}

func TestParamsString(t *testing.T) {
	for _, tc := range []struct {
		p    Params
		want string
	}{
		{Params{}, "clean"},
		{everything(), "loss 0.05 burst 3 delay 20ms jitter 5ms reorder dup 0.02 rate 10mbit queue 30KB"},
		{Params{Rate: 8_000_000}, "rate 8mbit queue 64KB"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
